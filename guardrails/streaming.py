"""Incremental output moderation for streamed generation.

Feed generated text with ``push(delta)``; each call returns the text that is now safe to
emit (already redacted). A small tail is held back so that an entity or a phrase being
written is never emitted half-way. When a check blocks, ``blocked`` turns true and nothing
more is emitted; the caller stops generation and ends the stream.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from guardrails.spans import apply_spans, merge_spans
from guardrails.types import Action, Context, Span, Stage
from guardrails.verdict import Verdict

if TYPE_CHECKING:
    from guardrails.engine import Engine

# A sentence ends in the delta (anywhere: the wrapper pushes a few tokens at a time): model filters run then.
_SENTENCE_END = re.compile(r"[.!?\n](?:\s|$)")
# A release may end after whitespace or next to a character of a script written without spaces between words
# (Chinese, Japanese, Thai, Lao, Khmer, Myanmar; their punctuation, full-width punctuation, half-width kana).
_UNSPACED = ("\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u2fff\u3000-\u303f\u3040-\u31ff\u3400-\u4dbf"
             "\u4e00-\u9fff\uf900-\ufaff\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff9f"
             "\U00020000-\U0003ffff")
_BREAK = re.compile(f"[\\s{_UNSPACED}]")
_ZWJ = "\u200d"
# How far back a cut may move to keep a grapheme cluster whole; longer clusters (zalgo text) are split.
_MAX_CLUSTER = 32
# Released text kept beyond what checks still read, before it is moved out of the working buffer.
_COMPACT_CHARS = 4096


def _extends(ch: str) -> bool:
    """Whether ``ch`` continues the grapheme cluster before it (marks, joiners, selectors, modifiers, jamo)."""
    cp = ord(ch)
    return (
        ch == _ZWJ
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin tones
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences
        or 0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF  # Hangul vowel and final jamo
        or 0xDC00 <= cp <= 0xDFFF  # the low half of a surrogate pair
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _splits_cluster(text: str, i: int) -> bool:
    """Whether cutting ``text`` before index ``i`` would split a grapheme cluster (or a CR LF)."""
    if i <= 0 or i >= len(text):
        return False
    before, ch = text[i - 1], text[i]
    if _extends(ch) or before == _ZWJ or (before == "\r" and ch == "\n"):
        return True
    if _regional(before) and _regional(ch):  # flags are pairs: split only after an even count
        run = 0
        while i - run - 1 >= 0 and _regional(text[i - run - 1]):
            run += 1
        return run % 2 == 1
    return 0x1100 <= ord(before) <= 0x115F and (0x1100 <= ord(ch) <= 0x115F or 0xAC00 <= ord(ch) <= 0xD7A3)


class OutputStream:
    """Checks a growing answer every ``check_every`` characters and at sentence ends.

    Model-backed filters (cost > 1) run only at sentence ends, every ``model_every``
    characters and at the end; text is released only once every filter has seen it.
    Intermediate checks read only the unreleased text plus ``context_chars`` before it, and
    the unreleased text stays bounded: text is released where a word ends (after whitespace,
    or next to a character of a script written without spaces: Chinese, Japanese, Thai, ...),
    and a run with no word end in ``max_word_chars`` (base64, minified code) at a character
    boundary; never inside a grapheme cluster, a redaction span or a vault placeholder. A
    redaction span longer than ``max_held_chars`` is released redacted, in pieces. So a long
    answer costs linear, not quadratic, time; the final check reads the whole answer.

    Leak bound. Text is released only up to ``hold_chars`` before the length the answer had at the
    last check that ran every filter and passed. Take a violation that starts at character ``k`` and
    that its filter flags once the answer reaches ``k + D`` characters (``D``: a pattern's match
    length, or where a model's score crosses its threshold, typically the end of the sentence).
    Every check that passed ran at a length below ``k + D``, so at most ``max(0, D - hold_chars - 1)``
    characters from ``k`` on are ever released (``leak_bound``): none when ``D <= hold_chars + 1``.
    ``check_every`` and ``model_every`` do not change this; they set how soon after ``k + D`` the
    block comes (and the time to the first release). It holds while the violation fits the window an
    intermediate check reads, ``D <= hold_chars + context_chars + 1``; a longer one is caught by the
    final check only. For a model, ``D`` is where it flags the window the stream hands it (released
    text from ``context_chars`` back, then the held text): a model may score a sentence lower inside a
    longer window. Filters that fail open (``on_error: allow``) or run in monitor mode never cut.
    """

    def __init__(
        self, guard: "Engine", ctx: Context | None = None, *, hold_chars: int | None = None, check_every: int | None = None,
        model_every: int | None = None, context_chars: int | None = None, max_word_chars: int = 256, max_held_chars: int = 2048,
    ) -> None:
        self.guard = guard
        self.ctx = ctx if ctx is not None else Context()
        # Unset options come from the policy's ``stream:`` (guardrails.policy.StreamSettings: 48, 32, 256, 256).
        settings = guard.policy.stream
        self.hold_chars = max(0, settings.hold_chars if hold_chars is None else hold_chars)
        self.check_every = max(1, settings.check_every if check_every is None else check_every)
        self.model_every = max(1, settings.model_every if model_every is None else model_every)
        self.context_chars = max(0, settings.context_chars if context_chars is None else context_chars)
        self.max_word_chars = max(max_word_chars, 1)
        self.max_held_chars = max(max_held_chars, self.hold_chars + self.check_every)
        self._has_costly = any(b.filter.cost > 1 for b in guard.filters("output"))
        self._full_len = 0  # length of the answer at the last check that ran every filter
        self._done: list[str] = []  # the answer before _base: released and no longer read by checks
        self._base = 0
        self._tail = ""  # the answer from _base on
        self.emitted_upto = 0  # offset in the answer up to which output was released
        self.verdict: Verdict | None = None
        self.checks = 0
        self.finished = False
        self._checked_len = 0

    @property
    def text(self) -> str:
        """The whole answer so far."""
        return "".join(self._done) + self._tail

    @property
    def length(self) -> int:
        return self._base + len(self._tail)

    @property
    def window_chars(self) -> int:
        """Characters the next intermediate check reads (unreleased text plus its context)."""
        return self.length - max(0, self.emitted_upto - self.context_chars)

    @property
    def blocked(self) -> bool:
        return self.verdict is not None and not self.verdict.allowed

    def leak_bound(self, detect_chars: int) -> int | None:
        """The most characters of a violation that its filter flags ``detect_chars`` characters after its start
        that can be released; None when it does not fit an intermediate check's window (final check only)."""
        if detect_chars > self.hold_chars + self.context_chars + 1:
            return None
        return max(0, detect_chars - self.hold_chars - 1)

    def push(self, delta: str) -> str:
        """Add generated text; return what may be emitted now ("" while held or once blocked)."""
        if self.blocked or self.finished or not delta:
            return ""
        self._tail += delta
        sentence_end = bool(_SENTENCE_END.search(delta))
        due = sentence_end or self.length - self._checked_len >= self.check_every
        return self._check(final=False, sentence_end=sentence_end) if due else ""

    def finish(self) -> str:
        """Run the final check on the whole answer; return the rest to emit ("" if blocked)."""
        if self.blocked or self.finished:
            return ""
        out = self._check(final=True)
        self.finished = True
        return out

    def _verdict(self, text: str, max_cost: int | None) -> Verdict:
        """The output stage's verdict on ``text`` (a window of the answer, or all of it); subclasses that stream
        another part of an answer (a tool call's arguments) check it in its place."""
        return self.guard.check(text, Stage.OUTPUT, ctx=self.ctx, max_cost=max_cost)

    def _redactions(self, verdict: Verdict) -> list[Span]:
        """The spans of ``text`` (as given to _verdict) that the verdict redacts."""
        # A monitored redaction changes nothing.
        return [s for v in verdict.violations if v.action is Action.REDACT and not v.monitor for s in v.spans]

    def _slice(self, start: int, end: int) -> str:
        return self._tail[start - self._base:end - self._base]

    def _check(self, final: bool, sentence_end: bool = False) -> str:
        self._checked_len = self.length
        end = self.length if final else self._complete_words_end()
        if end <= self.emitted_upto:
            return ""  # only a word still being written since the last release: nothing to check or release yet
        self.checks += 1
        full = final or sentence_end or not self._has_costly or end - self._full_len >= self.model_every
        offset = 0 if final else max(0, self.emitted_upto - self.context_chars)
        text = self.text if final else self._slice(offset, end)
        verdict = self._verdict(text, max_cost=None if full else 1)
        self.verdict = verdict
        if not verdict.allowed:
            return ""
        if full:
            self._full_len = end
        spans = merge_spans(Span(s.start + offset, s.end + offset, s.label, s.replacement) for s in self._redactions(verdict))
        cut = self.length if final else self._safe_cut(spans)
        if cut <= self.emitted_upto:
            return ""
        start = self.emitted_upto
        # Spans are clipped to the released range: one that began in text released earlier, or one longer than
        # max_held_chars, is still redacted (its replacement then appears once per released piece).
        local = [Span(max(s.start, start) - start, min(s.end, cut) - start, s.label, s.replacement)
                 for s in spans if s.start < cut and s.end > start]
        segment = apply_spans(self._slice(start, cut), local)
        self.emitted_upto = cut
        self._compact()
        return self.ctx.restore(segment) if self.ctx.vault else segment

    def _compact(self) -> None:
        """Move released text no check reads any more out of the working buffer (keeps pushes linear)."""
        longest = max((len(p) for p in self.ctx.vault), default=0)
        keep = max(0, self.emitted_upto - max(self.context_chars, longest))
        if keep - self._base > _COMPACT_CHARS:
            self._done.append(self._tail[:keep - self._base])
            self._tail = self._tail[keep - self._base:]
            self._base = keep

    def _complete_words_end(self) -> int:
        """Where an intermediate check's text ends: after the last complete word. A word still being written may
        become another word ("hell" of "hello" must not match a deny-listed "hell"), so it is neither checked nor
        released until it ends. A run with no word end in its last ``max_word_chars`` is read to the end (as
        ``_word_cut`` releases inside it)."""
        lo = max(self.emitted_upto, self.length - self.max_word_chars)
        m = _BREAK.search(self._slice(lo, self.length)[::-1])
        if m is not None:
            return self.length - m.start()
        return self.length if lo > self.emitted_upto else self.emitted_upto

    def _word_cut(self, limit: int) -> int:
        """The last place at or before ``limit`` where a word ends: after whitespace or next to an unspaced-script
        character. A run with no such place in its last ``max_word_chars`` (base64, minified code, a long URL) is
        cut at ``limit`` itself. Either way the cut is moved back so that no grapheme cluster is split."""
        lo = max(self.emitted_upto, limit - self.max_word_chars)
        m = _BREAK.search(self._slice(lo, limit)[::-1])
        if m is not None:
            return self._cluster_start(limit - m.start())
        if lo > self.emitted_upto:  # no word end in the last max_word_chars: cut inside the run
            return self._cluster_start(limit)
        return self.emitted_upto  # a word still being written: hold it

    def _cluster_start(self, cut: int) -> int:
        """``cut``, or the start of the grapheme cluster it would split (clusters over _MAX_CLUSTER are split)."""
        pos = cut
        while pos > max(self.emitted_upto, cut - _MAX_CLUSTER) and _splits_cluster(self._tail, pos - self._base):
            pos -= 1
        return pos if not _splits_cluster(self._tail, pos - self._base) else cut

    def _safe_cut(self, spans: list[Span]) -> int:
        limit = self._full_len - self.hold_chars
        if limit <= self.emitted_upto:
            return self.emitted_upto
        cut = self._word_cut(limit)
        # Do not split a redaction span (unless it is too long to hold) or a vault placeholder.
        for s in spans:
            if s.start < cut < s.end and limit - s.start <= self.max_held_chars:
                cut = s.start
        end = self.length
        for placeholder in self.ctx.vault:
            # One still being written at the end of the answer ("<PERS" of "<PERSON_1>"), which a hold_chars shorter
            # than the placeholder or a cut inside a long run could reach: held whole, so that it is restored.
            for pos in range(max(self.emitted_upto, end - len(placeholder) + 1), cut):
                if placeholder.startswith(self._slice(pos, end)):
                    cut = pos
                    break
        for placeholder in self.ctx.vault:
            lo = max(self._base, self.emitted_upto - len(placeholder))
            pos = self._tail.find(placeholder, lo - self._base)
            while pos != -1 and pos + self._base < cut:
                if pos + self._base < cut < pos + self._base + len(placeholder):
                    cut = pos + self._base
                pos = self._tail.find(placeholder, pos + 1)
        return max(cut, self.emitted_upto)
