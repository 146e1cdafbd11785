"""Training data without its texts: per scoring unit, the inputs of the detector's trainable top.

``Detector.unit_inputs`` turns a unit into one vector: the logistic heads' and the network's linear
part's feature sums and the network's summed feature embedding. The feature tables (``E``, ``L``,
``W``) stay fixed when ``guardrails adapt`` retrains the layers above them, so a unit's vector is all
that training needs: no text, no n-gram. ``guardrails/data/adapt/`` ships such vectors of the built-in
detector's own training and validation rows (``scripts/train_builtin.py --adapt-data``).

Two kinds of sets:

- ``Examples``: training examples, one unit each, with per-head labels (1, 0, -1 = says nothing) and
  a weight (``training.build_examples``).
- ``Scored``: rows scored the way the runtime scores a text (every unit of it, the maximum per head),
  with what threshold choice and reports read (category, source, length, answer or prompt, the
  answer's opening cues, the prompt an answer responds to).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from guardrails.detector.correction import Sparse, buckets_of, shifted
from guardrails.detector.features import Unit
from guardrails.detector.model import Detection, Detector
from guardrails.detector.training import HEADS, Row, row_labels, write_npz

DECLINES, COMPLIES = 1, 2  # opening cues of an answer (bits of Scored.opening)


def label_matrix(labels: Sequence[dict[str, int | None]]) -> np.ndarray:
    """Per-head labels as int8 (1 unsafe, 0 safe, -1 nothing said), rows x HEADS."""
    return np.array([[-1 if lab[h] is None else int(lab[h] or 0) for h in HEADS] for lab in labels], np.int8).reshape(-1, len(HEADS))


@dataclass
class Examples:
    """Training examples: ``g`` (units x inputs), ``labels`` (units x HEADS, int8), ``weight``."""

    g: np.ndarray
    labels: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.weight)

    @staticmethod
    def concat(parts: Sequence["Examples"]) -> "Examples":
        return Examples(np.vstack([p.g for p in parts]), np.vstack([p.labels for p in parts]),
                        np.concatenate([p.weight for p in parts]))


@dataclass
class Scored:
    """Rows scored as the runtime scores texts: ``g`` holds every unit of every row, ``unit_row`` the row
    of each unit (sorted). ``rows`` carry category, source and length (no text); ``labels`` what each
    says per head; ``prompt`` the row index of an answer's prompt (-1: none); ``opening`` its cues."""

    g: np.ndarray
    unit_row: np.ndarray
    rows: list[Row]
    labels: np.ndarray
    prompt: np.ndarray
    opening: np.ndarray
    x: Sparse | None = None  # each row's hashed n-grams (the correction's input); None: not shipped

    def take(self, mask: np.ndarray) -> "Scored":
        """The rows in ``mask`` (with the prompts their answers point to kept and re-indexed)."""
        keep = mask.copy()
        keep[self.prompt[mask & (self.prompt >= 0)]] = True
        new_index = np.cumsum(keep) - 1
        units = keep[self.unit_row]
        prompt = np.where(self.prompt[keep] >= 0, new_index[np.maximum(self.prompt[keep], 0)], -1)
        return Scored(self.g[units], new_index[self.unit_row[units]], [r for r, k in zip(self.rows, keep) if k],
                      self.labels[keep], prompt, self.opening[keep], None if self.x is None else self.x.take(keep))

    @property
    def counted(self) -> np.ndarray:
        """Rows that count in figures (prompts kept only for their answers are not)."""
        return np.array([r.category != "prompt_only" for r in self.rows], bool)

    @staticmethod
    def concat(parts: Sequence["Scored"]) -> "Scored":
        offsets = np.cumsum([0] + [len(p.rows) for p in parts])
        return Scored(np.vstack([p.g for p in parts]), np.concatenate([p.unit_row + o for p, o in zip(parts, offsets)]),
                      [r for p in parts for r in p.rows], np.vstack([p.labels for p in parts]),
                      np.concatenate([np.where(p.prompt >= 0, p.prompt + o, -1) for p, o in zip(parts, offsets)]),
                      np.concatenate([p.opening for p in parts]),
                      None if any(p.x is None for p in parts) else Sparse.concat([p.x for p in parts if p.x is not None]))


def opening_bits(cues: frozenset[str] | set[str]) -> int:
    return (DECLINES if "declines@start" in cues else 0) | (COMPLIES if "complies@start" in cues else 0)


