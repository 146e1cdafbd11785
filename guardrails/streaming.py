"""Incremental output moderation for streamed generation.

Feed generated text with ``push(delta)``; each call returns the text that is now safe to
emit (already redacted). A small tail is held back so that an entity or a phrase being
written is never emitted half-way. When a check blocks, ``blocked`` turns true and nothing
more is emitted; the caller stops generation and ends the stream.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from guardrails.spans import apply_spans, merge_spans
from guardrails.types import Action, Context, Span, Stage
from guardrails.verdict import Verdict

if TYPE_CHECKING:
    from guardrails.engine import Guard

_SENTENCE_END = re.compile(r"[.!?\n]\s*$")


class OutputStream:
    """Checks a growing answer every ``check_every`` characters and at sentence ends.

    Model-backed filters (cost > 1) run only at sentence ends, every ``model_every``
    characters and at the end; text is released only once every filter has seen it.
    Intermediate checks read only the unreleased text plus ``context_chars`` before it, so
    a long answer costs linear, not quadratic, time; the final check reads the whole answer.
    """

    def __init__(
        self, guard: "Guard", ctx: Context | None = None, *, hold_chars: int = 48, check_every: int = 32, model_every: int = 256,
        context_chars: int = 256,
    ) -> None:
        self.guard = guard
        self.ctx = ctx if ctx is not None else Context()
        self.hold_chars = hold_chars
        self.check_every = check_every
        self.model_every = model_every
        self.context_chars = context_chars
        self._has_costly = any(b.filter.cost > 1 for b in guard.filters("output"))
        self._full_len = 0  # length of self.text at the last check that ran every filter
        self.text = ""
        self.emitted_upto = 0  # offset in self.text up to which output was released
        self.verdict: Verdict | None = None
        self.checks = 0
        self.finished = False
        self._checked_len = 0

    @property
    def blocked(self) -> bool:
        return self.verdict is not None and not self.verdict.allowed

    def push(self, delta: str) -> str:
        """Add generated text; return what may be emitted now ("" while held or once blocked)."""
        if self.blocked or self.finished or not delta:
            return ""
        self.text += delta
        sentence_end = bool(_SENTENCE_END.search(delta))
        due = sentence_end or len(self.text) - self._checked_len >= self.check_every
        return self._check(final=False, sentence_end=sentence_end) if due else ""

    def finish(self) -> str:
        """Run the final check on the whole answer; return the rest to emit ("" if blocked)."""
        if self.blocked or self.finished:
            return ""
        out = self._check(final=True)
        self.finished = True
        return out

    def _check(self, final: bool, sentence_end: bool = False) -> str:
        self.checks += 1
        self._checked_len = len(self.text)
        full = final or sentence_end or not self._has_costly or len(self.text) - self._full_len >= self.model_every
        offset = 0 if final else max(0, self.emitted_upto - self.context_chars)
        verdict = self.guard.check(self.text[offset:], Stage.OUTPUT, ctx=self.ctx, max_cost=None if full else 1)
        self.verdict = verdict
        if not verdict.allowed:
            return ""
        if full:
            self._full_len = len(self.text)
        spans = merge_spans(
            Span(s.start + offset, s.end + offset, s.label, s.replacement)
            for v in verdict.violations
            if v.action is Action.REDACT
            for s in v.spans
        )
        cut = len(self.text) if final else self._safe_cut(spans)
        if cut <= self.emitted_upto:
            return ""
        start = self.emitted_upto
        local = [Span(s.start - start, s.end - start, s.label, s.replacement) for s in spans if s.start >= start and s.end <= cut]
        segment = apply_spans(self.text[start:cut], local)
        self.emitted_upto = cut
        return self.ctx.restore(segment) if self.ctx.vault else segment

    def _safe_cut(self, spans: list[Span]) -> int:
        cut = self._full_len - self.hold_chars
        if cut <= self.emitted_upto:
            return self.emitted_upto
        # Do not split a word, a redaction span or a vault placeholder.
        space = max(self.text.rfind(" ", self.emitted_upto, cut), self.text.rfind("\n", self.emitted_upto, cut))
        cut = space + 1 if space >= self.emitted_upto else self.emitted_upto
        for s in spans:
            if s.start < cut < s.end:
                cut = s.start
        for placeholder in self.ctx.vault:
            pos = self.text.find(placeholder, max(0, self.emitted_upto - len(placeholder)))
            while pos != -1 and pos < cut:
                if pos < cut < pos + len(placeholder):
                    cut = pos
                pos = self.text.find(placeholder, pos + 1)
        return max(cut, self.emitted_upto)
