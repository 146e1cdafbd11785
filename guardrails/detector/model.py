"""The shipped detector: loads the weights (JSON + npz, no pickle) and scores text."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from guardrails.detector.correction import Correction, buckets_of
from guardrails.detector.features import Unit, units

WINDOW = 4000
WINDOW_OVERLAP = 400
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "builtin"
# Heads every shipped model has; hazard-category heads (guardrails.taxonomy.HAZARDS) come after them.
CORE_HEADS = ("prompt_injection", "jailbreak", "harmful_request", "toxicity", "harmful_response", "refusal")


@dataclass(frozen=True)
class Detection:
    """Probabilities in [0, 1] per head, the ``[start, end)`` source span that scored highest, and
    the structural cues of the whole text (see features.py; the response model reads some)."""

    scores: dict[str, float]
    spans: dict[str, tuple[int, int]]
    cues: frozenset[str] = frozenset()
    # The whole text's hashed n-grams, when the detector has a deployer's correction (``Detector.corrected``).
    ngrams: np.ndarray | None = field(default=None, compare=False, repr=False)


class Detector:
    """Multi-label scores over n-gram and cue features (see features.py).

    Two models share the features: logistic heads (``weights.npz``) and a small network (``mlp.npz``:
    an int8 feature embedding, one ReLU layer, plus its own linear part). A head's logit is the mean
    of the two; without ``mlp.npz`` the logistic heads alone. Heads: the attack and language heads,
    ``harmful_request`` and ``harmful_response`` (any hazard), ``refusal`` (an answer that declines:
    used by the response score) and one per hazard category.

    An answer is scored with its prompt (``score_response``): a small logistic model, stored in
    ``meta.json``, combines the answer's own harmful-response logit with how harmful the prompt was
    and whether the answer refuses, so "Sure, here you go: ..." after a harmful request counts as
    harmful and the same words after a cooking question do not.
    """

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.meta = meta
        self.arrays = arrays  # as loaded (guardrails adapt writes them back with new top layers)
        self.heads: tuple[str, ...] = tuple(meta["heads"])
        self.vocab: dict[str, int] = {f: i for i, f in enumerate(meta["features"])}
        self.cue_index: dict[str, int] = {c: i for i, c in enumerate(meta["cues"])}
        # Logistic heads (weights.npz) exist for some heads only; their logit is averaged with the
        # network's. Without the network (no mlp.npz) only those heads score; the others stay at
        # their network bias, i.e. near 0.
        self.linear_heads: tuple[str, ...] = tuple(meta["linear_heads"])
        self.linear_index = np.array([self.heads.index(h) for h in self.linear_heads], np.intp)
        self.b = arrays["b"].astype(np.float32)
        self.mlp = "E" in arrays
        self.stacker: dict[str, Any] | None = meta.get("response_stacker")
        # A text's n-gram weights are scaled by 1/sqrt(max(n, min_bag)): two words cannot carry the
        # evidence of a paragraph. Per-head calibration (a * logit + c, fitted on validation rows).
        self.min_bag = int(meta.get("min_bag", 1))
        cal = meta.get("calibration", {})
        self.cal_a = np.array([cal.get(h, [1.0, 0.0])[0] for h in self.heads], np.float32)
        self.cal_c = np.array([cal.get(h, [1.0, 0.0])[1] for h in self.heads], np.float32)
        # One gather per text: the logistic weights, the network's linear part and its embedding
        # side by side (int8 rows times their scale in the files: 4x smaller than float32).
        blocks, cue_blocks = [arrays["W"].astype(np.float32)], [arrays["Wc"].astype(np.float32)]
        if self.mlp:
            blocks += [arrays["L"].astype(np.float32) * arrays["Ls"].astype(np.float32),
                       arrays["E"].astype(np.float32) * arrays["Es"].astype(np.float32)[:, None]]
            cue_blocks += [arrays["Lc"].astype(np.float32), arrays["Ec"].astype(np.float32)]
            self.P = arrays["P"].astype(np.float32)
            self.b1 = arrays["b1"].astype(np.float32)
            self.W2 = arrays["W2"].astype(np.float32)
            self.b2 = arrays["b2"].astype(np.float32)
        self.G = np.hstack(blocks)
        self.Gc = np.hstack(cue_blocks)
        # A deployer's correction (guardrails adapt): a logit shift per head from the text's hashed n-grams.
        self.correction: Correction | None = (Correction.from_arrays(meta["correction"], arrays)
                                              if "correction" in meta and "corr_idf" in arrays else None)

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_DIR) -> "Detector":
        """Load ``meta.json``, ``weights.npz`` and (if present) the network: ``mlp.npz`` and
        ``embedding.npz``; the shipped model by default."""
        directory = Path(directory)
        with open(directory / "meta.json", encoding="utf-8") as fh:
            meta = json.load(fh)
        files = [directory / "weights.npz"] + [p for p in (directory / "mlp.npz", directory / "embedding.npz") if p.exists()]
        if "correction" in meta:
            files.append(directory / "correction.npz")
        arrays: dict[str, np.ndarray] = {}
        for path in files:
            with np.load(path, allow_pickle=False) as npz:
                arrays.update({k: npz[k] for k in npz.files})
        return cls(meta, arrays)

    def _rows(self, unit: Unit, known: dict[str, int] | None = None) -> tuple[list[int], list[int], float]:
        get = (known if known is not None else self.vocab).get
        idx = [i for i in map(get, unit.bag) if i is not None]
        cget = self.cue_index.get
        cidx = [i for i in map(cget, unit.cues) if i is not None]
        scale = 1.0 / math.sqrt(max(len(unit.bag), self.min_bag)) if unit.bag else 0.0
        return idx, cidx, scale

    def _gather(self, rows: list[tuple[list[int], list[int], float]]) -> np.ndarray:
        g = _per_unit(self.G, [r[0] for r in rows], [r[2] for r in rows])
        g += _per_unit(self.Gc, [r[1] for r in rows], [1.0] * len(rows))
        return g

    def _logits(self, rows: list[tuple[list[int], list[int], float]]) -> np.ndarray:
        """Per-head logits of several units at once, shape (units, heads)."""
        return self.head_logits(self._gather(rows))

    def head_logits(self, g: np.ndarray) -> np.ndarray:
        """Per-head logits of units whose gathered inputs are ``g`` (see ``unit_inputs``): the part of the
        model above the feature lookups, which ``guardrails adapt`` retrains."""
        nl, k = len(self.linear_heads), len(self.heads)
        z = self.b + g[:, :nl]
        if not self.mlp:
            out = np.full((len(g), k), -10.0, np.float32)
            out[:, self.linear_index] = z
            return out
        hidden = np.maximum(g[:, nl + k:] @ self.P + self.b1, 0.0)
        zm: np.ndarray = hidden @ self.W2 + self.b2 + g[:, nl:nl + k]
        zm[:, self.linear_index] = 0.5 * (zm[:, self.linear_index] + z)
        return zm

    def calibrated(self, z: np.ndarray) -> np.ndarray:
        """Probabilities of logits ``z`` (units x heads) after each head's calibration."""
        out: np.ndarray = 1.0 / (1.0 + np.exp(-(z * self.cal_a + self.cal_c)))
        return out

    def logits(self, unit: Unit) -> np.ndarray:
        """Per-head logits of one unit."""
        out: np.ndarray = self._logits([self._rows(unit)])[0]
        return out

    def unit_logits(self, parts: list[Unit]) -> np.ndarray:
        """Uncalibrated logits of each unit, shape (units, heads)."""
        return self.head_logits(self.unit_inputs(parts))

    def unit_inputs(self, parts: list[Unit]) -> np.ndarray:
        """The summed feature rows of each unit, shape (units, linear heads + heads + embedding width):
        the logistic heads' sums (bias not added), the network's linear part, its embedding."""
        # Segments are subsets of the whole text's bag: look features up once in the big vocabulary,
        # then in the small dict of the text's known features.
        get = self.vocab.get
        known = {f: i for f in parts[0].bag if (i := get(f)) is not None}
        whole = parts[0]
        cget = self.cue_index.get
        scale = 1.0 / math.sqrt(max(len(whole.bag), self.min_bag)) if whole.bag else 0.0
        rows = [(list(known.values()), [i for i in map(cget, whole.cues) if i is not None], scale)] + [
            self._rows(u, known if u.kind == "segment" else None) for u in parts[1:]
        ]
        return self._gather(rows)

    def score_units(self, parts: Iterable[Unit]) -> Detection:
        """Max over units of each head's probability; the arg-max unit gives the span."""
        parts = list(parts)
        probs = self.calibrated(self.unit_logits(parts))
        best = probs.argmax(axis=0)
        scores = {h: float(probs[best[k], k]) for k, h in enumerate(self.heads)}
        spans = {h: (parts[best[k]].start, parts[best[k]].end) for k, h in enumerate(self.heads)}
        ngrams = None if self.correction is None else buckets_of(parts[0].bag)
        return Detection(scores, spans, frozenset(parts[0].cues), ngrams)

    def score(self, text: str) -> Detection:
        """Score one text (whole, each segment, decoded payloads); long texts in overlapping windows.

        A window is at most WINDOW characters: the whole-text unit of a very long benign document
        would otherwise add up cues from unrelated passages.
        """
        if len(text) <= WINDOW:
            return self.score_units(units(text))
        best: Detection | None = None
        for start, end in _windows(text):
            d = self.score_units(units(text[start:end]))
            shifted = {c: (a + start, b + start) for c, (a, b) in d.spans.items()}
            if best is None:
                best = Detection(dict(d.scores), shifted, d.cues, d.ngrams)  # the opening window's cues (and n-grams)
                continue
            for c, v in d.scores.items():
                if v > best.scores[c]:
                    best.scores[c] = v
                    best.spans[c] = shifted[c]
        assert best is not None
        return best

    def response_score(self, answer: Detection, prompt: Detection | None) -> float:
        """Probability that ``answer`` carries out a harmful request, given its prompt's scores
        (None: no prompt known; the model was trained with and without one)."""
        if self.stacker is None or prompt is None:
            # Without its prompt, an answer is judged by its own words (the answer head), not by a model
            # that was mostly shown answers with prompts.
            return answer.scores.get("harmful_response", 0.0)
        x = response_features(answer, prompt)
        z = float(np.dot(self.stacker["coef"], [x[name] for name in self.stacker["features"]]) + self.stacker["intercept"])
        return 1.0 / (1.0 + math.exp(-z))

    def corrected(self, scores: dict[str, float], text: Detection, stage: str) -> dict[str, float]:
        """``scores`` (one stage's, of ``text``; the response model's ``harmful_response`` at the output stage)
        moved by the deployer's correction for that stage, if the detector has one (``guardrails adapt``)."""
        if self.correction is None or text.ngrams is None:
            return scores
        shift = self.correction.shift_of(text.ngrams, stage)
        if not shift:
            return scores
        return {h: (_shifted(v, shift[h]) if h in shift else v) for h, v in scores.items()}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _shifted(p: float, shift: float) -> float:
    return 1.0 / (1.0 + math.exp(-(_logit(p) + shift)))


