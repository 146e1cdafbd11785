"""``guardrails adapt``: retrain the built-in detector on a deployer's own labelled traffic, on a CPU.

The feature tables of the shipped detector stay as they are; the layers above them (the network's
projection, hidden layer and output: ``P``, ``b1``, ``W2``, ``b2``) are retrained from the shipped
weights on the shipped training examples (``guardrails/data/adapt/features.npz``: the inputs of those
layers per unit, no text) together with the deployer's rows, then every head is recalibrated and the
thresholds chosen again on validation rows (shipped and the deployer's) with the deployer's safe rows
held to ``target_fpr``. The deployer's rows are split by a seeded hash: train / validation / hold-out;
the hold-out only reports before/after figures. Candidate weights for the deployer's rows are tried
and the one with the best validation AUPRC kept. A regression guard scores the never-trained-on rows
shipped with the features (attacks and toxic texts written for evaluation only): a candidate whose
recall there drops by more than ``margin`` for any kind of attack is refused unless the caller allows it.

One pipeline with ``scripts/train_builtin.py``: labels, example building, weights, calibration and
threshold choice come from ``guardrails.detector.training``. numpy only: no train extra needed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from guardrails.detector import correction as corr
from guardrails.detector.features import Unit, units
from guardrails.detector.frozen import Examples, Scored, examples_of, load_sets, row_logits, row_scores, scored_of
from guardrails.detector.model import DEFAULT_DIR, Detector
from guardrails.detector.training import (
    ATTACKS, HEADS, SHORT, TOXIC, Plan, Row, average_precision, build_examples, calibration, choose_thresholds, is_safe,
    policy_score, save, write_npz,
)
from guardrails.errors import GuardrailsError
from guardrails.eval.dataset import raise_problems, read_file
from guardrails.taxonomy import HAZARDS
from guardrails.types import Stage

FEATURES = Path(__file__).resolve().parent / "data" / "adapt" / "features.npz"
DEPLOYER = "deployer"
TRAINABLE = ("P", "b1", "W2", "b2")
# Candidate weights of a deployer's row when the top layers are retrained (a shipped row weighs <= 1). One by
# default: on ToxicChat weight 1 had the best validation AUPRC of 1, 4 and 16, and each more costs a training.
DEFAULT_WEIGHTS: tuple[float, ...] = (1.0,)
L2_GRID = (1e-3, 3e-4, 1e-4, 3e-5, 1e-5)  # the correction's L2 strengths tried, strongest first (warm starts)
MIN_CLASS = 5  # a head is corrected when the deployer's training rows hold this many positives and negatives for it
GUARDED = {"prompt_injection": ("prompt_injection",), "jailbreak": ("jailbreak",),
           "harmful_request": ("harmful_request",), "toxicity": TOXIC}


class AdaptError(GuardrailsError):
    """Bad input to ``adapt`` (data, base detector, features file)."""


@dataclass(frozen=True)
class Settings:
    """What ``adapt`` does; the defaults are the CLI's."""

    target_fpr: float = 0.02
    holdout: float = 0.2
    validation: float = 0.2
    seed: int = 0
    margin: float = 0.05
    allow_regression: bool = False
    epochs: int = 4
    weights: tuple[float, ...] = DEFAULT_WEIGHTS
    correct: bool = True  # train the hashed n-gram correction
    l2_grid: tuple[float, ...] = L2_GRID
    iters: int = 150
    l2: float = 1e-3  # pull toward the shipped weights (per parameter, per example)
    lr: float = 1e-3
    batch: int = 512


@dataclass
class Figures:
    """Before/after figures on one set of rows at one model's thresholds."""

    auprc: float
    recall: float
    fpr: float
    short_fpr: float
    n_unsafe: int
    n_safe: int
    n_short: int

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class Outcome:
    """The result of one ``adapt`` run (``refused``: the guard stopped it; nothing was written)."""

    weight: float
    plan: Plan
    before: Figures
    after: Figures
    guard_before: dict[str, float]
    guard_after: dict[str, float]
    regressions: list[str]
    refused: bool
    counts: dict[str, int]
    candidates: list[dict[str, float]] = field(default_factory=list)
    out: Path | None = None
    correction: dict[str, Any] = field(default_factory=dict)


