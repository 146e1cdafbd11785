"""Run a Guard over a dataset and keep, per example, what an evaluation needs (never the text)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from guardrails.engine import BoundFilter
from guardrails.guard import Guard
from guardrails.eval.dataset import Example
from guardrails.types import Action, Context, Stage
from guardrails.verdict import Verdict

Progress = Callable[[int], None]  # called with the number of examples just finished


@dataclass(frozen=True)
class Record:
    """The outcome of the policy on one example.

    ``scores`` maps filter id to its highest category score (None: the filter failed on this
    example). Filters the engine skipped after an earlier block are run alone to get their score,
    so every filter's curve covers every example; ``latency_ms`` is the policy's own latency.
    """

    example: Example
    action: Action
    latency_ms: float
    scores: dict[str, float | None]
    category_scores: dict[str, dict[str, float]]  # filter id -> {category: score} (engine-run filters)
    violating: frozenset[str]  # ids of filters with a violation (errors included)
    actions: frozenset[Action]  # the action of every violation (the verdict keeps only the strongest)
    spans: tuple[tuple[int, int, str], ...]  # predicted (start, end, entity type) of every violation
    errors: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        """Some violation blocks: an enforced filter's, or the block a monitored filter would have made (eval
        measures what the policy does once enforced, the question a monitor-mode rollout asks)."""
        return any(a.blocks for a in self.actions)

    @property
    def flagged(self) -> bool:
        """A judgement that the text is unsafe: some violation blocks or flags it (a redaction alone is not)."""
        return any(a.blocks or a is Action.FLAG for a in self.actions)

    @property
    def redacted(self) -> bool:
        return Action.REDACT in self.actions

    @property
    def any_violation(self) -> bool:
        """Blocked, flagged or redacted."""
        return bool(self.actions)

    def positive(self, mode: str) -> bool:
        """Whether this record counts as "caught" under ``mode``: flagged, blocked or any."""
        if mode == "blocked":
            return self.blocked
        if mode == "any":
            return self.any_violation
        return self.flagged


@dataclass
class EvalRun:
    """All records of one policy over one dataset, with the filters that ran."""

    policy: str
    policy_hash: str
    filters: dict[str, list[str]]  # stage -> filter ids, in run order
    records: list[Record] = field(default_factory=list)
    wall_s: float = 0.0

    def filter_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for ids in self.filters.values():
            for i in ids:
                seen.setdefault(i)
        return list(seen)


def run(
    guard: Guard,
    examples: Sequence[Example],
    *,
    default_stage: Stage = Stage.INPUT,
    progress: Progress | None = None,
    complete_scores: bool = True,
) -> EvalRun:
    """Check every example with ``guard`` (on its own ``stage`` or ``default_stage``)."""
    out = EvalRun(
        policy=guard.policy.name,
        policy_hash=guard.policy_hash,
        filters={s.value: [b.id for b in guard.filters(s)] for s in Stage},
    )
    start = time.perf_counter()
    for ex in examples:
        stage = ex.stage or default_stage
        verdict = guard.check(ex.content, stage, ctx=_context(ex, stage))
        out.records.append(_record(guard, ex, stage, verdict, complete_scores))
        if progress is not None:
            progress(1)
    out.wall_s = time.perf_counter() - start
    return out


def _context(ex: Example, stage: Stage) -> Context | None:
    """An output example is checked as the answer to its prompt, when it has one."""
    return Context(prompt=ex.prompt) if stage is Stage.OUTPUT and ex.prompt else None


def _record(guard: Guard, ex: Example, stage: Stage, verdict: Verdict, complete: bool) -> Record:
    errored = {v.filter for v in verdict.errors}
    spans: list[tuple[int, int, str]] = []
    for v in verdict.violations:
        spans.extend((s.start, s.end, v.category) for s in v.spans)
    scores: dict[str, float | None] = {}
    category_scores = {fid: dict(cats) for fid, cats in verdict.scores.items()}
    for bound in guard.filters(stage):
        if bound.id in errored:
            scores[bound.id] = None
        elif bound.id in verdict.scores:
            scores[bound.id] = _score_of(verdict, bound.id)
        elif complete:
            scores[bound.id], alone = _score_alone(guard, bound, ex, stage)
            if alone is not None:
                category_scores[bound.id] = alone
    return Record(
        example=ex,
        action=verdict.action,
        latency_ms=verdict.latency_ms,
        scores=scores,
        category_scores=category_scores,
        violating=frozenset(v.filter for v in verdict.violations),
        actions=frozenset(v.action for v in verdict.violations),
        spans=tuple(spans),
        errors=tuple(sorted(errored)),
    )


def _score_of(verdict: Verdict, filter_id: str) -> float:
    """A filter's highest score in a verdict: over the categories it scored and its violations."""
    violations = [v.score for v in verdict.violations if v.filter == filter_id]
    return max([*verdict.scores.get(filter_id, {}).values(), *violations], default=0.0)


def _score_alone(guard: Guard, bound: BoundFilter, ex: Example, stage: Stage) -> tuple[float | None, dict[str, float] | None]:
    """The score (and category scores) of a filter the engine skipped after an earlier block: the
    filter run alone through the engine (``Guard.check_alone``), so a crash or a timeout is the
    engine's filter error here too (score None)."""
    verdict = guard.check_alone(bound.id, ex.content, stage, ctx=_context(ex, stage))
    if any(v.filter == bound.id for v in verdict.errors):
        return None, None
    return _score_of(verdict, bound.id), dict(verdict.scores.get(bound.id, {}))