def examples_of(det: Detector, examples: Sequence[tuple[Unit, dict[str, int | None], float]]) -> Examples:
    """Inputs of training examples given as (unit, labels, weight)."""
    dim = det.G.shape[1]
    g = np.vstack([det.unit_inputs([u]) for u, _, _ in examples]) if examples else np.zeros((0, dim), np.float32)
    return Examples(g.astype(np.float32), label_matrix([lab for _, lab, _ in examples]),
                    np.array([w for _, _, w in examples], np.float32))


def scored_of(det: Detector, rows: Sequence[Row], units_of: Callable[[str], list[Unit]],
              progress: Callable[[int], None] | None = None) -> Scored:
    """Inputs of every unit of each row (answers' prompts added as ``prompt_only`` rows)."""
    out_rows: list[Row] = []
    blocks: list[np.ndarray] = []
    unit_row: list[np.ndarray] = []
    prompts: list[int] = []
    opening: list[int] = []
    labels: list[dict[str, int | None]] = []
    hashed: list[np.ndarray] = []

    def add(text: str, row: Row, lab: dict[str, int | None]) -> int:
        parts = units_of(text)
        blocks.append(det.unit_inputs(parts))
        hashed.append(buckets_of(parts[0].bag))
        unit_row.append(np.full(len(parts), len(out_rows), np.int32))
        out_rows.append(row)
        labels.append(lab)
        prompts.append(-1)
        opening.append(opening_bits(parts[0].cues))
        return len(out_rows) - 1

    for n, r in enumerate(rows):
        i = add(r.text, Row("", r.category, r.source, r.group, r.hazard, length=r.chars), row_labels(r))
        if r.is_answer and r.prompt:
            prompts[i] = add(r.prompt, Row("", "prompt_only", r.source, r.group, length=len(r.prompt)),
                             {h: None for h in HEADS})
        if progress is not None:
            progress(n + 1)
    dim = det.G.shape[1]
    return Scored(np.vstack(blocks).astype(np.float32) if blocks else np.zeros((0, dim), np.float32),
                  np.concatenate(unit_row) if unit_row else np.zeros(0, np.int32), out_rows,
                  label_matrix(labels), np.array(prompts, np.int32), np.array(opening, np.uint8), Sparse.of(hashed))


def row_logits(det: Detector, s: Scored) -> np.ndarray:
    """Per row, each head's largest unit logit (rows x HEADS)."""
    z = det.head_logits(s.g)
    out = np.full((len(s.rows), z.shape[1]), -np.inf, np.float32)
    np.maximum.at(out, s.unit_row, z)
    return out


def row_scores(det: Detector, s: Scored, shift: np.ndarray | None = None) -> np.ndarray:
    """Per row, the head probabilities as the runtime reports them: inputs the maximum over units, answers
    with their prompt through the response model in the ``harmful_response`` column. ``shift``: a
    correction's logit shift per row and head (rows x HEADS, 0: none), applied last as ``Detector.corrected``."""
    probs = det.calibrated(row_logits(det, s)).astype(np.float64)
    k = HEADS.index("harmful_response")
    for i in np.flatnonzero(s.prompt >= 0):
        answer = Detection(dict(zip(HEADS, map(float, probs[i]))), {}, _cues(int(s.opening[i])))
        prompt = Detection(dict(zip(HEADS, map(float, probs[s.prompt[i]]))), {})
        probs[i, k] = det.response_score(answer, prompt)
    if shift is not None:
        moved = shift != 0
        probs[moved] = shifted(probs[moved], shift[moved])
    return probs


def _cues(bits: int) -> frozenset[str]:
    return frozenset(n for b, n in ((DECLINES, "declines@start"), (COMPLIES, "complies@start")) if bits & b)


# -- files --------------------------------------------------------------------------------------------


