"""``builtin``: the offline detector shipped in the package (no download, numpy only).

    - filter: builtin
      categories: {prompt_injection: 0.5, jailbreak: 0.5, harmful_request: 0.8, toxicity: 0.7}
      action: block

Scores every text for prompt_injection, jailbreak, harmful_request and toxicity; only the
categories listed are enforced (omitted: all four at the thresholds measured at training time).
``FilterResult.scores`` always holds the four scores, plus ``harmful_request/<topic>`` (weapons,
cyber, self_harm, ...) when a harmful request is likely; a finding's span label carries the same
topic. With chat messages, each user / tool message is scored on its own and the user turns are
also scored joined, so an instruction split across turns is still seen. System and assistant
messages are the deployer's and the model's own words and are not scored.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult, Finding, Span, Stage

CATEGORIES = ("prompt_injection", "jailbreak", "harmful_request", "toxicity")
SKIPPED_ROLES = frozenset({"system", "developer", "assistant"})
# A hazard topic is reported when the harmful_request score reaches this fraction of its threshold.
HAZARD_REPORT_FRACTION = 0.5


class BuiltinConfig(FilterConfig):
    categories: dict[str, float] | None = Field(
        None, description="Category -> threshold in [0, 1]; only these are enforced. Default: all, measured thresholds."
    )
    model: str | None = Field(None, description="Folder with meta.json + weights.npz; default: the shipped model.")

    @field_validator("categories", mode="before")
    @classmethod
    def _known_categories(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, dict) or not value:
            raise ValueError(f"expected a mapping of category to threshold, got {value!r}")
        for key, thr in value.items():
            if key not in CATEGORIES:
                raise ValueError(f"unknown category {key!r}; known: {', '.join(CATEGORIES)}")
            if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 <= thr <= 1:
                raise ValueError(f"{key}: expected a number between 0 and 1, got {thr!r}")
        return {k: float(v) for k, v in value.items()}


@lru_cache(maxsize=4)
def _load(directory: str | None) -> Any:
    from guardrails.detector import DEFAULT_DIR, Detector

    return Detector.load(Path(directory) if directory else DEFAULT_DIR)


class BuiltinFilter(BaseFilter):
    """Linear n-gram + cue model over normalised text, its segments and decoded payloads."""

    name = "builtin"
    Config = BuiltinConfig
    cost = 1
    conversation = True
    actions = frozenset({"block", "flag"})

    def __init__(self, config: BuiltinConfig) -> None:
        super().__init__(config)
        self.config: BuiltinConfig = config
        self._detector: Any = None
        self._thresholds: dict[str, float] = {}

    def is_light(self) -> bool:
        return True  # numpy dot products over hashed n-grams, about 3 ms per 1,000 characters

    def load(self) -> None:
        self._detector = _load(self.config.model)
        if self.config.categories is not None:
            self._thresholds = dict(self.config.categories)
        else:
            shipped = self._detector.meta.get("thresholds", {})
            fallback = self.config.threshold
            self._thresholds = {c: fallback if fallback is not None else float(shipped.get(c, 0.5)) for c in CATEGORIES}

    @property
    def thresholds(self) -> dict[str, float]:
        """The enforced categories and their thresholds (after load)."""
        return dict(self._thresholds)

    def _texts(self, text: str, ctx: Context) -> list[str]:
        messages = ctx.messages if ctx.stage is Stage.INPUT else None
        if not messages:
            return [text]
        texts = []
        user_turns = []
        for m in messages:
            content = m.get("content")
            if isinstance(content, list):
                content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            if not isinstance(content, str) or not content.strip():
                continue
            role = m.get("role", "user")
            if role in SKIPPED_ROLES:
                continue
            texts.append(content)
            if role == "user":
                user_turns.append(content)
        if len(user_turns) > 1:
            texts.append("\n".join(user_turns))
        return texts

    def check(self, text: str, ctx: Context) -> FilterResult:
        texts = self._texts(text, ctx)
        single = len(texts) == 1 and texts[0] is text
        scores: dict[str, float] = {c: 0.0 for c in CATEGORIES}
        spans: dict[str, tuple[int, int] | None] = {}
        hazard, hazard_at = None, -1.0
        for t in texts:
            det = self._detector.score(t)
            for c in CATEGORIES:
                s = det.scores[c]
                if c not in spans or s > scores[c]:
                    scores[c] = s
                    spans[c] = det.spans[c] if single else None
            if det.hazard and det.scores["harmful_request"] > hazard_at:
                hazard, hazard_at = det.hazard, det.scores["harmful_request"]
        out: dict[str, float] = {c: round(scores[c], 4) for c in CATEGORIES}
        harmful_thr = self._thresholds.get("harmful_request", 0.5)
        if hazard and scores["harmful_request"] >= HAZARD_REPORT_FRACTION * harmful_thr:
            out[f"harmful_request/{hazard}"] = out["harmful_request"]
        findings = []
        for c, thr in self._thresholds.items():
            if scores[c] >= thr:
                label = f"harmful_request/{hazard}" if c == "harmful_request" and hazard else c
                span = spans.get(c)
                found = (Span(span[0], span[1], label),) if span and span[1] > span[0] else ()
                findings.append(Finding(c, round(scores[c], 4), found))
        return FilterResult(tuple(findings), out)
