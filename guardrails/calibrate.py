"""Calibrate a policy's thresholds on the operator's own traffic (``guardrails calibrate``).

For every scored filter and category of a policy (builtin's categories, classifier / toxicity / pii
thresholds, a plugin's ``thresholds`` or ``threshold``), find the threshold whose false-positive rate on
the operator's benign rows meets a target, say what it costs or gains in recall on attack rows, and
write the policy back with only those numbers changed (``guardrails.policy_edit``: comments, order and
formatting kept).

Scores are the engine's own: each filter runs alone through the normal check path
(``Engine.check_alone``: loading, timeout, on_error, the filter's contract checks), and a row's score of
a category is ``Verdict.scores[filter][category]`` (the highest of its violations' scores when larger).
One exception: ``pii`` reports only entities at or above its lowest threshold, so it is scored with
threshold 0.01 (and no per-entity thresholds) to see the scores a lower threshold would catch.

The threshold (``fit_threshold``): with n benign rows and target FPR a, at most k = floor(a·n) of them
may score at or above it, so it must lie above ``cut``, the (k+1)-th highest benign score. Every
threshold from just above ``cut`` up to ``low``, the lowest score seen above ``cut`` (benign or attack),
catches the same rows: the most the target allows (the best recall at that FPR, as ``guardrails eval``'s
threshold at a target FPR). The one written is ``low`` rounded down to d decimals (d = ``decimals``, 3
by default; more when needed to stay above ``cut``); with no score above ``cut``, the smallest d-digit
number above it; above 1.0 none meets the target (``unreachable``). A threshold that already meets
the target is lowered only when that catches more of the rows seen, the sample can show the target
(n at least ``rows_needed``) and ``lower`` is on; else it is kept.

Intervals: the Wilson score interval (``guardrails.eval.metrics.wilson_interval``) of every FPR and
recall. A sample of n rows with no false positive bounds the FPR by z²/(n + z²) at best, so showing
an FPR of a takes n >= z²(1 - a)/a rows (``rows_needed``: 381 for 1% at 95%, 73 for 5%).

Benign rows come from JSONL datasets (the ``guardrails eval`` format; a row without ``label`` is
benign in a benign file and an attack in an attack file; a row's own label wins) and from audit-log
exports (``read_audit_export``): the audit log never stores text, so the operator exports the rows
to keep as JSON lines with a ``text`` field (records without one are skipped and counted).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from guardrails.engine import Engine
from guardrails.errors import PolicyError
from guardrails.eval.dataset import DatasetError, Example, parse_line, raise_problems
from guardrails.eval.metrics import round_down_above, wilson_interval
from guardrails.filters.base import BaseFilter
from guardrails.filter_config import FilterConfig
from guardrails.policy import Policy, load_policy, policy_from_dict
from guardrails.policy_edit import PolicyEditError, ThresholdEdit, apply_threshold_edits, format_threshold
from guardrails.policy_locks import SUFFIX as LOCK_SUFFIX
from guardrails.signing import signature_path
from guardrails.types import Context, Stage

__all__ = [
    "Calibration", "CalibrationRows", "Rate", "SlotReport", "StageReport", "calibrate", "fit_threshold",
    "read_audit_export", "read_rows", "render_text", "rows_needed", "signature_warning", "verify_policy", "write_policy",
]

STAGES = ("input", "output")
# Filters whose findings are exact matches (score 1.0): no threshold changes what they catch.
PATTERN_FILTERS = frozenset({"regex", "deny_list", "secrets", "length"})
PROBE_THRESHOLD = 0.01  # pii's analyzer reports nothing below its lowest threshold (and never below 0.01)

# Slot statuses. Changed: raised, lowered. Not changed: the others.
CHANGED = ("raised", "lowered", "set")
STATUS_TEXT = {
    "raised": "raised",
    "lowered": "lowered",
    "set": "set (was the filter's own decision)",
    "unchanged": "unchanged",
    "kept": "kept",
    "unreachable": "cannot meet the target",
    "locked": "not written (locked)",
    "unwritable": "not written",
    "no_signal": "kept (no scores)",
    "not_calibratable": "not calibratable",
    "no_data": "no rows",
}


# -- statistics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``hits`` out of ``total``, with its Wilson interval (None when ``total`` is 0)."""

    hits: int
    total: int
    interval: tuple[float, float] | None

    @classmethod
    def of(cls, hits: int, total: int, confidence: float) -> "Rate":
        return cls(hits, total, wilson_interval(hits, total, confidence))

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "total": self.total, "rate": self.value,
                "low": self.interval[0] if self.interval else None, "high": self.interval[1] if self.interval else None}


