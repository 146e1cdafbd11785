"""Evaluation: run a policy over labelled JSONL data and report accuracy, PII spans and latency.

    from guardrails.eval import evaluate
    summary = evaluate("default", ["data.jsonl"], report_dir="report/")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from guardrails.eval.dataset import DatasetError, Example, GoldSpan, read_dataset
from guardrails.eval.runner import EvalRun, Record, run
from guardrails.eval.summary import summarize

__all__ = ["DatasetError", "EvalRun", "Example", "GoldSpan", "Record", "evaluate", "read_dataset", "run", "summarize"]


def evaluate(policy: Any, datasets: Sequence[str | Path], *, report_dir: str | Path | None = None, **options: Any) -> dict[str, Any]:
    """Read ``datasets``, run ``policy`` (a name, path, dict, Policy or Guard) and return the metrics."""
    from guardrails.guard import Guard

    guard = policy if isinstance(policy, Guard) else Guard.from_policy(policy)
    result = run(guard, read_dataset(datasets))
    summary = summarize(result, **options)
    if report_dir is not None:
        from guardrails.eval.report import write_report

        write_report(result, summary, report_dir)
    return summary
