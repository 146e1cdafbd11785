"""The builtin detector scheduled as a model filter (cost 2), for streaming tests and benchmarks.

A streamed answer runs cost-2 filters only at sentence ends, every ``model_every`` characters and at the end
(``guardrails.streaming``); this class lets a test or a benchmark measure that schedule with a detector that
really catches harmful sentences, offline: ``filter: tests.helpers.model_tier:ModelTierBuiltin``.
"""

from __future__ import annotations

from guardrails.filters.builtin import BuiltinFilter


class ModelTierBuiltin(BuiltinFilter):
    """``builtin``, but scheduled (and run off the event loop) like a neural model."""

    name = "builtin_model_tier"
    cost = 2

    def is_light(self) -> bool:
        return False