# -- the deployer's rows -----------------------------------------------------------------------------


def read_labelled(paths: Sequence[str | Path]) -> list[Row]:
    """The deployer's labelled rows (the eval format: ``text`` or ``messages``, ``label``, ``category``?,
    ``stage``?, ``prompt``?) as training rows; every bad line is reported, with its file:line."""
    rows: list[Row] = []
    problems: list[str] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise AdaptError(f"{path}: labelled data file not found")
        for ex in read_file(path, problems):
            try:
                if ex.label is None:
                    raise ValueError("label: missing (expected \"safe\" or \"unsafe\")")
                text = ex.text if ex.messages is None else _messages_text(ex.messages)
                rows.append(_row(text, ex.unsafe, ex.category, ex.stage, ex.prompt))
            except ValueError as exc:
                problems.append(f"{ex.where}: {exc}")
    raise_problems(problems)
    if not rows:
        raise AdaptError("no labelled rows in " + ", ".join(map(str, paths)))
    return rows


def _messages_text(messages: Sequence[dict[str, Any]]) -> str:
    """The text the built-in filter scores joined: the user and tool turns (``messages`` as parse_line read them)."""
    parts = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise ValueError("messages: expected {role, content} objects with string content")
        if m.get("role", "user") in ("user", "tool"):
            parts.append(m["content"])
    return "\n".join(parts)


def _row(text: str, unsafe: bool, category: str | None, stage: Stage | None, prompt: str | None) -> Row:
    """A deployer's row in the training pipeline's categories (what each says to the heads)."""
    group = hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:16]
    if stage is Stage.OUTPUT:
        return Row(text, "harmful_response" if unsafe else "benign_response", DEPLOYER, group, prompt=prompt)
    if not unsafe:
        return Row(text, "benign", DEPLOYER, group)
    if category in ("jailbreak", "prompt_injection", "harmful_request", "toxic", "hate"):
        return Row(text, category, DEPLOYER, group, "hate" if category == "hate" else None)
    if category == "toxicity":
        return Row(text, "toxic", DEPLOYER, group)
    if category in HAZARDS or category == "copyright":
        return Row(text, "harmful_request", DEPLOYER, group, "intellectual_property" if category == "copyright" else category)
    return Row(text, "harmful_request", DEPLOYER, group)  # "unsafe" with no known category: the umbrella head


def split_rows(rows: Sequence[Row], s: Settings) -> dict[str, list[Row]]:
    """train / val / holdout by a seeded hash of each row's normalised text (a repeated text stays on one side)."""
    out: dict[str, list[Row]] = {"train": [], "val": [], "holdout": []}
    for r in rows:
        h = int(hashlib.sha256(f"{s.seed}:{r.group}".encode()).hexdigest()[:8], 16) / 16**8
        out["holdout" if h < s.holdout else "val" if h < s.holdout + s.validation else "train"].append(r)
    return out


# -- training the top ------------------------------------------------------------------------------