def rows_needed(target_fpr: float, confidence: float = 0.95) -> int:
    """Benign rows needed before an FPR of ``target_fpr`` can be told from zero: the smallest n whose
    Wilson upper bound with no false positive, z²/(n + z²), is at most the target (n >= z²(1-a)/a)."""
    if not 0 < target_fpr < 1:
        raise ValueError(f"target_fpr: expected a number between 0 and 1 (exclusive), got {target_fpr!r}")
    from statistics import NormalDist

    z = NormalDist().inv_cdf((1 + confidence) / 2)
    return math.ceil(z * z * (1 - target_fpr) / target_fpr - 1e-9)


def allowed_false_positives(n: int, target_fpr: float) -> int:
    """k = floor(a·n): how many of n benign rows may score at or above the threshold."""
    return math.floor(target_fpr * n + 1e-9)


def fit_threshold(benign: Sequence[float], target_fpr: float, decimals: int = 3,
                  attacks: Sequence[float] = ()) -> float | None:
    """The threshold for ``target_fpr`` on these scores; None when no threshold up to 1.0 meets it.

    With n benign scores, k = floor(target·n) may be at or above the threshold, so it must lie above
    the (k+1)-th highest benign score ``cut``. Every threshold between ``cut`` and the lowest observed
    score above it (benign or attack: ``low``) catches the same rows, the most that the target allows;
    the one written is the highest of those with the fewest digits (at least ``decimals``): ``low``
    rounded down, so it stays at the rows the data saw (as ``guardrails eval``'s threshold at a target
    FPR does) instead of at the edge of the benign ones. When no score lies above ``cut``, it is the
    smallest number of ``decimals`` digits above ``cut``."""
    n = len(benign)
    if n == 0:
        raise ValueError("no benign scores")
    k = allowed_false_positives(n, target_fpr)
    if k >= n:
        return 0.0
    cut = sorted(benign, reverse=True)[k]
    above = [float(v) for v in (*benign, *attacks) if v > cut]
    if not above:
        step = Decimal(1).scaleb(-decimals)
        t = (Decimal(repr(float(cut))) / step).to_integral_value(rounding=ROUND_FLOOR) * step + step
        return None if t > 1 else float(t)
    return round_down_above(min(above), cut, decimals)


# -- rows -----------------------------------------------------------------------------------------


@dataclass
class CalibrationRows:
    """The rows to calibrate on: benign ones (false positives) and attacks (recall)."""

    benign: list[Example] = field(default_factory=list)
    attacks: list[Example] = field(default_factory=list)
    audit_read: int = 0  # audit-export records with a text
    audit_skipped: int = 0  # audit-export records without one
    audit_files: list[str] = field(default_factory=list)

    def add(self, example: Example) -> None:
        (self.attacks if example.unsafe else self.benign).append(example)


def read_rows(benign: Iterable[str | Path] = (), attacks: Iterable[str | Path] = (),
              audit_logs: Iterable[str | Path] = ()) -> CalibrationRows:
    """Read benign and attack JSONL datasets and audit-log exports; DatasetError lists bad lines."""
    rows = CalibrationRows()
    problems: list[str] = []
    for paths, default in ((benign, "safe"), (attacks, "unsafe")):
        for path in paths:
            for where, item in _json_lines(Path(path), problems):
                if isinstance(item, dict) and "label" not in item:
                    item = {**item, "label": default}
                try:
                    rows.add(parse_line(item, where, default_source=Path(path).stem))
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
    for path in audit_logs:
        read_audit_export(path, rows, problems)
    raise_problems(problems)
    return rows


def read_audit_export(path: str | Path, rows: CalibrationRows, problems: list[str]) -> None:
    """Add the rows of an audit-log export to ``rows``.

    The sidecar's audit log (``guardrails.server.audit``) records decisions without their text, so
    calibration reads an export the operator makes: JSON lines, each an object with ``text`` (the
    checked prompt, or answer with ``"stage": "output"`` and optionally its ``prompt``): the rows they
    chose to keep, or audit records their own pipeline joined with the text. Other fields of an audit
    record (``request_id``, ``action``, ``violations``, ...) are ignored; ``stage`` is read. A record
    with ``"label": "unsafe"`` (the operator's review said it was an attack) counts as an attack, any
    other as benign. Records without a string ``text`` (plain audit records) are skipped and counted.
    """
    file = Path(path)
    rows.audit_files.append(str(file))
    for where, item in _json_lines(file, problems):
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a JSON object (an audit record with a text field)")
            continue
        if not isinstance(item.get("text"), str):
            rows.audit_skipped += 1
            continue
        line = {"text": item["text"], "label": item.get("label", "safe"), "source": "audit"}
        for key in ("stage", "prompt", "category"):
            if item.get(key) is not None:
                line[key] = item[key]
        try:
            rows.add(parse_line(line, where, default_source="audit"))
            rows.audit_read += 1
        except ValueError as exc:
            problems.append(f"{where}: {exc}")


