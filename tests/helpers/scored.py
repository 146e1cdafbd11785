"""Filters with exact, text-given scores for calibration tests: ``hate=0.42 spam=0.9`` scores category ``hate``
0.42 and ``spam`` 0.9 (a category not written scores 0). Findings are reported at any score above 0; the
engine applies the policy's thresholds."""

from __future__ import annotations

import re

from pydantic import Field

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.thresholds import Threshold
from guardrails.types import Context, FilterResult, Finding

_TOKEN = re.compile(r"\b([a-z_]+)=([01](?:\.[0-9]+)?)\b")


def _scores(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in _TOKEN.findall(text):
        out[name] = max(out.get(name, 0.0), float(value))
    return out


class ScoredConfig(FilterConfig):
    thresholds: dict[str, Threshold] = Field({}, description="Per-category thresholds.")


class ScoredFilter(BaseFilter):
    """Per-category thresholds (``thresholds: {hate: 0.5}``, else ``threshold``)."""

    name = "scored"
    Config = ScoredConfig
    cost = 0
    actions = frozenset({"block", "flag"})

    def check(self, text: str, ctx: Context) -> FilterResult:
        scores = _scores(text)
        return FilterResult(tuple(Finding(c, s) for c, s in scores.items() if s > 0), scores)


class OneThresholdFilter(ScoredFilter):
    """One ``threshold`` for every category (no ``thresholds`` key)."""

    name = "one_threshold"
    Config = FilterConfig