def fit_top(det: Detector, ex: Examples, s: Settings, progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Retrain ``P, b1, W2, b2`` from ``det``'s values on ``ex``: Adam, masked and weighted binary
    cross-entropy with the script's partial class balancing, an L2 pull toward the starting weights.
    Deterministic for one seed (float64, fixed batch order)."""
    nl, k = len(det.linear_heads), len(det.heads)
    start = {"P": det.P, "b1": det.b1, "W2": det.W2, "b2": det.b2}
    theta = {n: v.astype(np.float64).copy() for n, v in start.items()}
    m = {n: np.zeros_like(v) for n, v in theta.items()}
    v2 = {n: np.zeros_like(v) for n, v in theta.items()}
    g = ex.g.astype(np.float64)
    emb, fixed = g[:, nl + k:], g[:, nl:nl + k]
    lin_z = det.b.astype(np.float64) + g[:, :nl]
    known = (ex.labels >= 0).astype(np.float64)
    y = (ex.labels == 1).astype(np.float64)
    w = ex.weight.astype(np.float64)
    pos_w = np.array([((w * known[:, j] * (1 - y[:, j])).sum() / max((w * known[:, j] * y[:, j]).sum(), 1e-9)) ** 0.5
                      for j in range(k)])
    rng = np.random.default_rng(s.seed)
    n = len(ex)
    steps_per_epoch = (n + s.batch - 1) // s.batch
    total = s.epochs * steps_per_epoch
    b1c, b2c, eps = 0.9, 0.999, 1e-8
    step = 0
    li = det.linear_index
    for _ in range(s.epochs):
        order = rng.permutation(n)
        for lo in range(0, n, s.batch):
            bi = order[lo:lo + s.batch]
            pre = emb[bi] @ theta["P"] + theta["b1"]
            hid = np.maximum(pre, 0.0)
            z = hid @ theta["W2"] + theta["b2"] + fixed[bi]
            z[:, li] = 0.5 * (z[:, li] + lin_z[bi])
            mask = known[bi] * w[bi][:, None]
            denom = mask.sum()
            if denom == 0:
                continue
            p = 1.0 / (1.0 + np.exp(-z))
            yb = y[bi]
            # d/dz of pos_w * y * -log p + (1 - y) * -log(1 - p)
            dz = (p * (pos_w * yb + (1 - yb)) - pos_w * yb) * mask / denom
            dz[:, li] *= 0.5
            grads = {"W2": hid.T @ dz, "b2": dz.sum(axis=0)}
            dh = (dz @ theta["W2"].T) * (pre > 0)
            grads["P"] = emb[bi].T @ dh
            grads["b1"] = dh.sum(axis=0)
            step += 1
            lr = s.lr * (1 - (step - 1) / total)
            for name in TRAINABLE:
                gr = grads[name] + s.l2 * (theta[name] - start[name])
                m[name] = b1c * m[name] + (1 - b1c) * gr
                v2[name] = b2c * v2[name] + (1 - b2c) * gr * gr
                mh = m[name] / (1 - b1c ** step)
                vh = v2[name] / (1 - b2c ** step)
                theta[name] -= lr * mh / (np.sqrt(vh) + eps)
            if progress is not None:
                progress(step, total)
    return {name: theta[name].astype(np.float32) for name in TRAINABLE}


def with_top(det: Detector, top: dict[str, np.ndarray], meta: dict[str, Any] | None = None) -> Detector:
    """A copy of ``det`` with new top layers (and meta)."""
    arrays = dict(det.arrays, **top)
    return Detector(dict(det.meta if meta is None else meta), arrays)


def load_base(base: str | Path) -> tuple[Detector, Path]:
    """The detector to adapt: ``default`` (the shipped one) or a detector folder."""
    folder = DEFAULT_DIR if str(base) == "default" else Path(base)
    missing = [f for f in ("meta.json", "weights.npz", "mlp.npz", "embedding.npz") if not (folder / f).is_file()]
    if missing:
        raise AdaptError(f"--base {base}: not a detector folder with a network part (missing {', '.join(missing)})")
    arrays: dict[str, np.ndarray] = {}
    for name in ("weights.npz", "mlp.npz", "embedding.npz"):
        with np.load(folder / name, allow_pickle=False) as npz:
            arrays.update({k: npz[k] for k in npz.files})
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    # An adapted folder's correction is not carried over: adapt trains a new one on the rows it is given.
    meta.pop("correction", None)
    return Detector(meta, arrays), folder


# -- the correction --------------------------------------------------------------------------------


def _stage_rows(s: Scored) -> dict[str, np.ndarray]:
    """Which rows of ``s`` each stage's correction moves: prompts (not those kept only for an answer), answers."""
    answer = np.array([r.is_answer for r in s.rows], bool)
    return {"input": ~answer & s.counted, "output": answer}


def shift_matrix(c: corr.Correction | None, s: Scored) -> np.ndarray | None:
    """The correction's logit shift of each row of ``s`` (rows x HEADS; 0 where it moves nothing)."""
    if c is None:
        return None
    assert s.x is not None
    z = c.shift(s.x)
    out = np.zeros((len(s.rows), len(HEADS)))
    masks = _stage_rows(s)
    for j, (stage, heads) in enumerate(c.stages.items()):
        cols = np.array([HEADS.index(h) for h in heads], np.intp)
        out[np.ix_(masks[stage], cols)] = z[masks[stage], j][:, None]
    return out


def margins(rows: Sequence[Row], scores: np.ndarray, plan: Plan) -> np.ndarray:
    """Per row, ``max_h(logit(p_h) - logit(t_h))`` over the heads its stage enforces: >= 0 is flagged."""
    def logit(p: np.ndarray | float) -> np.ndarray:
        q = np.clip(p, 1e-6, 1 - 1e-6)
        out: np.ndarray = np.log(q / (1 - q))
        return out
    out = np.full(len(rows), -np.inf)
    answers = np.array([r.is_answer for r in rows], bool)
    for stage, mask in (("input", ~answers), ("output", answers)):
        for h, t in getattr(plan, stage).items():
            out[mask] = np.maximum(out[mask], logit(scores[mask, HEADS.index(h)]) - logit(t))
    return out


Judge = Callable[[corr.Correction | None], tuple[Plan, float, dict[str, float], list[str]]]


def fit_correction(det: Detector, train: Scored, plan: Plan, s: Settings, judge: Judge,
                   log: Callable[[str], None]) -> tuple[corr.Correction | None, dict[str, Any]]:
    """The hashed n-gram correction over ``det`` (docs/adapt.md). Per stage whose training rows hold ``MIN_CLASS``
    safe and unsafe rows: one shift, on the heads that stage enforces which the deployer's unsafe rows speak to
    (``MIN_CLASS`` of them labelled 1 there; the other heads keep guarding what the deployer did not label),
    trained with those heads' decision margin under ``plan`` as offset. Each L2 strength is judged like the
    final detector (thresholds chosen again, the regression guard); kept: the best validation AUPRC among those
    the guard accepts, if it beats no correction."""
    assert train.x is not None
    counted = train.counted
    rows = [r for r, k in zip(train.rows, counted) if k]
    labels = train.labels[counted]
    unsafe = np.array([not is_safe(r) for r in rows], bool)
    stages: dict[str, np.ndarray] = {}
    heads: dict[str, list[str]] = {}
    for stage, mask in _stage_rows(train).items():
        m = mask[counted]
        said = [h for h in getattr(plan, stage) if (labels[m & unsafe, HEADS.index(h)] == 1).sum() >= MIN_CLASS]
        if (unsafe & m).sum() >= MIN_CLASS and (~unsafe & m).sum() >= MIN_CLASS and said:
            stages[stage], heads[stage] = m, said
    if not stages:
        log(f"  correction: no stage has {MIN_CLASS} unsafe and {MIN_CLASS} safe training rows; none trained")
        return None, {}
    scores = row_scores(det, train)[counted]
    known = np.stack(list(stages.values()), axis=1).astype(np.float64)
    y = np.repeat(unsafe[:, None], len(stages), axis=1).astype(np.float64)
    off = np.stack([margins(rows, scores, Plan(**{st: {h: t for h, t in getattr(plan, st).items() if h in heads.get(st, ())}
                                                       for st in ("input", "output")})) for _ in stages], axis=1)
    off[~np.isfinite(off)] = 0.0
    x = train.x.take(counted)
    idf = corr.idf_of(x)
    _, base, _, base_regress = judge(None)
    best: tuple[tuple[float, float], float, corr.Correction | None] = ((0.0 if base_regress else 1.0, base), 0.0, None)
    tried = []
    start = None
    for l2 in s.l2_grid:
        W, b = corr.fit(x, off, y, known, idf, l2, start, s.iters)
        start = (W, b)
        c = corr.Correction(heads, idf, W, b)
        _, auprc, _, regress = judge(c)
        tried.append({"l2": l2, "val_auprc": round(auprc, 4), "guard_regressions": len(regress)})
        log(f"  correction ({'; '.join(f'{st}: {len(heads[st])} heads' for st in stages)}), L2 {l2:g}: validation AUPRC "
            f"{auprc:.3f} (without: {base:.3f})" + (f" (REGRESSION: {'; '.join(regress)})" if regress else ""))
        key = (0.0 if regress else 1.0, auprc)
        if key > best[0]:
            best = (key, l2, c)
    info = {"stages": {st: heads[st] for st in stages}, "l2": best[1], "val_auprc": round(best[0][1], 4),
            "val_auprc_without": round(base, 4), "tried": tried}
    if best[2] is None:
        log("  correction: none beats the detector alone on validation (or passes the guard); none kept")
    return best[2], info


def with_correction(det: Detector, c: corr.Correction, info: dict[str, Any]) -> Detector:
    """A copy of ``det`` that applies ``c``."""
    arrays = {k: v for k, v in det.arrays.items() if not k.startswith("corr_")}
    arrays.update(c.arrays())
    if det.mlp:
        arrays.update({n: getattr(det, n) for n in TRAINABLE})
    return Detector(dict(det.meta, correction=c.meta(l2=info["l2"])), arrays)


def corr_missing(features: Path) -> Path:
    from guardrails.detector.frozen import ngrams_path
    return ngrams_path(features)


# -- figures ----------------------------------------------------------------------------------------


def figures(rows: list[Row], scores: np.ndarray, plan: Plan) -> Figures:
    """AUPRC (of the policy score), recall and FPR at the plan's thresholds, FPR on short safe texts."""
    flags = plan.flags(rows, scores)
    unsafe = np.array([not is_safe(r) for r in rows], bool)
    short = ~unsafe & np.array([r.chars < SHORT and not r.is_answer for r in rows], bool)
    ps = policy_score(rows, scores, plan)

    def rate(m: np.ndarray) -> float:
        return float(flags[m].mean()) if m.any() else float("nan")

    return Figures(average_precision(unsafe, ps), rate(unsafe), rate(~unsafe), rate(short),
                   int(unsafe.sum()), int((~unsafe).sum()), int(short.sum()))


def guard_figures(rows: list[Row], scores: np.ndarray, plan: Plan) -> dict[str, float]:
    """Recall per kind of attack on the never-trained-on rows, and their safe rows' FPR."""
    flags = plan.flags(rows, scores)
    cats = np.array([r.category for r in rows])
    out = {kind: float(flags[np.isin(cats, c)].mean()) for kind, c in GUARDED.items() if np.isin(cats, c).any()}
    safe = np.array([is_safe(r) for r in rows], bool)
    out["safe_fpr"] = float(flags[safe].mean()) if safe.any() else float("nan")
    return out


def _counted(s: Scored, scores: np.ndarray) -> tuple[list[Row], np.ndarray]:
    keep = s.counted
    return [r for r, k in zip(s.rows, keep) if k], scores[keep]


def shipped_plan(det: Detector) -> Plan:
    thr = det.meta.get("thresholds", {})
    return Plan(dict(thr.get("input", {})), dict(thr.get("output", {})))


# -- the run ---------------------------------------------------------------------------------------


def _progress(label: str) -> Callable[[int, int], None]:
    """A progress bar on stderr (tqdm when installed, else one rewritten line)."""
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:
        last = [-1]

        def line(done: int, total: int) -> None:
            pct = int(100 * done / max(total, 1))
            if pct != last[0]:
                last[0] = pct
                sys.stderr.write(f"\r{label}: {pct:3d}% ({done}/{total})" + ("\n" if done >= total else ""))
                sys.stderr.flush()
        return line
    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, file=sys.stderr, leave=True, mininterval=0.5))
        bar[0].update(done - bar[0].n)
        if done >= total:
            bar[0].close()
    return update


