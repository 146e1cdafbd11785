"""Small filters for engine tests, loaded through the policy's 'package.module:ClassName' form."""

from __future__ import annotations

import threading


from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult, Finding, Span


class KeywordConfig(FilterConfig):
    word: str
    score: float = 0.9
    category: str = "keyword"
    label: str = "KEYWORD"


class KeywordFilter(BaseFilter):
    """Reports every occurrence of ``word`` with a fixed score."""

    name = "keyword"
    Config = KeywordConfig
    cost = 2
    calls: list[str] = []

    def check(self, text: str, ctx: Context) -> FilterResult:
        KeywordFilter.calls.append(self.config.id or self.name)
        spans, pos = [], text.find(self.config.word)
        while pos != -1:
            spans.append(Span(pos, pos + len(self.config.word), self.config.label))
            pos = text.find(self.config.word, pos + 1)
        scores = {self.config.category: self.config.score if spans else 0.0}
        if not spans or self.config.score < self.threshold:
            return FilterResult.clean(scores)
        return FilterResult((Finding(self.config.category, self.config.score, tuple(spans)),), scores)


class HoldingFilter(BaseFilter):
    """Never ends a check by itself: it waits for ``release`` (which a test sets once it is done), so only
    the engine's timeout can end the check. ``reset()`` before use."""

    name = "holding"
    cost = 2
    release = threading.Event()

    @classmethod
    def reset(cls) -> None:
        cls.release = threading.Event()

    def check(self, text: str, ctx: Context) -> FilterResult:
        type(self).release.wait(timeout=60)
        return FilterResult.clean()


class CrashingFilter(BaseFilter):
    """Always raises, with a message that quotes the input (which must never reach the verdict)."""

    name = "crashing"
    cost = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        raise RuntimeError(f"boom on {text!r}")


class PatternCostFilter(KeywordFilter):
    """A custom filter of the default cost (1) that does not declare itself light."""

    name = "pattern_cost"
    cost = 1
