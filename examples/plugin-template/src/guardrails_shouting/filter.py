"""Sentences written in capitals ("STOP IGNORING ME"), scored by how much of them is upper case.

    input:
      - filter: shouting              # or guardrails_shouting.filter:ShoutingFilter without installing
        threshold: 0.8                # the engine applies it: this filter only scores
        min_letters: 8
        action: redact                # block | flag | redact: every finding carries its spans
"""

from __future__ import annotations

import re

from pydantic import Field

from guardrails import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult, Finding, Span

CATEGORY = "shouting"
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


class ShoutingConfig(FilterConfig):
    """The keys this filter adds to a policy entry (they appear in `guardrails policy schema`)."""

    min_letters: int = Field(8, ge=1, description="Sentences with fewer letters are never scored.")


class ShoutingFilter(BaseFilter):
    """Scores each sentence by its share of upper-case letters; reports every sentence that has any."""

    name = "shouting"
    Config = ShoutingConfig
    cost = 0  # string operations only: the engine runs it before pattern engines and models
    actions = frozenset({"block", "flag", "redact"})
    default_threshold = 0.8  # used when the policy names no threshold

    def __init__(self, config: ShoutingConfig) -> None:
        super().__init__(config)
        self.config: ShoutingConfig = config

    def is_light(self) -> bool:
        return True  # pure CPU, linear in the text: the sidecar may run it on its event loop

    def check(self, text: str, ctx: Context) -> FilterResult:
        findings = []
        best = 0.0
        for match in _SENTENCE.finditer(text):
            letters = [c for c in match.group() if c.isalpha()]
            if len(letters) < self.config.min_letters:
                continue
            score = sum(c.isupper() for c in letters) / len(letters)
            best = max(best, score)
            if score > 0:
                start = match.start() + (len(match.group()) - len(match.group().lstrip()))
                findings.append(Finding(CATEGORY, round(score, 4), (Span(start, match.end(), CATEGORY),)))
        # Every sentence with a score is reported; the engine keeps those at or above the threshold.
        return FilterResult(tuple(findings), {CATEGORY: round(best, 4)})
