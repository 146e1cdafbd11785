"""A ``pii`` filter for a policy entry, on the fast path the package ships or on Presidio's own path.

``reference=True`` swaps in an analyzer with Presidio's stock phone recognizer, pattern regexes and context enhancer
on whole-text tokens, and looks for every entity in every text: the baseline the fast path must equal (tests) and beat
(benchmarks/bench_pii.py --compare).
"""

from __future__ import annotations

from typing import Any

from guardrails import Guard
from guardrails.filters.pii import PiiFilter
from guardrails.pii_analyzer import build_analyzer


def pii_filter(entry: dict[str, Any], reference: bool) -> PiiFilter:
    flt = Guard.from_policy({"name": "fast-path", "input": [{"filter": "pii", "action": "redact", **entry}]}).filters("input")[0].filter
    assert isinstance(flt, PiiFilter)
    flt.ensure_loaded()
    if reference:
        cfg = flt.config
        flt._analyzer = build_analyzer(cfg.languages, None, cfg.context_words, frozenset(flt.entities), reference=True)
        flt._gated = {lang: {} for lang in cfg.languages}  # every entity looked for
    return flt
