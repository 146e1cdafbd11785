"""The shipped linear detector: loads the weights (JSON + npz, no pickle) and scores text."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from guardrails.detector.features import Unit, units

WINDOW = 4000
# The hazard topic is only worked out when a harmful request is at least this likely.
HAZARD_FLOOR = 0.2
WINDOW_OVERLAP = 400
CATEGORIES = ("prompt_injection", "jailbreak", "harmful_request", "toxicity")
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "builtin"


@dataclass(frozen=True)
class Detection:
    """Scores in [0, 1] per category, the source span that scored highest, and the hazard topic."""

    scores: dict[str, float]
    spans: dict[str, tuple[int, int]]
    hazard: str | None
    hazard_score: float


class Detector:
    """Multi-label scores over n-gram and cue features (see features.py).

    Two models share the features: logistic heads (``weights.npz``, also the hazard topic) and a
    small network (``mlp.npz``: an int8 feature embedding, one ReLU layer, plus its own linear
    part). A category's logit is the mean of the two; without ``mlp.npz`` the logistic heads alone.
    """

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.meta = meta
        self.categories: tuple[str, ...] = tuple(meta["categories"])
        self.hazards: tuple[str, ...] = tuple(meta["hazards"])
        self.vocab: dict[str, int] = {f: i for i, f in enumerate(meta["features"])}
        self.cue_index: dict[str, int] = {c: i for i, c in enumerate(meta["cues"])}
        self.W = arrays["W"].astype(np.float32)
        self.Wc = arrays["Wc"].astype(np.float32)
        self.b = arrays["b"].astype(np.float32)
        self.Wh = arrays["Wh"].astype(np.float32)
        self.Whc = arrays["Whc"].astype(np.float32)
        self.bh = arrays["bh"].astype(np.float32)
        self.mlp = "E" in arrays
        # One gather per text: the logistic weights, the network's linear part and its embedding
        # (int8 rows times their scale, stored 4x smaller than float32) side by side.
        if self.mlp:
            self.G = np.hstack([self.W, arrays["L"].astype(np.float32),
                                arrays["E"].astype(np.float32) * arrays["Es"].astype(np.float32)[:, None]])
            self.Gc = np.hstack([self.Wc, arrays["Lc"].astype(np.float32), arrays["Ec"].astype(np.float32)])
            self.P = arrays["P"].astype(np.float32)
            self.b1 = arrays["b1"].astype(np.float32)
            self.W2 = arrays["W2"].astype(np.float32)
            self.b2 = arrays["b2"].astype(np.float32)
        else:
            self.G, self.Gc = self.W, self.Wc

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_DIR) -> "Detector":
        """Load ``meta.json``, ``weights.npz`` and (if present) ``mlp.npz``; the shipped model by default."""
        directory = Path(directory)
        with open(directory / "meta.json", encoding="utf-8") as fh:
            meta = json.load(fh)
        files = [directory / "weights.npz"] + [p for p in [directory / "mlp.npz"] if p.exists()]
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
        scale = 1.0 / math.sqrt(len(unit.bag)) if unit.bag else 0.0
        return idx, cidx, scale

    def _logits(self, rows: list[tuple[list[int], list[int], float]]) -> np.ndarray:
        """Per-category logits of several units at once, shape (units, categories)."""
        g = _per_unit(self.G, [r[0] for r in rows], [r[2] for r in rows])
        g += _per_unit(self.Gc, [r[1] for r in rows], [1.0] * len(rows))
        k = len(self.categories)
        z: np.ndarray = self.b + g[:, :k]
        if not self.mlp:
            return z
        hidden = np.maximum(g[:, 2 * k:] @ self.P + self.b1, 0.0)
        zm = hidden @ self.W2 + self.b2 + g[:, k:2 * k]
        out: np.ndarray = 0.5 * (z + zm)
        return out

    def logits(self, unit: Unit) -> np.ndarray:
        """Per-category logits of one unit."""
        out: np.ndarray = self._logits([self._rows(unit)])[0]
        return out

    def _hazard_probs(self, rows: tuple[list[int], list[int], float]) -> np.ndarray:
        idx, cidx, scale = rows
        z = self.bh.copy()
        if idx:
            z += self.Wh[idx].sum(axis=0) * scale
        if cidx:
            z += self.Whc[cidx].sum(axis=0)
        e: np.ndarray = np.exp(z - z.max())
        out: np.ndarray = e / e.sum()
        return out

    def score_units(self, parts: Iterable[Unit]) -> Detection:
        """Max over units of each category's probability; the arg-max unit gives the span."""
        parts = list(parts)
        # Segments are subsets of the whole text's bag: look features up once in the big vocabulary,
        # then in the small dict of the text's known features.
        vocab = self.vocab
        get = vocab.get
        known = {f: i for f in parts[0].bag if (i := get(f)) is not None}
        rows = [self._rows(parts[0], known)] + [
            self._rows(u, known if u.kind == "segment" else None) for u in parts[1:]
        ]
        z = self._logits(rows)
        probs = 1.0 / (1.0 + np.exp(-z))
        best = probs.argmax(axis=0)
        scores = {c: float(probs[best[k], k]) for k, c in enumerate(self.categories)}
        spans = {c: (parts[best[k]].start, parts[best[k]].end) for k, c in enumerate(self.categories)}
        hazard, hazard_score = None, 0.0
        k = self.categories.index("harmful_request")
        if self.hazards and scores["harmful_request"] >= HAZARD_FLOOR:
            hp = self._hazard_probs(rows[best[k]])
            h = int(hp.argmax())
            hazard, hazard_score = self.hazards[h], float(hp[h])
        return Detection(scores, spans, hazard, hazard_score)

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
                best = Detection(dict(d.scores), shifted, d.hazard, d.hazard_score)
                continue
            hazard, hazard_score = best.hazard, best.hazard_score
            for c, v in d.scores.items():
                if v > best.scores[c]:
                    best.scores[c] = v
                    best.spans[c] = shifted[c]
                    if c == "harmful_request":
                        hazard, hazard_score = d.hazard, d.hazard_score
            best = Detection(best.scores, best.spans, hazard, hazard_score)
        assert best is not None
        return best


def _per_unit(table: np.ndarray, indices: list[list[int]], weights: list[float]) -> np.ndarray:
    """Row i: ``weights[i]`` times the sum of ``table``'s rows ``indices[i]``; one gather and one
    matrix product for all units (per-unit numpy calls would cost more than the arithmetic)."""
    lens = [len(ix) for ix in indices]
    n = sum(lens)
    if n == 0:
        return np.zeros((len(indices), table.shape[1]), np.float32)
    flat = np.fromiter(itertools.chain.from_iterable(indices), np.intp, n)
    assign = np.zeros((len(indices), n), np.float32)
    assign[np.repeat(np.arange(len(indices)), lens), np.arange(n)] = np.repeat(np.array(weights, np.float32), lens)
    out: np.ndarray = assign @ np.take(table, flat, axis=0)
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