def adapt(data: Sequence[str | Path], out: str | Path, *, base: str | Path = "default", features: str | Path | None = None,
          settings: Settings = Settings(), log: Callable[[str], None] = print, progress: bool = True) -> Outcome:
    """Run ``guardrails adapt``; write the detector folder, its model card and a policy into ``out``
    unless the regression guard refuses (``Outcome.refused``; nothing written)."""
    t0 = time.perf_counter()
    feature_path = Path(features) if features else FEATURES
    if not feature_path.is_file():
        raise AdaptError(f"{feature_path}: the shipped training features are missing (pass --features PATH; "
                         "scripts/train_builtin.py --adapt-data-only writes them)")
    det, base_dir = load_base(base)
    rows = read_labelled(data)
    parts = split_rows(rows, settings)
    for name in ("train", "val", "holdout"):
        kinds = {is_safe(r) for r in parts[name]}
        if kinds != {True, False}:
            raise AdaptError(f"the deployer's {name} part needs safe and unsafe rows (has {len(parts[name])} rows); "
                             "label more rows of both kinds")
    shipped_ex, shipped, manifest = load_sets(feature_path)
    log(f"adapt: {len(rows)} labelled rows ({len(parts['train'])} train / {len(parts['val'])} validation / "
        f"{len(parts['holdout'])} hold-out), {len(shipped_ex)} shipped training units from {feature_path.name}")

    cache: dict[str, list[Unit]] = {}

    def units_of(text: str) -> list[Unit]:
        found = cache.get(text)
        if found is None:
            found = cache[text] = units(text)
        return found

    bar = _progress("features") if progress else None
    total = len(rows)
    done = [0]

    def tick(_: int) -> None:
        done[0] += 1
        if bar is not None:
            bar(done[0], total)

    # Only the training rows' units are read twice (scored, then as training examples): cache those alone.
    dep_train = scored_of(det, parts["train"], units_of if settings.weights else units, tick)
    dep_val = scored_of(det, parts["val"], units, tick)
    dep_hold = scored_of(det, parts["holdout"], units, tick)
    val_all = Scored.concat([shipped["val"], dep_val])
    val_rows_all = [r for r, k in zip(val_all.rows, val_all.counted) if k]
    deployer_safe = np.array([r.source == DEPLOYER and is_safe(r) and not r.is_answer for r in val_rows_all], bool)
    dep_mask = np.array([r.source == DEPLOYER for r in val_rows_all], bool)
    dep_rows = [r for r, d in zip(val_rows_all, dep_mask) if d]
    guard = shipped["guard"]
    if settings.correct and (guard.x is None or val_all.x is None):
        raise AdaptError(f"{corr_missing(feature_path)}: the shipped rows' hashed n-grams are missing "
                         "(scripts/train_builtin.py --adapt-ngrams-only writes them)")

    before_plan = shipped_plan(det)
    hold_rows, hold_before = _counted(dep_hold, row_scores(det, dep_hold))
    before = figures(hold_rows, hold_before, before_plan)
    guard_rows, guard_scores = _counted(guard, row_scores(det, guard))
    guard_before = guard_figures(guard_rows, guard_scores, before_plan)

    def judge(cand: Detector, c: corr.Correction | None) -> tuple[Plan, float, dict[str, float], list[str]]:
        """Thresholds chosen on validation (the deployer's safe rows at the target FPR), the deployer's validation
        AUPRC, the guard's figures and its regressions."""
        _, val_scores = _counted(val_all, row_scores(cand, val_all, shift_matrix(c, val_all)))
        plan = choose_thresholds(val_rows_all, val_scores, extra_bounds=[(deployer_safe, settings.target_fpr)])
        val_auprc = figures(dep_rows, val_scores[dep_mask], plan).auprc
        g_after = guard_figures(guard_rows, row_scores(cand, guard, shift_matrix(c, guard))[guard.counted], plan)
        regress = [f"{kind}: {guard_before[kind]:.3f} -> {g_after[kind]:.3f}" for kind in GUARDED
                   if kind in guard_before and g_after[kind] < guard_before[kind] - settings.margin]
        return plan, val_auprc, g_after, regress

    weight, chosen = 0.0, det
    candidates = []
    if settings.weights:
        train_examples = build_examples(parts["train"], units_of, {(DEPLOYER, c): 1.0 for c in {r.category for r in parts["train"]}})
        dep_ex = examples_of(det, [(e.unit, e.labels, e.weight) for e in train_examples])
        del train_examples
        cache.clear()
        best: tuple[tuple[float, float], float, Detector] | None = None
        for w in settings.weights:
            ex = Examples.concat([shipped_ex, Examples(dep_ex.g, dep_ex.labels, dep_ex.weight * w)])
            top = fit_top(det, ex, settings, _progress(f"train (deployer weight {w:g})") if progress else None)
            cand = with_top(det, top)
            meta = dict(det.meta, calibration=calibration(row_logits(cand, val_all)[val_all.counted],
                                                          [_labels_of(val_all, int(i)) for i in np.flatnonzero(val_all.counted)]))
            cand = with_top(det, top, meta)
            _, val_auprc, g_after, regress = judge(cand, None)
            candidates.append({"weight": w, "val_auprc": round(val_auprc, 4), "guard_regressions": len(regress)})
            log(f"  top layers, deployer weight {w:g}: validation AUPRC {val_auprc:.3f}, guard "
                + ", ".join(f"{k} {v:.3f}" for k, v in g_after.items()) + (f" (REGRESSION: {'; '.join(regress)})" if regress else ""))
            # Prefer candidates the guard accepts; among those, the best validation AUPRC (ties: the lower weight).
            key = (0.0 if regress else 1.0, val_auprc)
            if best is None or key > best[0]:
                best = (key, w, cand)
        assert best is not None
        _, weight, chosen = best
    correction, info = fit_correction(chosen, dep_train, before_plan, settings, lambda c: judge(chosen, c), log) \
        if settings.correct else (None, {})
    plan, _, guard_after, regressions = judge(chosen, correction)
    if correction is not None:
        chosen = with_correction(chosen, correction, info)
    after = figures(hold_rows, row_scores(chosen, dep_hold, shift_matrix(correction, dep_hold))[dep_hold.counted], plan)
    counts = {"rows": len(rows), "train": len(parts["train"]), "val": len(parts["val"]), "holdout": len(parts["holdout"]),
              "shipped_units": len(shipped_ex)}
    outcome = Outcome(weight, plan, before, after, guard_before, guard_after, regressions, False, counts, candidates,
                      correction=info)
    log(report_text(outcome, settings))
    if regressions and not settings.allow_regression:
        outcome.refused = True
        log(f"adapt: REFUSED: on the never-trained-on attack sets recall drops by more than {settings.margin:g} "
            f"({'; '.join(regressions)}). Check the labels (attacks labelled safe?); --allow-regression writes it anyway.")
        return outcome
    if regressions:
        print(f"WARNING: guardrails adapt: --allow-regression: writing a detector that catches fewer attacks on the "
              f"never-trained-on sets ({'; '.join(regressions)}); the model card records it", file=sys.stderr)
    out_dir = Path(out)
    hashes = {"data": {str(p): _sha256(Path(p)) for p in data}, "features": _sha256(feature_path),
              "base": {p.name: _sha256(p) for p in sorted(base_dir.glob("*.npz"))}}
    write_detector(chosen, plan, out_dir, outcome, settings, hashes, manifest)
    outcome.out = out_dir
    log(f"adapt: wrote {out_dir} (detector, MODEL_CARD.md, policy.yaml) in {time.perf_counter() - t0:.1f} s")
    return outcome


