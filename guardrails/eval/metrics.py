"""Evaluation metrics in plain Python: confusion counts, precision/recall/F1/FPR, average precision,
threshold for a target FPR, latency percentiles, and PII span precision/recall per entity type.

Conventions: a ratio whose denominator is zero is ``None`` (undefined, shown as "n/a"), never 0 or 1
by guess; "positive" means unsafe (the thing a guard should catch); a score ``s`` predicts positive
at threshold ``t`` when ``s >= t`` (the same rule filters use).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Collection, Iterable, Mapping, Sequence


def f1_score(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean of precision and recall; None when either is undefined, 0 when both are 0."""
    if precision is None or recall is None:
        return None
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def ratio(num: float, den: float) -> float | None:
    """num / den, or None when den is 0."""
    return num / den if den else None


@dataclass(frozen=True)
class Confusion:
    """Binary confusion counts with the usual rates derived from them."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.fp + self.tn

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.positives)

    @property
    def fpr(self) -> float | None:
        return ratio(self.fp, self.negatives)

    @property
    def f1(self) -> float | None:
        return f1_score(self.precision, self.recall)

    @property
    def accuracy(self) -> float | None:
        return ratio(self.tp + self.tn, self.n)

    @property
    def positive_rate(self) -> float | None:
        """Share of all examples predicted positive (caught), whatever their label."""
        return ratio(self.tp + self.fp, self.n)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self)
        for name in ("n", "positives", "negatives", "precision", "recall", "f1", "fpr", "accuracy", "positive_rate"):
            out[name] = getattr(self, name)
        return out


def confusion(y_true: Sequence[bool], y_pred: Sequence[bool]) -> Confusion:
    """Count TP/FP/TN/FN; ``True`` = unsafe (truth) / caught (prediction)."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} != {len(y_pred)}")
    tp = fp = tn = fn = 0
    for t, p in zip(y_true, y_pred):
        if t and p:
            tp += 1
        elif p:
            fp += 1
        elif t:
            fn += 1
        else:
            tn += 1
    return Confusion(tp, fp, tn, fn)


@dataclass(frozen=True)
class CurvePoint:
    """Counts and rates when predicting positive for every score >= ``threshold``."""

    threshold: float
    tp: int
    fp: int
    positives: int
    negatives: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp)  # never empty: at least one example sits at the threshold

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.positives)

    @property
    def fpr(self) -> float | None:
        return ratio(self.fp, self.negatives)


def _check_scores(y_true: Sequence[bool], scores: Sequence[float]) -> None:
    if len(y_true) != len(scores):
        raise ValueError(f"y_true and scores differ in length: {len(y_true)} != {len(scores)}")
    for s in scores:
        if isinstance(s, bool) or not isinstance(s, (int, float)) or math.isnan(s):
            raise ValueError(f"scores must be real numbers, got {s!r}")


def curve(y_true: Sequence[bool], scores: Sequence[float]) -> list[CurvePoint]:
    """One point per distinct score, highest threshold first; tied scores form one point."""
    _check_scores(y_true, scores)
    positives = sum(1 for t in y_true if t)
    negatives = len(y_true) - positives
    pairs = sorted(zip(scores, y_true), key=lambda p: p[0], reverse=True)
    points: list[CurvePoint] = []
    tp = fp = 0
    i = 0
    while i < len(pairs):
        threshold = pairs[i][0]
        while i < len(pairs) and pairs[i][0] == threshold:
            if pairs[i][1]:
                tp += 1
            else:
                fp += 1
            i += 1
        points.append(CurvePoint(float(threshold), tp, fp, positives, negatives))
    return points