def _json_lines(path: Path, problems: list[str]) -> Iterable[tuple[str, Any]]:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        with path.open(encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield f"{path}:{n}", json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(f"{path}:{n}: not valid JSON ({exc.msg} at column {exc.colno})")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


# -- the report -----------------------------------------------------------------------------------


@dataclass
class SlotReport:
    """One threshold of the policy: a filter entry's category (``category`` None: the entry's single
    ``threshold``, over all its categories) at one stage, now and after calibration."""

    stage: str
    filter_id: str
    filter: str
    category: str | None
    key: str  # where it is written in the entry: categories.hate, thresholds.EMAIL_ADDRESS, threshold
    status: str
    current: float | None = None  # None: the filter's own decision (safety_model without a threshold)
    new: float | None = None  # the fitted threshold (also when it was not written: locked)
    fpr_now: Rate | None = None
    fpr_new: Rate | None = None
    recall_now: Rate | None = None
    recall_new: Rate | None = None
    attacks: str | None = None  # the attack category recall counts ("all": every attack of the stage)
    note: str = ""
    errors: int = 0  # rows the filter failed on (left out)

    @property
    def changed(self) -> bool:
        return self.status in CHANGED

    @property
    def final(self) -> float | None:
        """The threshold in effect after calibration."""
        return self.new if self.changed else self.current

    @property
    def name(self) -> str:
        return f"{self.stage} {self.filter_id}" + (f" / {self.category}" if self.category else "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stage": self.stage, "filter": self.filter_id, "filter_name": self.filter, "category": self.category,
            "key": self.key, "status": self.status, "current": self.current, "new": self.new,
        }
        for name in ("fpr_now", "fpr_new", "recall_now", "recall_new"):
            rate = getattr(self, name)
            out[name] = rate.to_dict() if rate is not None else None
        out.update(attacks=self.attacks, note=self.note, errors=self.errors)
        return out


@dataclass
class StageReport:
    """A stage's rows, and every calibrated threshold of it together (a row is caught by any)."""

    stage: str
    benign: int
    attacks: int
    rows_needed: int
    fpr_now: Rate | None = None
    fpr_new: Rate | None = None
    recall_now: Rate | None = None
    recall_new: Rate | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "benign": self.benign, "attacks": self.attacks,
                               "rows_needed": self.rows_needed}
        for name in ("fpr_now", "fpr_new", "recall_now", "recall_new"):
            rate = getattr(self, name)
            out[name] = rate.to_dict() if rate is not None else None
        return out


@dataclass
class Calibration:
    """The outcome of ``calibrate``: per threshold and per stage, the warnings, and the edited policy
    text (``text``; None when nothing changes)."""

    policy: str
    source: str | None
    target_fpr: float
    confidence: float
    decimals: int
    slots: list[SlotReport]
    stages: dict[str, StageReport]
    warnings: list[str]
    rows: CalibrationRows
    original: str = ""
    text: str | None = None
    edits: list[ThresholdEdit] = field(default_factory=list)

    @property
    def changed(self) -> list[SlotReport]:
        return [s for s in self.slots if s.changed]

    @property
    def complete(self) -> bool:
        """Every calibratable threshold meets the target after calibration (none unreachable or locked)."""
        return not any(s.status in ("unreachable", "locked", "unwritable") for s in self.slots)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "source": self.source, "target_fpr": self.target_fpr,
            "confidence": self.confidence, "interval": "wilson", "decimals": self.decimals,
            "rows": {"benign": len(self.rows.benign), "attacks": len(self.rows.attacks),
                     "audit_read": self.rows.audit_read, "audit_skipped": self.rows.audit_skipped},
            "stages": {k: v.to_dict() for k, v in self.stages.items()},
            "thresholds": [s.to_dict() for s in self.slots],
            "warnings": list(self.warnings),
            "changed": len(self.changed),
            "complete": self.complete,
        }


# -- calibration ----------------------------------------------------------------------------------