def _labels_of(s: Scored, i: int) -> dict[str, int | None]:
    return {h: None if v < 0 else int(v) for h, v in zip(HEADS, s.labels[i])}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def report_text(o: Outcome, s: Settings) -> str:
    """The before/after table printed by ``adapt`` and written into the model card."""
    lines = [f"deployer's hold-out ({o.before.n_unsafe} unsafe, {o.before.n_safe} safe, {o.before.n_short} short safe):",
             "| | AUPRC | recall | FPR | FPR on short texts (< 25 chars) |", "|---|---|---|---|---|"]
    for name, f in (("before (shipped)", o.before), ("after (adapted)", o.after)):
        lines.append(f"| {name} | {f.auprc:.3f} | {f.recall:.3f} | {f.fpr:.3f} | {f.short_fpr:.3f} |")
    lines += ["", f"never-trained-on attack sets (guard: recall may drop by at most {s.margin:g}):",
              "| | " + " | ".join(o.guard_before) + " |", "|---|" + "---|" * len(o.guard_before)]
    for name, g in (("before", o.guard_before), ("after", o.guard_after)):
        lines.append(f"| {name} | " + " | ".join(f"{g.get(k, float('nan')):.3f}" for k in o.guard_before) + " |")
    return "\n".join(lines)


def _categories(thresholds: dict[str, float]) -> dict[str, Any]:
    return {c: ({"threshold": t, "action": "respond"} if c == "self_harm" else t) for c, t in thresholds.items()}


