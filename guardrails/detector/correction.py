"""A deployer's correction: a sparse linear model over hashed n-grams, added to head logits.

``guardrails adapt`` cannot teach the shipped feature tables new words (they stay frozen: their
vocabulary was fixed when the default detector was trained). The correction can: a logistic
regression over the whole text's word unigrams and bigrams (from the unit bag of ``features.py``)
hashed into ``BUCKETS`` buckets with a stable hash (``zlib.crc32``, not
Python's salted ``hash()``), weighted by IDF of the deployer's training rows and L2-normalised,
trained with the detector's logit as an offset:

    logit'(head) = logit(head) + x . W[:, stage] + bias[stage]

for every head the stage enforces (see ``Correction``). A detector folder holds it as
``correction.npz`` (``corr_idf``, ``corr_W``, ``corr_bias``) with the hashing spec in ``meta.json["correction"]``;
the shipped default has none. numpy only: a tiny CSR matrix and L-BFGS.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

BUCKETS = 1 << 18
# Word unigrams and bigrams (and character bigrams of unspaced scripts) of the whole text's bag: the words a
# deployment's users say. Character n-grams would be 9x more ids per row for the shipped rows' n-grams.
KINDS = ("w:", "b:", "c2:")
SPEC = {"hash": "crc32", "buckets": BUCKETS, "features": "w: b: c2: features of the whole text's unit bag (features.bag_features)",
        "weighting": "idf, l2-normalised"}


def buckets_of(bag: Iterable[str]) -> np.ndarray:
    """The sorted distinct buckets of a bag of n-gram features (stable across processes and machines)."""
    crc = zlib.crc32
    ids = np.fromiter((crc(f.encode("utf-8")) & (BUCKETS - 1) for f in bag if f.startswith(KINDS)), np.int64)
    return np.unique(ids).astype(np.int32)


@dataclass
class Sparse:
    """Rows of bucket ids (CSR without values: every present bucket counts once)."""

    indptr: np.ndarray
    indices: np.ndarray

    @staticmethod
    def of(rows: Sequence[np.ndarray]) -> "Sparse":
        lens = np.fromiter(map(len, rows), np.int64, len(rows))
        indptr = np.concatenate(([0], np.cumsum(lens)))
        indices = np.concatenate(rows).astype(np.int32) if rows else np.zeros(0, np.int32)
        return Sparse(indptr, indices)

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @staticmethod
    def concat(parts: Sequence["Sparse"]) -> "Sparse":
        offsets = np.cumsum([0] + [int(p.indptr[-1]) for p in parts])
        return Sparse(np.concatenate([[0]] + [p.indptr[1:] + o for p, o in zip(parts, offsets)]),
                      np.concatenate([p.indices for p in parts]) if parts else np.zeros(0, np.int32))

    @property
    def row_of(self) -> np.ndarray:
        return np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.indptr))

    def take(self, keep: np.ndarray) -> "Sparse":
        return Sparse.of([self.indices[self.indptr[i]:self.indptr[i + 1]] for i in np.flatnonzero(keep)])


class Correction:
    """Per stage (``input``, ``output``): one shift, added to the logit of every head that stage enforces.

    Trained against the stage's aggregate decision (any enforced head past its threshold): with the same
    shift on every head, ``max_h(logit_h + shift - logit(threshold_h)) = margin + shift`` exactly, so a
    logistic regression with the margin as offset learns the shift that the aggregate decision sees.
    ``idf`` over all buckets, ``W`` (buckets x stages), ``bias`` per stage."""

    def __init__(self, stages: Mapping[str, Sequence[str]], idf: np.ndarray, W: np.ndarray, bias: np.ndarray) -> None:
        self.stages = {st: tuple(heads) for st, heads in stages.items()}
        self.idf = idf.astype(np.float32)
        self.W = W.astype(np.float32)
        self.bias = bias.astype(np.float32)

    @classmethod
    def from_arrays(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> "Correction":
        spec = meta.get("spec", {})
        if spec.get("hash") != SPEC["hash"] or spec.get("buckets") != BUCKETS or spec.get("features") != SPEC["features"]:
            raise ValueError(f"correction: unknown hashing spec {spec} (this version reads {SPEC})")
        return cls(meta["stages"], arrays["corr_idf"], arrays["corr_W"], arrays["corr_bias"])

    def arrays(self) -> dict[str, np.ndarray]:
        return {"corr_idf": self.idf, "corr_W": self.W, "corr_bias": self.bias}

    def meta(self, **extra: Any) -> dict[str, Any]:
        return {"stages": {st: list(h) for st, h in self.stages.items()}, "spec": SPEC, **extra}

    def shift(self, x: Sparse) -> np.ndarray:
        """Logit shift of each row per stage (rows x stages, in ``stages`` order)."""
        out: np.ndarray = _matmul(x, self.idf, self.W) + self.bias
        return out

    def shift_of(self, ngrams: np.ndarray, stage: str) -> dict[str, float]:
        """The shift of each head ``stage`` enforces for one text (its ``buckets_of``); empty: none for that stage."""
        if stage not in self.stages:
            return {}
        z = float(self.shift(Sparse.of([ngrams]))[0, list(self.stages).index(stage)])
        return {h: z for h in self.stages[stage]}


def _values(x: Sparse, idf: np.ndarray) -> np.ndarray:
    """Per stored entry: its bucket's idf over the row's idf norm."""
    v = idf[x.indices].astype(np.float64)
    norms = np.sqrt(np.bincount(x.row_of, weights=v * v, minlength=len(x)))
    out: np.ndarray = v / np.maximum(norms, 1e-12)[x.row_of]
    return out


def _matmul(x: Sparse, idf: np.ndarray, W: np.ndarray) -> np.ndarray:
    v, rows = _values(x, idf), x.row_of
    return np.stack([np.bincount(rows, weights=v * W[x.indices, j], minlength=len(x)) for j in range(W.shape[1])], axis=1) \
        if W.shape[1] else np.zeros((len(x), 0))


def idf_of(x: Sparse) -> np.ndarray:
    """Smoothed IDF of every bucket over the rows of ``x`` (buckets never seen: the largest)."""
    df = np.bincount(x.indices, minlength=BUCKETS)
    out: np.ndarray = (np.log((1 + len(x)) / (1 + df)) + 1.0).astype(np.float32)
    return out


def fit(x: Sparse, offset: np.ndarray, y: np.ndarray, known: np.ndarray, idf: np.ndarray, l2: float,
        start: tuple[np.ndarray, np.ndarray] | None = None, iters: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the mean logistic loss of ``offset + x W + bias`` over rows where ``known`` (rows x heads),
    plus ``l2 / 2 * |W|^2`` (the bias is free): L-BFGS over the buckets the rows use. Returns (W, bias)
    over all buckets."""
    cols, inv = np.unique(x.indices, return_inverse=True)
    v, rows = _values(x, idf), x.row_of
    n, k = offset.shape
    m = max(float(known.sum()), 1.0)
    d = len(cols)

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[:d * k].reshape(d, k), theta[d * k:]

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = unpack(theta)
        z = offset + b + np.stack([np.bincount(rows, weights=v * W[inv, j], minlength=n) for j in range(k)], axis=1)
        # log(1 + e^z) - y z, stable
        loss = (np.logaddexp(0.0, z) - y * z) * known
        r = (1.0 / (1.0 + np.exp(-z)) - y) * known / m
        gW = np.stack([np.bincount(inv, weights=v * r[rows, j], minlength=d) for j in range(k)], axis=1) + l2 * W
        return float(loss.sum() / m + 0.5 * l2 * (W * W).sum()), np.concatenate([gW.ravel(), r.sum(axis=0)])

    theta0 = np.zeros(d * k + k)
    if start is not None:
        theta0[:d * k] = start[0][cols].ravel()
        theta0[d * k:] = start[1]
    theta = lbfgs(loss_grad, theta0, iters)
    W_c, b = unpack(theta)
    W = np.zeros((BUCKETS, k), np.float32)
    W[cols] = W_c
    return W, b.astype(np.float32)