@dataclass
class _Spec:
    """Where one threshold of an entry lives, and its value now."""

    category: str | None
    path: tuple[str, ...]
    current: float | None
    action: str | None = None  # a category rule's action, kept when the rule is rewritten


@dataclass
class _Scored:
    """One filter over one stage's rows (aligned with the stage's row list; None: the filter failed)."""

    scores: list[dict[str, float] | None]
    violations: list[frozenset[str]]


def calibrate(
    policy: str | Path,
    rows: CalibrationRows,
    *,
    target_fpr: float,
    trust_plugins: bool | Sequence[str] = False,
    default_stage: Stage | str = Stage.INPUT,
    confidence: float = 0.95,
    decimals: int = 3,
    lower: bool = True,
) -> Calibration:
    """Fit every scored threshold of ``policy`` (a file or built-in name) to ``target_fpr`` on ``rows``;
    check each change against the locks of the policy's bases; return the report and the edited text."""
    if not 0 < target_fpr < 1:
        raise ValueError(f"target_fpr: expected a number between 0 and 1 (exclusive), got {target_fpr!r}")
    if not rows.benign:
        raise DatasetError("no benign rows: calibration needs the operator's benign traffic")
    pol = load_policy(policy, trust_plugins=trust_plugins)
    real = Engine(pol)
    probe = Engine(_probe_policy(pol))
    default = Stage(default_stage)
    needed = rows_needed(target_fpr, confidence)
    slots: list[SlotReport] = []
    stages: dict[str, StageReport] = {}
    warnings: list[str] = []
    flags: dict[str, list[tuple[SlotReport, list[bool], list[bool]]]] = {}
    for stage in STAGES:
        examples = [e for e in (*rows.benign, *rows.attacks) if (e.stage or default).value == stage]
        benign_n = sum(1 for e in examples if not e.unsafe)
        attack_n = len(examples) - benign_n
        entries = pol.stage(stage)
        if not entries:
            continue
        stages[stage] = StageReport(stage, benign_n, attack_n, needed)
        if not benign_n:
            warnings.append(f"no benign {stage} rows: the {stage} filters are not calibrated")
            continue
        if benign_n < needed:
            bound_at_zero = (wilson_interval(0, benign_n, confidence) or (0.0, 1.0))[1]
            warnings.append(
                f"only {benign_n} benign {stage} rows: an FPR of {_pct(target_fpr)} needs at least {needed} to be "
                f"measured (with no false positive, {benign_n} rows bound the FPR only by {_pct(bound_at_zero)} at "
                f"{_pct(confidence, 0)} confidence); the thresholds are fitted to few rows and none is lowered"
            )
        bound = {b.id: b for b in probe.filters(stage)}
        reals = {b.id: b for b in real.filters(stage)}
        for cfg in entries:
            fid = str(cfg.id or cfg.filter)
            if cfg.filter in PATTERN_FILTERS:
                slots.append(SlotReport(stage, fid, cfg.filter, None, "-", "not_calibratable",
                                        note="a pattern filter: every match scores 1.0, so no threshold changes what it catches"))
                continue
            scored = _score(probe, fid, stage, examples)
            probe_filter = bound[fid].filter
            specs = _specs(cfg, reals[fid].filter, probe_filter, stage, _observed(scored))
            for spec in specs:
                slot, caught = _fit(spec, cfg, fid, stage, examples, scored, target_fpr, confidence, decimals,
                                    lower, needed)
                slots.append(slot)
                if caught is not None:
                    flags.setdefault(stage, []).append((slot, *caught))
    cal = Calibration(pol.name, pol.source, target_fpr, confidence, decimals, slots, stages, warnings, rows)
    _plan_writes(cal, pol, trust_plugins)
    for stage, report in stages.items():  # locked or unwritable changes are not part of the result
        _together(report, [e for e in (*rows.benign, *rows.attacks) if (e.stage or default).value == stage],
                  flags.get(stage, []), confidence)
        together = report.fpr_new
        moved = sum(1 for s in cal.changed if s.stage == stage)
        if together is not None and together.value is not None and together.value > target_fpr and moved:
            count = sum(1 for s in cal.slots if s.stage == stage and s.fpr_new is not None)
            warnings.append(
                f"together, the {stage} thresholds flag {_pct(together.value)} of the benign {stage} rows "
                f"({together.hits}/{together.total}): the target holds for each threshold alone; to bound them "
                f"together ask for about --target-fpr {target_fpr / max(count, 1):.2g} (the target over the "
                f"{count} thresholds)" + (", or keep thresholds from going down with --no-lower" if lower else "")
            )
    return cal


