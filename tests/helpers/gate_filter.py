"""A filter that holds its check of long texts until the test opens a gate, and counts who is inside meanwhile."""

from __future__ import annotations

import threading

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult


class GateConfig(FilterConfig):
    min_chars: int = 1000


class GateFilter(BaseFilter):
    """String-cost filter (cost 0) whose check of a text of ``min_chars`` or more waits for ``GateFilter.gate``."""

    name = "gate"
    Config = GateConfig
    cost = 0
    gate = threading.Event()
    inside = 0
    most_inside = 0
    _lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.gate = threading.Event()
        cls.inside = cls.most_inside = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        if len(text) < self.config.min_chars:
            return FilterResult.clean()
        cls = type(self)
        with cls._lock:
            cls.inside += 1
            cls.most_inside = max(cls.most_inside, cls.inside)
        try:
            cls.gate.wait(timeout=60)
        finally:
            with cls._lock:
                cls.inside -= 1
        return FilterResult.clean()
