"""The verdict records of guarded generation: one ``GenerationVerdicts`` per call (or per pipeline prompt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guardrails.verdict import Verdict


@dataclass
class GenerationVerdicts:
    """The verdicts of one guarded call: one input verdict per prompt, one output verdict per returned row."""

    inputs: list[Verdict] = field(default_factory=list)
    outputs: list[Verdict | None] = field(default_factory=list)
    new_tokens: list[int] = field(default_factory=list)  # tokens the model generated per returned row
    stopped_early: list[bool] = field(default_factory=list)  # row stopped by a block before its natural end
    checks: list[int] = field(default_factory=list)  # output checks run per returned row

    @property
    def blocked(self) -> bool:
        """True when any prompt or any answer of the call was blocked."""
        return any(not v.allowed for v in self.inputs) or any(v is not None and not v.allowed for v in self.outputs)

    def summary(self) -> dict[str, Any]:
        """A log-safe view (no text)."""
        return {
            "inputs": [v.action.value for v in self.inputs],
            "outputs": [v.action.value if v is not None else None for v in self.outputs],
            "new_tokens": list(self.new_tokens),
            "stopped_early": list(self.stopped_early),
            "checks": list(self.checks),
        }


def refused_prompt(verdict: Verdict, rows: int) -> GenerationVerdicts:
    """The record of a prompt blocked before generation: its verdict, and ``rows`` empty answers."""
    return GenerationVerdicts([verdict], [None] * rows, [0] * rows, [False] * rows, [0] * rows)


def per_prompt(calls: list[GenerationVerdicts]) -> list[GenerationVerdicts]:
    """Split the verdicts of batched generate calls into one GenerationVerdicts per prompt."""
    out = []
    for call in calls:
        rows = len(call.inputs)
        n = len(call.outputs) // rows if rows else 0
        for i, v in enumerate(call.inputs):
            part = slice(i * n, (i + 1) * n)
            out.append(GenerationVerdicts([v], call.outputs[part], call.new_tokens[part], call.stopped_early[part], call.checks[part]))
    return out