def _probe_policy(policy: Policy) -> Policy:
    """The policy with pii entries lowered to PROBE_THRESHOLD, so that their scores are complete."""
    def probe(cfg: FilterConfig) -> FilterConfig:
        if cfg.filter != "pii":
            return cfg
        return cfg.model_copy(update={"threshold": PROBE_THRESHOLD, "thresholds": {}})

    return policy.model_copy(update={"input": tuple(probe(c) for c in policy.input),
                                     "output": tuple(probe(c) for c in policy.output)})


def _context(example: Example, stage: str) -> Context | None:
    return Context(prompt=example.prompt) if stage == "output" and example.prompt else None


def _score(engine: Engine, fid: str, stage: str, examples: Sequence[Example]) -> _Scored:
    """Run the filter alone on every row (``Engine.check_alone``): its category scores and violations."""
    out = _Scored([], [])
    for example in examples:
        verdict = engine.check_alone(fid, example.content, stage, ctx=_context(example, stage))
        mine = [v for v in verdict.violations if v.filter == fid]
        if any(v.error is not None for v in mine):
            out.scores.append(None)
            out.violations.append(frozenset())
            continue
        scores = {c: float(s) for c, s in verdict.scores.get(fid, {}).items()}
        for v in mine:
            scores[v.category] = max(scores.get(v.category, 0.0), float(v.score))
        out.scores.append(scores)
        out.violations.append(frozenset(v.category for v in mine))
    return out


def _observed(scored: _Scored) -> set[str]:
    return {c for row in scored.scores if row for c in row}


def _specs(cfg: Any, real: BaseFilter, probe: BaseFilter, stage: str, observed: set[str]) -> list[_Spec]:
    """The thresholds of one filter entry: per category where the filter has them, else its one threshold."""
    ctx = Context(stage=Stage(stage))
    name = cfg.filter
    if name == "builtin":
        probe.ensure_loaded()  # its enforced categories and measured thresholds are read at load
        enforced: dict[str, float] = getattr(probe, "thresholds")(stage)
        rules = cfg.categories or {}
        return [_Spec(c, ("categories", c), t, rules[c].action if c in rules else None) for c, t in enforced.items()]
    if name == "classifier":
        out = []
        for c in sorted(set(cfg.labels.values())):
            rule = cfg.categories.get(c)
            if rule is not None and rule.off:
                continue
            written = rule is not None and rule.threshold is not None
            out.append(_Spec(c, ("categories", c) if written else ("thresholds", c), real.threshold_for(c, ctx),
                             rule.action if written and rule is not None else None))
        return out
    if name != "safety_model" and isinstance(getattr(cfg, "thresholds", None), dict):
        if name == "toxicity":
            cats = list(cfg.categories)
        elif name == "pii":
            cats = list(getattr(real, "entities"))
        else:
            cats = sorted(observed)
        return [_Spec(c, ("thresholds", c), real.threshold_for(c, ctx)) for c in cats]
    current = cfg.threshold if name == "safety_model" else real.threshold
    return [_Spec(None, ("threshold",), current)]