def _clip(z: float) -> float:
    return min(max(z, -4.0), 6.0)


def response_features(answer: Detection, prompt: Detection | None) -> dict[str, float]:
    """Inputs of the response model: the answer's harmful-response and refusal logits, whether it
    opens by declining or by complying (multilingual cue phrases), the prompt's strongest attack or
    harm logit (0 and has_prompt = 0 when there is no prompt), and their products."""
    # Logits are clipped to [-4, 6] (a probability of 0.018 to 0.9975): beyond that a head is sure either
    # way, and unclipped saturated logits would pile every confident answer up at a score of 1.0.
    a = _clip(_logit(answer.scores.get("harmful_response", 0.0)))
    refusal = answer.scores.get("refusal", 0.0)
    declines = float("declines@start" in answer.cues)
    complies = float("complies@start" in answer.cues)
    if prompt is None:
        p, has = 0.0, 0.0
    else:
        p = _clip(max(_logit(prompt.scores.get(h, 0.0)) for h in ("harmful_request", "jailbreak", "prompt_injection")))
        has = 1.0
    goes_on = (1.0 - refusal) * (1.0 - declines)
    return {"answer": a, "refusal": _clip(_logit(refusal)), "declines": declines, "complies": complies, "prompt": p,
            "has_prompt": has, "prompt_x_goes_on": p * goes_on * has, "prompt_x_complies": p * complies * has,
            "answer_x_goes_on": a * goes_on}


