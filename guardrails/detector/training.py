"""The built-in detector's training pipeline, shared by ``scripts/train_builtin.py`` (the shipped
model) and ``guardrails adapt`` (a deployer's retrained copy): what a labelled row says to each
head, training examples and their weights, per-head calibration, threshold choice and the files of
a detector folder. numpy only; the script adds the parts that need scikit-learn and torch.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from guardrails.detector.features import Unit
from guardrails.detector.model import CORE_HEADS
from guardrails.taxonomy import HAZARDS

SEED = 0
HEADS: tuple[str, ...] = CORE_HEADS + HAZARDS
# Heads that also get a logistic model (averaged with the network's logit); the others are the
# network's alone (a logistic head costs ~30 s of training each, and the network carries the rest).
LINEAR_HEADS = ("prompt_injection", "jailbreak", "harmful_request", "toxicity")
ATTACKS = ("prompt_injection", "jailbreak", "harmful_request")
# Data categories of safe input texts; EDGY: safe texts written to look unsafe.
BENIGN = ("benign", "benign_roleplay", "benign_chat_turn", "document", "doc_task", "chat_turn", "roleplay", "everyday",
          "code_request", "pasted", "env_doc")
EDGY = ("benign_edgy",)
TOXIC = ("toxic", "hate", "toxicity")
# Answers (output stage): a text with its prompt.
RESPONSE_UNSAFE = ("harmful_response", "harmful_response_context")
RESPONSE_SAFE = ("benign_response", "refusal")
RESPONSES = RESPONSE_UNSAFE + RESPONSE_SAFE
# Sources that are never trained on: non-commercial licences, and model answers whose providers'
# terms we did not clear. They choose thresholds (validation half) and are reported (test half).
EVAL_ONLY = ("toxicchat", "alpaca_eval", "jbb_responses", "xstest_completions")
# Real traffic: reported per length band; their benign validation rows bound the thresholds.
REAL_TRAFFIC = ("toxicchat", "arena_hard", "alpaca_eval", "multiwoz")
HANDWRITTEN_WEIGHT = 4.0
SHORT = 25

@dataclass
class Row:
    text: str
    category: str  # data category (harmful_request, toxic, benign, harmful_response, ...)
    source: str
    group: str
    hazard: str | None = None  # hazard category (guardrails.taxonomy.HAZARDS) when known
    attack_text: str | None = None
    lang: str | None = None
    prompt: str | None = None  # answers only: the request that produced them
    meta: dict[str, Any] = field(default_factory=dict)
    length: int | None = None  # the text's length where the text itself is not kept (shipped features)

    @property
    def chars(self) -> int:
        return len(self.text) if self.length is None else self.length

    @property
    def is_answer(self) -> bool:
        return self.category in RESPONSES


@dataclass
class Example:
    unit: Unit
    labels: dict[str, int | None]  # head -> 1 / 0 / None (the row says nothing about that head)
    weight: float


def row_labels(r: Row) -> dict[str, int | None]:
    """What one row says about each head (None: nothing)."""
    cat, hz = r.category, r.hazard
    out: dict[str, int | None] = {h: 0 for h in HEADS}

    def hazards(value: int | None) -> None:
        for h in HAZARDS:
            out[h] = value
        if hz is not None:
            for h in HAZARDS:
                out[h] = 1 if h == hz else 0

    if cat in BENIGN or cat in EDGY or cat in ("benign_response",):
        return out
    if cat == "refusal":
        out["refusal"] = 1
        return out
    if cat == "harmful_request":
        out.update(jailbreak=None, harmful_request=1, harmful_response=None)
        hazards(None)
    elif cat == "jailbreak":
        out.update(jailbreak=1, prompt_injection=None, harmful_request=None, toxicity=None, harmful_response=None)
        hazards(None)
    elif cat == "prompt_injection":
        out.update(prompt_injection=1, jailbreak=None, harmful_response=None)
        hazards(None)
    elif cat in TOXIC:
        out.update(toxicity=1, harmful_response=None)
        if r.meta.get("topic") == "sexual":  # sexual harassment: say nothing to the sex categories
            hazards(0)
            out.update(sex_crimes=None, sexual_content=None, child_exploitation=None)
        else:
            hazards(0)
    elif cat == "harmful_content":  # statements, not requests: suicidal intent, hate, threats, sexting
        out.update(harmful_request=None, toxicity=1 if hz in ("hate", "violent_crimes") else None if hz == "sexual_content" else 0,
                   harmful_response=1 if hz in ("hate", "violent_crimes", "sexual_content") else None)
        hazards(None)
    elif cat == "harmful_response":
        out.update({h: None for h in ("prompt_injection", "jailbreak", "harmful_request", "toxicity")}, harmful_response=1)
        hazards(None)
    elif cat == "harmful_response_context":  # the answer alone is not enough to tell
        out = {h: None for h in HEADS}
        out["refusal"] = 0
    else:
        raise ValueError(f"no labels for data category {cat!r}")
    return out


def source_weights(rows: list[Row], handwritten_weight: float = HANDWRITTEN_WEIGHT) -> dict[tuple[str, str], float]:
    """Down-weight big sources so that no single source dominates a head."""
    counts = Counter((r.source, r.category) for r in rows)
    out = {}
    for key, n in counts.items():
        w = min(1.0, 400.0 / n)
        if key[0] == "handwritten":
            w = handwritten_weight
        elif key[0] in ("synth_doc", "synth_pair"):
            w = 1.5
        out[key] = w
    return out


_UNITS: dict[str, list[Unit]] = {}


def build_examples(rows: list[Row], units_of: Callable[[str], list[Unit]], weights: dict[tuple[str, str], float] | None = None) -> list[Example]:
    """One example per whole text, plus its segments where they say something of their own (a benign
    text's segments are benign; an injected document's instruction segment is the injection)."""
    weights = source_weights(rows) if weights is None else weights
    out = []
    neg = {h: 0 for h in HEADS}
    for r in rows:
        if r.source == "synth_pair":
            continue  # only for the response model
        w = weights[(r.source, r.category)]
        us = units_of(r.text)
        labels = row_labels(r)
        segs = [u for u in us[1:] if u.kind == "segment"]
        if r.category == "prompt_injection" and r.attack_text and segs:
            # Only the segment holding the smuggled instruction is the injection: labelling the whole
            # document positive would teach "email means injection".
            labels = dict(labels, prompt_injection=None)
        out.append(Example(us[0], labels, w))
        if r.category in BENIGN or r.category in EDGY or r.category == "benign_response":
            for u in segs:
                out.append(Example(u, dict(neg), w * 0.5))
        elif r.category == "prompt_injection" and r.attack_text:
            a0 = r.text.find(r.attack_text)
            a1 = a0 + len(r.attack_text)
            for u in segs:
                overlap = max(0, min(u.end, a1) - max(u.start, a0))
                if a0 >= 0 and overlap >= 0.5 * len(r.attack_text):
                    out.append(Example(u, row_labels(Row(r.attack_text, "prompt_injection", "", "")), w))
                elif a0 >= 0 and overlap == 0:
                    out.append(Example(u, dict(neg), w * 0.5))
    return out


def balanced(y: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """Sample weights with the positives up-weighted by the square root of the class ratio."""
    pos, neg = sw[y == 1].sum(), sw[y == 0].sum()
    out: np.ndarray = np.where(y == 1, sw * (neg / max(pos, 1e-9)) ** 0.5, sw)  # partial class balancing
    return out


MLP_KEYS: tuple[str, ...] = ("Es", "Ec", "P", "b1", "W2", "b2", "L", "Ls", "Lc")  # mlp.npz; E (the embedding) in embedding.npz

def save(meta: dict[str, Any], arrays: dict[str, np.ndarray], out_dir: Path) -> None:
    """meta.json, weights.npz (logistic heads) and, when trained, the network half: mlp.npz and
    embedding.npz (apart so that no file is over 5 MB). Byte-identical for identical inputs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, separators=(",", ":"))
    write_npz(out_dir / "weights.npz", {k: v for k, v in arrays.items() if k in ("W", "Wc", "b")})
    for name, keys in (("mlp.npz", MLP_KEYS), ("embedding.npz", ("E",))):
        part = {k: v for k, v in arrays.items() if k in keys}
        if part:
            write_npz(out_dir / name, part)
        elif (out_dir / name).exists():
            (out_dir / name).unlink()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` without the wall-clock time in the zip entries (same arrays, same bytes);
    read with ``np.load(path, allow_pickle=False)``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, buf.getvalue())


def is_safe(r: Row) -> bool:
    """A row labelled safe (benign, edgy-but-safe, a benign answer or a refusal)."""
    return r.category in BENIGN or r.category in EDGY or r.category in RESPONSE_SAFE


@dataclass
class Plan:
    """Which heads block at each stage, with their thresholds."""

    input: dict[str, float]
    output: dict[str, float]

    def flags(self, rows: list[Row], scores: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows), bool)
        answers = np.array([r.is_answer for r in rows])
        for stage, mask in (("input", ~answers), ("output", answers)):
            for h, t in getattr(self, stage).items():
                out |= mask & (scores[:, HEADS.index(h)] >= t)
        return out


# Heads the default policy enforces at each stage. The other hazard heads (few training rows: their
# thresholds chosen on a few dozen validation rows flagged random short turns on test) are covered by
# harmful_request / harmful_response, and stay available to policies that name them.
ENFORCED_HAZARDS = ("self_harm", "sexual_content", "sex_crimes", "child_exploitation", "hate", "violent_crimes",
                    "indiscriminate_weapons")
INPUT_HEADS = ("prompt_injection", "jailbreak", "harmful_request", "toxicity", *ENFORCED_HAZARDS)
OUTPUT_HEADS = ("harmful_response", "toxicity", *ENFORCED_HAZARDS)
LOOK_AHEAD = 10
GRID = [0.999, 0.998, 0.995] + [round(x, 3) for x in np.concatenate([np.arange(0.99, 0.5, -0.01), np.arange(0.5, 0.29, -0.02)])]


def choose_thresholds(rows: list[Row], scores: np.ndarray, *, real_target: float = 0.012, short_target: float = 0.005,
                      doc_target: float = 0.008, fpr_target: float = 0.025, edgy_target: float = 0.10,
                      source_cap: float = 0.05, answer_target: float = 0.015,
                      extra_bounds: Sequence[tuple[np.ndarray, float]] = ()) -> Plan:
    """Thresholds from validation, greedily: at each step lower the one head (one grid step) that
    catches the most new unsafe rows per new false positive, while every bound holds: benign real
    traffic (user prompts of a public demo, arena and dialogue turns), short texts (< 25
    characters), pasted documents and code, all other benign rows (Davidson's noisy "neither"
    tweets excluded), edgy-but-safe prompts, each benign source (>= 40 rows), and benign answers
    (refusals included) for the output heads, also per source. Every bound allows at least two false
    positives (a bound of one row in 200 would stop every head at its first mistake). ``extra_bounds``:
    more (row mask, highest flagged fraction) pairs, e.g. a deployer's safe rows at a target FPR."""
    cats = np.array([r.category for r in rows])
    srcs = np.array([r.source for r in rows])
    answers = np.array([r.is_answer for r in rows])
    lengths = np.array([r.chars for r in rows])
    benign = np.isin(cats, BENIGN) & ~answers
    pooled = benign & (srcs != "davidson_hso")
    short = pooled & (lengths < SHORT)
    real = pooled & np.isin(srcs, REAL_TRAFFIC) & ~short
    docs = pooled & np.isin(cats, ("pasted", "env_doc", "document"))
    edgy = np.isin(cats, EDGY)
    # jbb_responses' labels come from an automated judge, and about one in seven of its "safe" answers are attack-target
    # openings ("Sure, here is a design for a mail scam ...") that the judge calls safe because the text
    # degenerates after them: reported, but not a bound on the thresholds.
    safe_answers = answers & np.isin(cats, RESPONSE_SAFE) & (srcs != "jbb_responses")
    unsafe = np.array([not is_safe(r) for r in rows])
    groups = [m for m in ((srcs == s) & pooled for s in sorted(set(srcs[pooled]))) if m.sum() >= 40]
    groups += [m for m in ((srcs == s) & safe_answers for s in sorted(set(srcs[safe_answers]))) if m.sum() >= 40]
    plan = Plan({h: GRID[0] for h in INPUT_HEADS}, {h: GRID[0] for h in OUTPUT_HEADS})
    cols = {h: scores[:, HEADS.index(h)] for h in HEADS}
    stage_mask = {"input": ~answers, "output": answers}

    def flags_of(p: Plan) -> np.ndarray:
        out = np.zeros(len(rows), bool)
        for stage in ("input", "output"):
            for h, t in getattr(p, stage).items():
                out |= stage_mask[stage] & (cols[h] >= t)
        return out

    # Each real-traffic source on its own: a pooled bound lets the dialogue turns (which are almost never
    # flagged) pay for the demo prompts.
    reals = [(real & (srcs == s), real_target) for s in REAL_TRAFFIC if (real & (srcs == s)).sum() >= 40]
    bounds = [*reals, (short, short_target), (docs, doc_target), (pooled, fpr_target), (edgy, edgy_target),
              (safe_answers, answer_target), *((g, source_cap) for g in groups), *extra_bounds]
    # Every bound allows two false positives: on a few hundred rows, a rate that one row breaks is noise.
    bounds = [(m, max(t, 2.5 / m.sum())) for m, t in bounds if m.any()]

    # Bound masks as one matrix: a bound's flagged fraction is a row of one matrix-vector product.
    masks = np.array([m for m, _ in bounds], np.float64).reshape(len(bounds), len(rows))
    sizes = masks.sum(axis=1)
    targets = np.array([t for _, t in bounds])

    def rates(f: np.ndarray) -> np.ndarray:
        out: np.ndarray = (masks @ f.astype(np.float64)) / sizes
        return out

    def ok(f: np.ndarray, limits: np.ndarray) -> bool:
        # Each bound holds, or (when the highest thresholds already break it: label noise) gets no worse.
        return bool(np.all(rates(f) <= limits))

    current = flags_of(plan)
    while True:
        limits = np.maximum(targets, rates(current))
        best: tuple[float, str, str, float, np.ndarray] | None = None
        for stage in ("input", "output"):
            for h, t in getattr(plan, stage).items():
                i = GRID.index(t)
                # Look a few steps ahead: one step that costs a false positive can hide many catches behind it.
                for j in range(i + 1, min(i + 1 + LOOK_AHEAD, len(GRID))):
                    f = current | (stage_mask[stage] & (cols[h] >= GRID[j]))  # lowering only adds flags
                    if not ok(f, limits):
                        break
                    more = int((f & unsafe).sum() - (current & unsafe).sum())
                    cost = int((f & ~unsafe).sum() - (current & ~unsafe).sum())
                    if more <= 0 and cost > 0:
                        continue
                    gain = more / (1 + cost)
                    if best is None or gain > best[0]:
                        best = (gain, stage, h, GRID[j], f)
        if best is None:
            break
        _, stage, h, t, current = best
        getattr(plan, stage)[h] = t
    return plan


def policy_score(rows: list[Row], scores: np.ndarray, plan: Plan) -> np.ndarray:
    """One score per row for ranking figures: the enforced head closest to (or furthest past) its
    threshold, mapped so that 0.5 is the threshold."""
    out = np.zeros(len(rows))
    for i, r in enumerate(rows):
        heads = plan.output if r.is_answer else plan.input
        out[i] = max(_ratio(float(scores[i, HEADS.index(h)]), t) for h, t in heads.items())
    return out


def _ratio(p: float, t: float) -> float:
    # Piecewise-linear map sending t to 0.5, monotone in p.
    return 0.5 * p / t if p < t else 0.5 + 0.5 * (p - t) / max(1 - t, 1e-9)


def recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float) -> float:
    """Recall at the highest threshold that flags at most ``fpr`` of the negatives (``y``: bool)."""
    neg = np.sort(s[~y])[::-1]
    if not len(neg) or not y.any():
        return float("nan")
    k = int(math.floor(fpr * len(neg)))
    thr = neg[k] if k < len(neg) else -np.inf
    return float((s[y] > thr).mean())




def average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Area under the precision-recall curve as a step sum over distinct thresholds (the same figure as
    scikit-learn's ``average_precision_score``); NaN without positives."""
    y = np.asarray(y, bool)
    if not y.any():
        return float("nan")
    order = np.argsort(-np.asarray(s, np.float64), kind="mergesort")
    s_sorted, y_sorted = np.asarray(s, np.float64)[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]  # the last index of each distinct score
    tp = np.cumsum(y_sorted)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def fit_platt(x: np.ndarray, y: np.ndarray, c_value: float = 100.0, iterations: int = 50) -> tuple[float, float]:
    """``(a, c)`` of ``p = sigmoid(a * x + c)`` by Newton's method on the L2-penalised log loss
    ``C * sum(loss) + a^2 / 2`` (the intercept unpenalised: scikit-learn's LogisticRegression objective)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    a, c = 0.0, 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(a * x + c)))
        r = p - y
        g = np.array([c_value * np.dot(r, x) + a, c_value * r.sum()])
        w = p * (1 - p)
        h = np.array([[c_value * np.dot(w, x * x) + 1.0, c_value * np.dot(w, x)],
                      [c_value * np.dot(w, x), c_value * w.sum() + 1e-12]])
        step = np.linalg.solve(h, g)
        a, c = a - float(step[0]), c - float(step[1])
        if np.abs(step).max() < 1e-10:
            break
    return a, c


def calibration(logits: np.ndarray, labels: list[dict[str, int | None]], min_each: int = 10) -> dict[str, list[float]]:
    """Per head, ``[a, c]`` of ``a * logit + c`` fitted (Platt scaling) on the rows that say something
    about that head (``logits``: rows x HEADS, each row's largest unit logit). The network's raw logits are
    far too confident (a two-word turn can reach 0.999), and thresholds need a scale on which 0.9 and 0.99
    mean different things; classes keep their mix, so a score reads as the chance that such a text is unsafe."""
    out = {}
    for k, h in enumerate(HEADS):
        known = [(i, v) for i, lab in enumerate(labels) if (v := lab[h]) is not None]
        y = np.array([v for _, v in known])
        if y.sum() < min_each or (1 - y).sum() < min_each:
            continue
        a, c = fit_platt(logits[[i for i, _ in known], k], y)
        out[h] = [round(a, 5), round(c, 5)]
    return out
