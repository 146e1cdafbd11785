"""A small slice of the shipped adapt features, so adapt tests run in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from guardrails.adapt import FEATURES
from guardrails.detector.frozen import Examples, load_sets, ngrams_path, save_ngrams, save_sets


def small_features(dest: Path, train_units: int = 6000, val_rows: int = 2500, seed: int = 0) -> Path:
    """Every never-trained-on (guard) row, a seeded sample of the training units and validation rows."""
    ex, scored, manifest = load_sets(FEATURES)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(ex), min(train_units, len(ex)), replace=False))
    small_ex = Examples(ex.g[pick], ex.labels[pick], ex.weight[pick])
    val = scored["val"]
    counted = np.flatnonzero(val.counted)
    mask = np.zeros(len(val.rows), bool)
    mask[np.sort(rng.choice(counted, min(val_rows, len(counted)), replace=False))] = True
    manifest = {k: v for k, v in manifest.items() if k != "tables"}
    small = {"val": val.take(mask), "guard": scored["guard"]}
    save_sets(dest, small_ex, small, manifest)
    save_ngrams(ngrams_path(dest), small)
    return dest
