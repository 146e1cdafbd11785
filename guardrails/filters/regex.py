"""``regex``: block, redact or flag text matching deployer-written patterns (linear-time RE2)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.linear_regex import MAX_PATTERNS, compile_linear
from guardrails.normalize import normalize
from guardrails.types import Context, FilterResult, Finding, Span


def _valid_re2(pattern: str) -> str:
    compile_linear(pattern)
    return pattern


class RegexConfig(FilterConfig):
    patterns: list[Annotated[str, AfterValidator(_valid_re2)]] = Field(
        min_length=1, max_length=MAX_PATTERNS,
        description="RE2 regular expressions (linear time: no backreferences or lookaround).",
    )
    case_sensitive: bool = False
    category: str = Field("regex", description="Category and redaction label reported for a match.")
    normalize: bool = Field(False, description="Match against evasion-normalised text (zero-width, homoglyphs, leetspeak).")


class RegexFilter(BaseFilter):
    """Matches RE2 patterns, which run in time linear in the text: a policy cannot hang the process."""

    name = "regex"
    Config = RegexConfig
    cost = 0

    def __init__(self, config: RegexConfig) -> None:
        super().__init__(config)
        self.config: RegexConfig = config
        self._patterns = [compile_linear(p, case_sensitive=config.case_sensitive) for p in config.patterns]

    def cacheable(self, ctx: Context) -> bool:
        return True  # a pure function of the text

    def check(self, text: str, ctx: Context) -> FilterResult:
        norm = normalize(text) if self.config.normalize else None
        target = norm.text if norm else text
        label = self.config.category.upper()
        spans = []
        for pattern in self._patterns:
            for m in pattern.finditer(target):
                if m.end() == m.start():
                    continue
                start, end = norm.source_span(m.start(), m.end()) if norm else (m.start(), m.end())
                spans.append(Span(start, end, label))
        if not spans:
            return FilterResult.clean({self.config.category: 0.0})
        return FilterResult((Finding(self.config.category, 1.0, tuple(spans)),), {self.config.category: 1.0})