def _per_unit(table: np.ndarray, indices: list[list[int]], weights: list[float]) -> np.ndarray:
    """Row i: ``weights[i]`` times the sum of ``table``'s rows ``indices[i]``; one gather and one
    segmented sum for all units (per-unit numpy calls would cost more than the arithmetic)."""
    lens = np.fromiter(map(len, indices), np.intp, len(indices))
    out = np.zeros((len(indices), table.shape[1]), np.float32)
    n = int(lens.sum())
    if n == 0:
        return out
    flat = np.fromiter(itertools.chain.from_iterable(indices), np.intp, n)
    # Sum each unit's rows in index order: a set's iteration order changes with Python's string hashing
    # from process to process, and float32 sums in another order differ in the last bits.
    rows = len(table)
    flat = np.sort(np.repeat(np.arange(len(indices), dtype=np.intp), lens) * rows + flat) % rows
    starts = np.concatenate(([0], np.cumsum(lens)[:-1]))
    nonempty = lens > 0
    sums = np.add.reduceat(np.take(table, flat, axis=0), starts[nonempty], axis=0)
    out[nonempty] = sums * np.asarray(weights, np.float32)[nonempty, None]
    return out


def _windows(text: str) -> list[tuple[int, int]]:
    """Overlapping ``[start, end)`` windows of at most WINDOW characters, cut at whitespace."""
    out = []
    start = 0
    n = len(text)
    while True:
        end = min(n, start + WINDOW)
        if end < n:
            cut = max(text.rfind("\n", start + WINDOW // 2, end), text.rfind(" ", start + WINDOW // 2, end))
            end = cut + 1 if cut > start else end
        out.append((start, end))
        if end >= n:
            return out
        start = max(end - WINDOW_OVERLAP, start + 1)
