"""The shipped linear detector: loads the weights (JSON + npz, no pickle) and scores text."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from guardrails.detector.features import Unit, units

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
    """A multi-label logistic model over n-gram and cue features (see features.py)."""

    def __init__(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
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

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_DIR) -> "Detector":
        """Load ``meta.json`` and ``weights.npz`` from ``directory`` (the shipped model by default)."""
        directory = Path(directory)
        with open(directory / "meta.json", encoding="utf-8") as fh:
            meta = json.load(fh)
        with np.load(directory / "weights.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        return cls(meta, arrays)

    def _rows(self, unit: Unit) -> tuple[list[int], list[int], float]:
        get = self.vocab.get
        idx = [i for i in map(get, unit.bag) if i is not None]
        cget = self.cue_index.get
        cidx = [i for i in map(cget, unit.cues) if i is not None]
        scale = 1.0 / math.sqrt(len(unit.bag)) if unit.bag else 0.0
        return idx, cidx, scale

    def logits(self, unit: Unit) -> np.ndarray:
        """Per-category logits of one unit."""
        idx, cidx, scale = self._rows(unit)
        z = self.b.copy()
        if idx:
            z += self.W[idx].sum(axis=0) * scale
        if cidx:
            z += self.Wc[cidx].sum(axis=0)
        return z

    def hazard_probs(self, unit: Unit) -> np.ndarray:
        idx, cidx, scale = self._rows(unit)
        z = self.bh.copy()
        if idx:
            z += self.Wh[idx].sum(axis=0) * scale
        if cidx:
            z += self.Whc[cidx].sum(axis=0)
        z = np.exp(z - z.max())
        return z / z.sum()

    def score_units(self, parts: Iterable[Unit]) -> Detection:
        """Max over units of each category's probability; the arg-max unit gives the span."""
        parts = list(parts)
        z = np.stack([self.logits(u) for u in parts])
        probs = 1.0 / (1.0 + np.exp(-z))
        best = probs.argmax(axis=0)
        scores = {c: float(probs[best[k], k]) for k, c in enumerate(self.categories)}
        spans = {c: (parts[best[k]].start, parts[best[k]].end) for k, c in enumerate(self.categories)}
        hazard, hazard_score = None, 0.0
        if self.hazards:
            k = self.categories.index("harmful_request")
            hp = self.hazard_probs(parts[best[k]])
            h = int(hp.argmax())
            hazard, hazard_score = self.hazards[h], float(hp[h])
        return Detection(scores, spans, hazard, hazard_score)

    def score(self, text: str) -> Detection:
        """Score one text (whole, each segment, decoded payloads)."""
        return self.score_units(units(text))