def write_detector(det: Detector, plan: Plan, out: Path, o: Outcome, s: Settings, hashes: dict[str, Any],
                   manifest: dict[str, Any]) -> None:
    """The detector folder (the shipped formats: JSON + npz), ``MODEL_CARD.md`` and ``policy.yaml``."""
    if out.exists() and any(out.iterdir()) and not (out / "meta.json").is_file():
        raise AdaptError(f"{out}: exists and is not a detector folder; choose an empty or new folder")
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    meta = dict(det.meta, thresholds={"input": plan.input, "output": plan.output})
    meta["adapted"] = {"base": hashes["base"], "features": hashes["features"], "data": hashes["data"],
                       "deployer_weight": o.weight, "seed": s.seed, "target_fpr": s.target_fpr, "margin": s.margin,
                       "allow_regression": bool(o.regressions), "regressions": o.regressions,
                       "before": o.before.to_dict(), "after": o.after.to_dict(),
                       "guard_before": {k: round(v, 4) for k, v in o.guard_before.items()},
                       "guard_after": {k: round(v, 4) for k, v in o.guard_after.items()}, "counts": o.counts,
                       "correction": o.correction}
    arrays = dict(det.arrays)
    arrays.update({n: getattr(det, n) for n in TRAINABLE})
    save(meta, arrays, tmp)
    if det.correction is not None:
        write_npz(tmp / "correction.npz", det.correction.arrays())
    (tmp / "MODEL_CARD.md").write_text(model_card(o, s, hashes, manifest), encoding="utf-8")
    policy = {"version": 1, "name": "adapted", "extends": "default",
              "description": "The default policy with the built-in detector adapted to this deployment's traffic "
                             "(guardrails adapt).",
              "input": [{"filter": "builtin", "model": ".", "categories": _categories(plan.input)}],
              "output": [{"filter": "builtin", "model": ".", "categories": _categories(plan.output)}]}
    (tmp / "policy.yaml").write_text("# Written by guardrails adapt: the default policy with this folder's detector (`model: .`)\n"
                                     "# and the thresholds chosen for it.\n"
                                     + json.dumps(policy, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def model_card(o: Outcome, s: Settings, hashes: dict[str, Any], manifest: dict[str, Any]) -> str:
    data = "\n".join(f"- `{p}` sha256 `{h}`" for p, h in hashes["data"].items())
    base = "\n".join(f"- `{p}` sha256 `{h}`" for p, h in hashes["base"].items())
    licences = "\n".join(f"- {src}: {lic}" for src, lic in sorted(manifest.get("licences", {}).items()))
    warn = ("\n**Written with --allow-regression**: recall on the never-trained-on attack sets dropped by more than "
            f"{s.margin:g}: {'; '.join(o.regressions)}.\n" if o.regressions else "")
    c = o.correction
    parts = []
    if o.candidates:
        tried = ", ".join(f"{x['weight']:g}" for x in o.candidates)
        parts.append(f"the shipped detector's top layers (P, b1, W2, b2) retrained on its own training features plus the "
                     f"deployer's rows (deployer weight {o.weight:g}, chosen on validation from "
                     f"{tried}) and recalibrated")
    if c.get("l2"):
        stages = "; ".join(f"{st}: {', '.join(h)}" for st, h in c["stages"].items())
        parts.append(f"a correction over hashed n-grams of the deployer's rows ({stages}) "
                     f"(L2 {c['l2']:g}, validation AUPRC {c['val_auprc_without']:.3f} -> {c['val_auprc']:.3f})")
    what = "; ".join(parts) or "the shipped detector (no correction beat it on validation)"
    return f"""# Adapted built-in detector

Written by `guardrails adapt`: {what}, thresholds chosen again (target FPR on the deployer's safe validation
rows: {s.target_fpr:g}). Seed {s.seed}.
{warn}
## Figures

{report_text(o, s)}

## Trained on

Deployer data ({o.counts['rows']} rows: {o.counts['train']} train, {o.counts['val']} validation, {o.counts['holdout']} hold-out):
{data}

Shipped training features: sha256 `{hashes['features']}` ({o.counts['shipped_units']} units), sources and licences:
{licences}

Base detector:
{base}
"""