def _fit(spec: _Spec, cfg: Any, fid: str, stage: str, examples: Sequence[Example], scored: _Scored,
         target: float, confidence: float, decimals: int, lower: bool, needed: int
         ) -> tuple[SlotReport, tuple[list[bool], list[bool]] | None]:
    """Fit one threshold; also return which rows it catches now and after (None: not calibrated)."""
    report = SlotReport(stage, fid, cfg.filter, spec.category, ".".join(spec.path), "no_data", spec.current)
    values: list[float | None] = []
    fired: list[bool] = []
    for row, violations in zip(scored.scores, scored.violations):
        if row is None:
            values.append(None)
            fired.append(False)
        elif spec.category is None:
            values.append(max(row.values(), default=0.0))
            fired.append(bool(violations))
        else:
            values.append(row.get(spec.category, 0.0))
            fired.append(spec.category in violations)
    report.errors = sum(1 for v in values if v is None)
    benign = [v for v, e in zip(values, examples) if v is not None and not e.unsafe]
    if not benign:
        report.note = "the filter failed on every benign row" if report.errors else "no benign rows"
        return report, None
    present = {e.category for v, e in zip(values, examples) if v is not None and e.unsafe}
    of = spec.category if spec.category is not None and spec.category in present else "all"
    report.attacks = of
    attack_idx = [i for i, (v, e) in enumerate(zip(values, examples))
                  if v is not None and e.unsafe and (of == "all" or e.category == of)]

    def caught(threshold: float | None) -> list[bool]:
        if threshold is None:
            return list(fired)
        return [v is not None and v >= threshold for v in values]

    def rates(flags: list[bool]) -> tuple[Rate, Rate | None]:
        fp = sum(1 for f, v, e in zip(flags, values, examples) if f and v is not None and not e.unsafe)
        tp = sum(1 for i in attack_idx if flags[i])
        return Rate.of(fp, len(benign), confidence), (Rate.of(tp, len(attack_idx), confidence) if attack_idx else None)

    now = caught(spec.current)
    report.fpr_now, report.recall_now = rates(now)
    seen = {v for v in values if v is not None}
    if not any(v > 0 for v in seen):
        report.status = "no_signal"
        report.note = "no row scores above 0 for it: nothing to fit it to"
        return report, (now, now)
    if seen <= {0.0, 1.0}:
        report.status = "not_calibratable"
        report.note = "its scores are only 0 or 1 here: no threshold between them changes what it catches"
        return report, (now, now)
    k = allowed_false_positives(len(benign), target)
    attack_scores = [v for v, e in zip(values, examples) if v is not None and e.unsafe]
    fit = fit_threshold(benign, target, decimals, attack_scores)
    report.new = fit
    if fit is None:
        report.status = "unreachable"
        report.note = (f"{sum(1 for b in benign if b >= 1.0)} benign rows score 1.0: no threshold up to 1.0 brings "
                       f"its FPR to {_pct(target)}")
        return report, (now, now)
    if spec.current is None:
        report.status = "set"  # the filter's own decision becomes a threshold on its score
    elif report.fpr_now.hits > k:
        report.status = "raised"  # fit > the (k+1)-th benign score >= the threshold now
    elif fit >= spec.current or not any(fit <= v < spec.current for v in seen):
        report.status, report.new = "unchanged", spec.current  # lowering it would catch no row more
    elif not lower:
        report.status = "kept"
        report.note = f"meets the target already; {format_threshold(fit)} would too (lowering is off)"
    elif len(benign) < needed:
        report.status = "kept"
        report.note = (f"meets the target already; lowering it to {format_threshold(fit)} needs at least {needed} "
                       f"benign rows (there are {len(benign)})")
    else:
        report.status = "lowered"
    final = report.new if report.changed else spec.current
    after = caught(final)
    report.fpr_new, report.recall_new = rates(after)
    return report, (now, after)


def _together(report: StageReport, examples: Sequence[Example],
              flags: list[tuple[SlotReport, list[bool], list[bool]]], confidence: float) -> None:
    """Every calibrated threshold of a stage at once: a row counts when any of them catches it."""
    if not flags:
        return
    now = [any(f[1][i] for f in flags) for i in range(len(examples))]
    new = [any((f[2] if f[0].changed else f[1])[i] for f in flags) for i in range(len(examples))]
    benign = [i for i, e in enumerate(examples) if not e.unsafe]
    attacks = [i for i, e in enumerate(examples) if e.unsafe]
    report.fpr_now = Rate.of(sum(now[i] for i in benign), len(benign), confidence)
    report.fpr_new = Rate.of(sum(new[i] for i in benign), len(benign), confidence)
    if attacks:
        report.recall_now = Rate.of(sum(now[i] for i in attacks), len(attacks), confidence)
        report.recall_new = Rate.of(sum(new[i] for i in attacks), len(attacks), confidence)


# -- writing --------------------------------------------------------------------------------------


def _edit_of(slot: SlotReport, spec_action: str | None, filter_name: str) -> ThresholdEdit:
    path = tuple(slot.key.split(".", 1)) if slot.key != "threshold" else ("threshold",)
    return ThresholdEdit(slot.stage, slot.filter_id, filter_name, path, float(slot.new or 0.0), spec_action)