def average_precision(y_true: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the precision-recall curve as a step sum: sum_k (R_k - R_{k-1}) * P_k.

    Tied scores are one threshold (no optimistic ordering inside a tie). None when there is no
    positive example (recall undefined); 1.0 when there is no negative one.
    """
    points = curve(y_true, scores)
    if not points or points[0].positives == 0:
        return None
    ap, prev_recall = 0.0, 0.0
    for pt in points:
        recall = pt.recall or 0.0
        ap += (recall - prev_recall) * pt.precision
        prev_recall = recall
    return ap


@dataclass(frozen=True)
class OperatingPoint:
    """The threshold meeting a target FPR with the highest recall (``threshold`` None: none does).

    ``threshold`` is a value to write into a policy (the fewest digits, at least 3, that catch exactly the
    examples counted here); ``lowest_score`` the lowest score among those examples.
    """

    target_fpr: float
    threshold: float | None
    fpr: float | None
    recall: float | None
    precision: float | None
    tp: int
    fp: int
    lowest_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def threshold_for_fpr(y_true: Sequence[bool], scores: Sequence[float], target_fpr: float, decimals: int = 3) -> OperatingPoint:
    """The lowest threshold whose false-positive rate is at most ``target_fpr`` (so: the best recall).

    Every threshold above the next lower score and up to the lowest caught score catches the same
    examples; the one returned is the lowest caught score rounded down to ``decimals`` digits (more when
    needed to stay above the next lower score). With no negative example every threshold meets the
    target and the lowest one is returned (fpr None). When even the highest score exceeds the target,
    threshold is None: only a threshold above every score (catching nothing) meets it.
    """
    if not 0 <= target_fpr <= 1:
        raise ValueError(f"target_fpr: expected a number between 0 and 1, got {target_fpr!r}")
    best: CurvePoint | None = None
    below: float | None = None  # the next lower distinct score after ``best``
    for pt in curve(y_true, scores):
        fpr = pt.fpr
        if fpr is not None and fpr > target_fpr:
            below = pt.threshold
            break  # FP only grows as the threshold falls
        best = pt
    if best is None:
        positives = sum(1 for t in y_true if t)
        negatives = len(y_true) - positives
        return OperatingPoint(target_fpr, None, ratio(0, negatives), ratio(0, positives), None, 0, 0)
    threshold = round_down_above(best.threshold, below, decimals)
    return OperatingPoint(target_fpr, threshold, best.fpr, best.recall, best.precision, best.tp, best.fp, best.threshold)


def round_down_above(value: float, floor: float | None, decimals: int = 3) -> float:
    """``value`` rounded down to the fewest digits (at least ``decimals``) that stay above ``floor``
    (None: no bound); ``value`` itself when ten digits do not. Every number in (floor, value] catches the
    same scores, and a short one reads and writes cleanly in a policy."""
    for digits in range(decimals, 10):
        step = Decimal(1).scaleb(-digits)
        t = float((Decimal(repr(float(value))) / step).to_integral_value(rounding=ROUND_FLOOR) * step)
        if floor is None or t > floor:
            return t
    return value


def wilson_interval(hits: int, total: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of the proportion ``hits / total`` at ``confidence`` (two-sided); None when
    ``total`` is 0. With p = hits/total and z the normal quantile of (1 + confidence)/2:

        center = (p + z²/2n) / (1 + z²/n),  half = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)

    Unlike p ± z·sqrt(p(1-p)/n) it stays inside [0, 1] and is not empty at 0 or n hits: with no hit
    the upper bound is z²/(n + z²) (about 3.84/n at 95%), which is what a small sample can show.
    """
    if total <= 0:
        return None
    if not 0 <= hits <= total:
        raise ValueError(f"hits: expected 0..{total}, got {hits}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a number between 0 and 1, got {confidence!r}")
    from statistics import NormalDist

    z = NormalDist().inv_cdf((1 + confidence) / 2)
    p, n = hits / total, total
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if hits == 0 else max(0.0, center - half)
    high = 1.0 if hits == total else min(1.0, center + half)
    return low, high


def percentiles(values: Iterable[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float | None]:
    """Linear-interpolated percentiles (numpy's default) plus mean and max; None for no values."""
    data = sorted(values)
    out: dict[str, float | None] = {}
    for q in qs:
        out[f"p{q:g}"] = _percentile(data, q) if data else None
    out["mean"] = sum(data) / len(data) if data else None
    out["max"] = data[-1] if data else None
    return out


def _percentile(data: Sequence[float], q: float) -> float:
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


# -- PII spans --------------------------------------------------------------------------------

Spans = Sequence[tuple[int, int, str]]  # (start, end, entity_type), end exclusive


@dataclass
class SpanCounts:
    """Span-level counts for one entity type."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        return f1_score(self.precision, self.recall)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def to_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "support": self.support,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


def _overlap(a: tuple[int, int, str], b: tuple[int, int, str]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def match_spans(gold: Spans, pred: Spans, *, exact: bool = False) -> list[tuple[int, int]]:
    """One-to-one matches (gold index, pred index) of the same entity type.

    ``exact``: same start and end. Otherwise: any character overlap, largest overlaps matched first.
    """
    candidates = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            if g[2] != p[2]:
                continue
            if exact:
                if g[0] == p[0] and g[1] == p[1]:
                    candidates.append((g[1] - g[0], gi, pi))
            else:
                ov = _overlap(g, p)
                if ov > 0:
                    candidates.append((ov, gi, pi))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for _, gi, pi in candidates:
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        pairs.append((gi, pi))
    return pairs


def span_scores(
    gold: Sequence[Spans],
    pred: Sequence[Spans],
    *,
    exact: bool = False,
    aliases: Mapping[str, str] | None = None,
    entities: Collection[str] | None = None,
) -> dict[str, SpanCounts]:
    """Per-entity-type span counts over documents, plus ``"ALL"`` (micro-average over the types counted).

    ``aliases`` renames types on both sides before matching (e.g. ``{"GPE": "LOCATION"}``);
    ``entities`` keeps only those types (after renaming) on both sides, so a detector is not
    charged for types it was not configured to find.
    """
    if len(gold) != len(pred):
        raise ValueError(f"gold and pred differ in length: {len(gold)} != {len(pred)}")
    aliases = aliases or {}

    def norm(spans: Spans) -> list[tuple[int, int, str]]:
        out = [(s, e, aliases.get(t, t)) for s, e, t in spans]
        return [x for x in out if entities is None or x[2] in entities]

    counts: dict[str, SpanCounts] = defaultdict(SpanCounts)
    for g_raw, p_raw in zip(gold, pred):
        g, p = norm(g_raw), norm(p_raw)
        pairs = match_spans(g, p, exact=exact)
        mg = {gi for gi, _ in pairs}
        mp = {pi for _, pi in pairs}
        for gi, span in enumerate(g):
            if gi in mg:
                counts[span[2]].tp += 1
            else:
                counts[span[2]].fn += 1
        for pi, span in enumerate(p):
            if pi not in mp:
                counts[span[2]].fp += 1
    total = SpanCounts()
    for c in counts.values():
        total.tp += c.tp
        total.fp += c.fp
        total.fn += c.fn
    result = dict(sorted(counts.items()))
    result["ALL"] = total
    return result