def lbfgs(f: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray, iters: int, memory: int = 10,
          tol: float = 1e-6) -> np.ndarray:
    """Plain L-BFGS with a backtracking (Armijo) line search; deterministic."""
    fx, g = f(x)
    s_hist: list[np.ndarray] = []
    y_hist: list[np.ndarray] = []
    for _ in range(iters):
        if not math.isfinite(fx) or np.abs(g).max() < tol:
            break
        q = g.copy()
        alphas = []
        for s, yv in zip(reversed(s_hist), reversed(y_hist)):
            a = s @ q / (yv @ s)
            alphas.append(a)
            q -= a * yv
        if s_hist:
            q *= (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1])
        for (s, yv), a in zip(zip(s_hist, y_hist), reversed(alphas)):
            q += s * (a - yv @ q / (yv @ s))
        p = -q
        slope = g @ p
        if slope >= 0:
            p, slope = -g, -(g @ g)
            s_hist.clear()
            y_hist.clear()
        step = 1.0
        while True:
            xn = x + step * p
            fn, gn = f(xn)
            if fn <= fx + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, yv = xn - x, gn - g
        if s @ yv > 1e-12:
            s_hist.append(s)
            y_hist.append(yv)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
        if fx - fn < 1e-9 * max(1.0, abs(fx)):
            x, fx, g = xn, fn, gn
            break
        x, fx, g = xn, fn, gn
    return x


def shifted(probs: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Probabilities moved by logit shifts (same shape)."""
    p = np.clip(probs, 1e-6, 1 - 1e-6)  # as model._logit
    out: np.ndarray = 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift)))
    return out