def _plan_writes(cal: Calibration, pol: Policy, trust: bool | Sequence[str]) -> None:
    """Turn the changed thresholds into text edits; try each against the policy's locks (a change that
    a base's ``locked: true`` refuses is reported and left out); build the edited text."""
    if pol.source is None:
        return
    path = Path(pol.source)
    cal.original = path.read_text(encoding="utf-8")
    configs = {(s, str(c.id or c.filter)): c for s in STAGES for c in pol.stage(s)}
    fills: dict[tuple[str, str], list[ThresholdEdit]] = {}
    for slot in cal.slots:
        cfg = configs[(slot.stage, slot.filter_id)]
        key = (slot.stage, slot.filter_id)
        if cfg.filter == "builtin" and getattr(cfg, "categories", None) is None and key not in fills:
            # Its categories are the measured defaults: a `categories:` mapping enforces only what it lists,
            # so a written one lists every enforced category (the others at their thresholds now).
            fills[key] = [ThresholdEdit(s.stage, s.filter_id, cfg.filter, ("categories", str(s.category)), float(s.current))
                          for s in cal.slots if (s.stage, s.filter_id) == key and s.category and s.current is not None]
    actions = {(s.stage, s.filter_id, s.key): _rule_action(configs[(s.stage, s.filter_id)], s) for s in cal.slots}
    accepted: list[ThresholdEdit] = []
    for slot in cal.changed:
        cfg = configs[(slot.stage, slot.filter_id)]
        edit = _edit_of(slot, actions[(slot.stage, slot.filter_id, slot.key)], cfg.filter)
        trial = [*fills.get((slot.stage, slot.filter_id), []), edit]
        try:
            text = apply_threshold_edits(cal.original, trial, str(path))
        except PolicyEditError as exc:
            slot.status, slot.note = "unwritable", str(exc)
            continue
        refused = _lock_problems(text, path, trust)
        if refused:
            slot.status = "locked"
            slot.note = f"a base policy locks it (raising a locked threshold is refused): {refused[0]}"
            slot.fpr_new, slot.recall_new = slot.fpr_now, slot.recall_now
            continue
        accepted.append(edit)
    if not accepted:
        return
    entries = {(e.stage, e.entry_id) for e in accepted}
    final: dict[tuple[str, str, tuple[str, ...]], ThresholdEdit] = {}
    for key in entries:
        for e in fills.get(key, []):
            final[(e.stage, e.entry_id, e.path)] = e
    for e in accepted:
        final[(e.stage, e.entry_id, e.path)] = e
    cal.edits = list(final.values())
    cal.text = apply_threshold_edits(cal.original, cal.edits, str(path))


def _rule_action(cfg: Any, slot: SlotReport) -> str | None:
    if not slot.key.startswith("categories.") or slot.category is None:
        return None
    rules = getattr(cfg, "categories", None)
    rule = rules.get(slot.category) if isinstance(rules, dict) else None
    action = getattr(rule, "action", None)
    return action if action in ("block", "flag", "respond") else None


def _lock_problems(text: str, path: Path, trust: bool | Sequence[str]) -> list[str]:
    """The lock refusals (``guardrails.policy_locks``) the policy ``text`` at ``path`` would meet."""
    try:
        data = yaml.safe_load(text)
        policy_from_dict(data if isinstance(data, dict) else {}, source=str(path), base_dir=path.parent,
                         trust_plugins=trust)
    except PolicyError as exc:
        return [p for p in exc.problems if LOCK_SUFFIX in p]
    except yaml.YAMLError:
        return []
    return []


def verify_policy(cal: Calibration, path: str | Path, *, trust_plugins: bool | Sequence[str] = False) -> None:
    """Load the policy file at ``path`` and check that every calibrated threshold holds its new value,
    every other one its old value, and every category keeps its action; PolicyError saying what differs."""
    pol = load_policy(Path(path), trust_plugins=trust_plugins)
    engine = Engine(pol)
    problems = []
    for slot in cal.slots:
        if slot.key == "-" or slot.status == "no_data":
            continue
        bound = {b.id: b for b in engine.filters(slot.stage)}.get(slot.filter_id)
        if bound is None:
            problems.append(f"{slot.stage} filter {slot.filter_id!r} is missing")
            continue
        cfg = next(c for c in pol.stage(slot.stage) if str(c.id or c.filter) == slot.filter_id)
        specs = {s.category: s for s in _specs(cfg, bound.filter, bound.filter, slot.stage, {slot.category or ""})}
        spec = specs.get(slot.category)
        if spec is None:
            problems.append(f"{slot.name}: no longer enforced")
            continue
        want = slot.final
        if (want is None) != (spec.current is None) or (want is not None and abs(float(spec.current or 0) - want) > 1e-9):
            problems.append(f"{slot.name}: threshold {spec.current} (expected {want})")
    if problems:
        raise PolicyError([f"{path}: the written policy does not give the calibrated thresholds: {p}" for p in problems])


