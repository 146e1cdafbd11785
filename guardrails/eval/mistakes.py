"""The examples an evaluation got wrong, written back as labelled rows for review and ``guardrails adapt``.

Each line keeps the example as it was read (``text`` or ``messages``, ``label``, ``category``, ``stage``,
``prompt``, ``source``, ``id``) and adds what the policy decided: ``predicted`` ("safe" or "unsafe" under the
run's ``--positive`` rule), the ``filters`` that fired and ``where`` the line came from. A reviewer keeps or fixes
``label`` (a wrong gold label is a mistake too) and feeds the file to ``guardrails adapt --data``; both read the
eval format, which ignores the added keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from guardrails.eval.runner import EvalRun, Record


def mistakes(run: EvalRun, positive: str) -> Iterator[Record]:
    """The labelled records whose decision under ``positive`` differs from their label."""
    for r in run.records:
        if r.example.label is not None and r.positive(positive) != r.example.unsafe:
            yield r


def mistake_row(record: Record, positive: str) -> dict[str, Any]:
    ex = record.example
    row: dict[str, Any] = {"messages": list(ex.messages)} if ex.messages is not None else {"text": ex.text}
    row["label"] = ex.label
    optional = {"category": ex.category, "stage": ex.stage.value if ex.stage else None, "prompt": ex.prompt,
                "source": ex.source or None, "id": ex.id}
    row.update({k: v for k, v in optional.items() if v is not None})
    row["predicted"] = "unsafe" if record.positive(positive) else "safe"
    row["filters"] = sorted(record.violating)
    row["where"] = ex.where
    return row


def write_mistakes(run: EvalRun, positive: str, path: str | Path) -> int:
    """Write the run's mistakes to ``path`` (JSONL); return how many."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as fh:
        for record in mistakes(run, positive):
            fh.write(json.dumps(mistake_row(record, positive), ensure_ascii=False) + "\n")
            count += 1
    return count
