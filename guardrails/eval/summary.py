"""Turn an EvalRun into the metrics of a report (the content of metrics.json)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Collection, Literal, Mapping, Sequence

from guardrails.eval import metrics
from guardrails.eval.runner import EvalRun, Record

DEFAULT_TARGET_FPRS = (0.01, 0.05)
SWEEP_THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))
Positive = Literal["flagged", "blocked", "any"]
POSITIVE_MEANING = {
    "flagged": "a violation that blocks or flags (a redaction alone is a rewrite, not a verdict)",
    "blocked": "a block",
    "any": "any violation (block, flag or redact)",
}


def summarize(
    run: EvalRun,
    *,
    target_fprs: Sequence[float] = DEFAULT_TARGET_FPRS,
    positive: Positive = "flagged",
    entity_aliases: Mapping[str, str] | None = None,
    entities: Collection[str] | None = None,
) -> dict[str, Any]:
    """Metrics overall, per category and per source, per scored filter, latency and PII spans.

    ``positive``: what counts as the guard saying "unsafe" (see POSITIVE_MEANING).
    """
    labelled = [r for r in run.records if r.example.has_label]
    out: dict[str, Any] = {
        "policy": run.policy,
        "policy_hash": run.policy_hash,
        "filters_run": run.filters,
        "positive": positive,
        "examples": len(run.records),
        "labelled": len(labelled),
        "wall_s": run.wall_s,
        "filter_errors": sum(1 for r in run.records if r.errors),
        "overall": _group(labelled, positive) if labelled else None,
        "by_category": _by_category(labelled, positive),
        "by_source": _by(labelled, positive, lambda r: r.example.source),
        "by_stage": _by(labelled, positive, lambda r: (r.example.stage.value if r.example.stage else "default")),
        "by_length": _by(labelled, positive, lambda r: length_band(len(r.example.text))),
        "filters": _filters(labelled, run.filter_ids(), target_fprs),
        "latency_ms": metrics.percentiles(r.latency_ms for r in run.records),
        "pii": _pii(run.records, entity_aliases, entities),
    }
    return out


LENGTH_BANDS = ((0, 25), (25, 100), (100, 1000), (1000, None))


def length_band(n: int) -> str:
    """A text's length band in characters: '0-24', '25-99', '100-999' or '1000+'."""
    for lo, hi in LENGTH_BANDS:
        if hi is None or n < hi:
            return f"{lo}+" if hi is None else f"{lo}-{hi - 1}"
    raise AssertionError("unreachable")


def _group(records: Sequence[Record], positive: Positive) -> dict[str, Any]:
    y_true = [r.example.unsafe for r in records]
    y_pred = [r.positive(positive) for r in records]
    out = metrics.confusion(y_true, y_pred).to_dict()
    out["catch_rate"] = out["positive_rate"]
    out["block_rate"] = metrics.ratio(sum(1 for r in records if r.blocked), len(records))
    out["redact_rate"] = metrics.ratio(sum(1 for r in records if r.redacted), len(records))
    return out


def _by(records: Sequence[Record], positive: Positive, key: Any) -> dict[str, Any]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return {name: _group(rs, positive) for name, rs in sorted(groups.items())}


NO_CATEGORY = "(no category)"


def _by_category(records: Sequence[Record], positive: Positive) -> dict[str, Any]:
    """Per category; lines without one form the group NO_CATEGORY, shown only next to real categories
    (a label is not a category: a file with none has no per-category rows)."""
    if not any(r.example.category for r in records):
        return {}
    return _by(records, positive, lambda r: r.example.category or NO_CATEGORY)


def scored(records: Sequence[Record], fid: str, category: str | None = None) -> tuple[list[bool], list[float]]:
    """Labels and scores of the examples filter ``fid`` scored.

    The score is the filter's highest category score, or with ``category`` that category's score
    (0 where the filter scored the example without it). With a category that examples are
    labelled with (e.g. ``self_harm``), only that category's unsafe examples count as positives
    and the other unsafe ones are left out: the per-category PR curve.
    """
    own = bool(category) and any(r.example.category == category for r in records)
    y, s = [], []
    for r in records:
        score = r.scores.get(fid)
        if score is None:
            continue
        if own and r.example.unsafe and r.example.category != category:
            continue
        if category:
            score = r.category_scores.get(fid, {}).get(category, 0.0)
        y.append(r.example.unsafe)
        s.append(score)
    return y, s


def _filters(records: Sequence[Record], ids: Sequence[str], target_fprs: Sequence[float]) -> dict[str, Any]:
    """Each filter, then each category it scored on (nearly) every example, as ``id/category``."""
    out: dict[str, Any] = {}
    for fid in ids:
        out[fid] = _filter(records, fid, target_fprs)
        ran = [r for r in records if r.scores.get(fid) is not None]
        counts: dict[str, int] = defaultdict(int)
        for r in ran:
            for cat in r.category_scores.get(fid, {}):
                counts[cat] += 1
        regular = [c for c, n in sorted(counts.items()) if n >= 0.9 * len(ran)]
        if len(regular) > 1:  # one category is the filter score itself
            for cat in regular:
                out[f"{fid}/{cat}"] = _filter(records, fid, target_fprs, cat)
    return out


def _filter(records: Sequence[Record], fid: str, target_fprs: Sequence[float], category: str | None = None) -> dict[str, Any]:
    y, s = scored(records, fid, category)
    distinct = len(set(s))
    return {
        "filter": fid,
        "category": category,
        "scored": len(s),
        "missing": sum(1 for r in records if fid in r.scores and r.scores[fid] is None),
        "distinct_scores": distinct,
        "violations": sum(1 for r in records if fid in r.violating),
        "auprc": metrics.average_precision(y, s) if s else None,
        "prevalence": metrics.ratio(sum(y), len(y)),
        "operating_points": [metrics.threshold_for_fpr(y, s, t).to_dict() for t in target_fprs] if s else [],
        "sweep": _sweep(y, s) if distinct > 2 else [],
    }


def _sweep(y: list[bool], s: list[float]) -> list[dict[str, Any]]:
    """Rates at fixed thresholds 0.1 ... 0.9 (score >= threshold counts as caught)."""
    out = []
    for t in SWEEP_THRESHOLDS:
        c = metrics.confusion(y, [v >= t for v in s])
        out.append({"threshold": t, "fpr": c.fpr, "recall": c.recall, "precision": c.precision})
    return out


def _pii(records: Sequence[Record], aliases: Mapping[str, str] | None, entities: Collection[str] | None) -> dict[str, Any] | None:
    rows = [r for r in records if r.example.spans is not None]
    if not rows:
        return None
    gold = [[(s.start, s.end, s.entity_type) for s in r.example.spans or ()] for r in rows]
    pred = [list(r.spans) for r in rows]
    aliases = dict(aliases or {})
    if entities is None:
        # Only types present in the gold data are scored, so that e.g. a secret's span is not a PII miss.
        entities = {aliases.get(t, t) for doc in gold for _, _, t in doc}
    return {
        "documents": len(rows),
        "entities": sorted(entities),
        "aliases": aliases,
        "overlap": {k: v.to_dict() for k, v in metrics.span_scores(gold, pred, aliases=aliases, entities=entities).items()},
        "exact": {k: v.to_dict() for k, v in metrics.span_scores(gold, pred, exact=True, aliases=aliases, entities=entities).items()},
    }