def write_policy(cal: Calibration, dest: str | Path, *, trust_plugins: bool | Sequence[str] = False) -> Path:
    """Write the calibrated policy to ``dest`` (through a temporary file in its folder that must load and
    give the new thresholds first; an existing file keeps its permissions). Returns the path."""
    target = Path(dest)
    text = cal.text if cal.text is not None else cal.original
    if not text:
        raise PolicyError("nothing to write: the policy has no file")
    tmp = target.with_name(f".{target.stem}.calibrate-{os.getpid()}.yaml")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        if target.exists():
            shutil.copymode(target, tmp)
        verify_policy(cal, tmp, trust_plugins=trust_plugins)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def signature_warning(path: Path) -> str | None:
    sig = signature_path(path)
    if sig.exists():
        return f"{path} is signed ({sig}): the signature no longer matches; sign it again (guardrails policy sign)"
    return None


# -- text -----------------------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    text = f"{100 * value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{100 * value:.0f}"
    return text + "%"


def _rate(rate: Rate | None, what: str = "") -> str:
    if rate is None:
        return "n/a"
    low, high = rate.interval or (0.0, 0.0)
    return f"{_pct(rate.value)} ({rate.hits}/{rate.total}{what}; CI {_pct(low)}-{_pct(high)})"


def _threshold(value: float | None) -> str:
    return "model's own" if value is None else format_threshold(value)


def render_text(cal: Calibration) -> str:
    """The report as the CLI prints it."""
    rows = cal.rows
    lines = [f"policy {cal.policy!r} ({cal.source or 'not from a file'}): target FPR {_pct(cal.target_fpr)} for each "
             f"filter and category; intervals: Wilson score, {_pct(cal.confidence, 0)}"]
    stage_counts = ", ".join(f"{s}: {r.benign} benign, {r.attacks} attacks" for s, r in cal.stages.items())
    lines.append(f"rows: {len(rows.benign)} benign, {len(rows.attacks)} attacks ({stage_counts})")
    if rows.audit_files:
        lines.append(f"audit export: {rows.audit_read} records with text read, {rows.audit_skipped} without text skipped")
    for stage in STAGES:
        slots = [s for s in cal.slots if s.stage == stage]
        if not slots:
            continue
        lines.append("")
        lines.append(f"{stage}:")
        quiet: dict[tuple[str, str], list[str]] = {}
        for s in slots:
            if s.status in ("no_signal", "no_data"):
                quiet.setdefault((s.filter_id, STATUS_TEXT[s.status]), []).append(s.category or s.key)
                continue
            head = f"  {s.filter_id}" + (f" / {s.category}" if s.category else "") + (f"  [{s.key}]" if s.key != "-" else "")
            if s.status == "not_calibratable":
                lines.append(f"{head}: not calibratable: {s.note}")
                continue
            lines.append(f"{head}: {STATUS_TEXT[s.status]}")
            attacks = "" if s.attacks in (None, "all") else f" {s.attacks}"
            lines.append(f"    now {_threshold(s.current):>8}   FPR {_rate(s.fpr_now)}"
                         + (f"   recall {_rate(s.recall_now, attacks)}" if s.recall_now else ""))
            if s.new is not None and s.status not in ("unchanged", "kept"):
                gain = ""
                if s.recall_now and s.recall_new and s.recall_now.value is not None and s.recall_new.value is not None:
                    gain = f" ({100 * (s.recall_new.value - s.recall_now.value):+.1f} pts)"
                written = "" if s.changed else " (not written)"
                fpr_new = s.fpr_new if s.changed else None
                lines.append(f"    new {_threshold(s.new):>8}{written}" +
                             (f"   FPR {_rate(fpr_new)}" if fpr_new else "") +
                             (f"   recall {_rate(s.recall_new)}{gain}" if s.changed and s.recall_new else ""))
            if s.note:
                lines.append(f"    {s.note}")
            if s.errors:
                lines.append(f"    the filter failed on {s.errors} rows (left out)")
        for (fid, status), names in quiet.items():
            lines.append(f"  {fid}: {status}: {', '.join(names)}")
        report = cal.stages.get(stage)
        if report is not None and report.fpr_now is not None:
            text = f"  every scored {stage} threshold together: FPR {_pct(report.fpr_now.value)} -> {_pct(report.fpr_new.value if report.fpr_new else None)}"
            if report.recall_now is not None and report.recall_new is not None:
                text += f"; recall {_pct(report.recall_now.value)} -> {_pct(report.recall_new.value)}"
            lines.append(text)
    for warning in cal.warnings:
        lines.append(f"warning: {warning}")
    return "\n".join(lines)