def _quantised(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 columns with one float32 scale each (the 99.9th percentile of |value| maps to 127; beyond it clipped:
    logits that large are sure either way)."""
    scale = (np.percentile(np.abs(g), 99.9, axis=0) / 127.0).astype(np.float32) if len(g) else np.ones(g.shape[1], np.float32)
    scale[scale == 0] = 1.0
    return np.clip(np.round(g / scale), -127, 127).astype(np.int8), scale


def sample(examples: Examples, n: int, seed: int = 0) -> Examples:
    """``n`` examples drawn uniformly (seeded, order kept), weights scaled up to keep the total."""
    if len(examples) <= n:
        return examples
    keep = np.sort(np.random.default_rng(seed).choice(len(examples), n, replace=False))
    return Examples(examples.g[keep], examples.labels[keep], examples.weight[keep] * (len(examples) / n))


def save_sets(path: Path, examples: Examples, scored: dict[str, Scored], manifest: dict[str, object]) -> None:
    """One npz (int8 inputs with a scale per column, int8 labels) plus a JSON manifest of the row tables."""
    q, scale = _quantised(examples.g)
    arrays: dict[str, np.ndarray] = {"train_g": q, "train_scale": scale, "train_labels": examples.labels,
                                     "train_weight": examples.weight.astype(np.float16)}
    tables: dict[str, object] = {}
    for name, s in scored.items():
        cats = sorted({r.category for r in s.rows})
        srcs = sorted({r.source for r in s.rows})
        q, scale = _quantised(s.g)
        arrays.update({f"{name}_g": q, f"{name}_scale": scale, f"{name}_unit_row": s.unit_row.astype(np.int32),
                       f"{name}_labels": s.labels, f"{name}_prompt": s.prompt.astype(np.int32),
                       f"{name}_opening": s.opening.astype(np.uint8),
                       f"{name}_category": np.array([cats.index(r.category) for r in s.rows], np.uint8),
                       f"{name}_source": np.array([srcs.index(r.source) for r in s.rows], np.uint8),
                       f"{name}_length": np.array([r.chars for r in s.rows], np.int32)})
        tables[name] = {"categories": cats, "sources": srcs}
    arrays["manifest"] = np.frombuffer(json.dumps(dict(manifest, tables=tables), sort_keys=True).encode(), np.uint8)
    write_npz(path, arrays)


def ngrams_path(features: Path) -> Path:
    """Where the hashed n-grams of a features file's scored rows are (beside it)."""
    return features.with_name("ngrams.npz")


def save_ngrams(path: Path, scored: dict[str, Scored]) -> None:
    """Each scored row's hashed n-gram buckets (no text: bucket ids of the correction's hashing), sorted and
    delta-coded per row, so ``guardrails adapt`` can score a correction on rows it has no text of."""
    arrays: dict[str, np.ndarray] = {}
    for name, s in scored.items():
        assert s.x is not None
        delta = s.x.indices.astype(np.int64)
        starts = s.x.indptr[:-1][np.diff(s.x.indptr) > 0]
        delta[1:] -= s.x.indices[:-1]
        delta[starts] = s.x.indices[starts]  # the first id of a row as is
        arrays[f"{name}_count"] = np.diff(s.x.indptr).astype(np.uint16)
        arrays[f"{name}_delta"] = delta.astype(np.uint32)
    write_npz(path, arrays)


def load_ngrams(path: Path, scored: dict[str, Scored]) -> None:
    """Attach what ``save_ngrams`` wrote to the scored sets (checked: same row counts)."""
    with np.load(path, allow_pickle=False) as npz:
        a = {k: npz[k] for k in npz.files}
    for name, s in scored.items():
        count = a[f"{name}_count"].astype(np.int64)
        if len(count) != len(s.rows):
            raise ValueError(f"{path}: {name} has {len(count)} rows, the features file {len(s.rows)}")
        indptr = np.concatenate(([0], np.cumsum(count)))
        s.x = Sparse(indptr, _undelta(a[f"{name}_delta"].astype(np.int64), indptr).astype(np.int32))


def _undelta(delta: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Per row: the cumulative sum of its deltas (each row restarts)."""
    total = np.cumsum(delta)
    lens = np.diff(indptr)
    before = np.concatenate(([0], total))[indptr[:-1]]  # the sum of all earlier rows' deltas
    out: np.ndarray = total - np.repeat(before, lens)
    return out


def _float(a: dict[str, np.ndarray], name: str) -> np.ndarray:
    g = a[f"{name}_g"].astype(np.float32)
    return g * a[f"{name}_scale"] if f"{name}_scale" in a else g


def load_sets(path: Path) -> tuple[Examples, dict[str, Scored], dict[str, object]]:
    """Read what ``save_sets`` wrote (no pickle)."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a training-features file ({exc})") from None
    with npz:
        a = {k: npz[k] for k in npz.files}
    manifest = json.loads(a["manifest"].tobytes().decode())
    examples = Examples(_float(a, "train"), a["train_labels"], a["train_weight"].astype(np.float32))
    scored = {}
    for name, t in manifest["tables"].items():
        cats, srcs = t["categories"], t["sources"]
        rows = [Row("", cats[c], srcs[s], "", length=int(n))
                for c, s, n in zip(a[f"{name}_category"], a[f"{name}_source"], a[f"{name}_length"])]
        scored[name] = Scored(_float(a, name), a[f"{name}_unit_row"].astype(np.intp), rows,
                              a[f"{name}_labels"], a[f"{name}_prompt"].astype(np.intp), a[f"{name}_opening"])
    if ngrams_path(path).is_file():
        load_ngrams(ngrams_path(path), scored)
    return examples, scored, manifest
