#!/usr/bin/env python
"""Compare network sizes for the built-in detector: ``python scripts/sweep_builtin_network.py --data ../shared/data``.

Trains the logistic heads once (as ``train_builtin.py`` does), then one network per configuration
on the same features, and prints attack / injection / jailbreak / harmful / toxicity recall and
benign / short / edgy FPR on validation, test and the never-trained-on sets, with thresholds chosen
on validation (uncalibrated probabilities), for the network alone and averaged with the logistic
heads where the shipped model has them. Run before this release's heads and data were added;
kept to re-run the comparison when the network changes.
A configuration is ``hidden:dropout:epochs:seeds:dim:top``: ``dim`` 0 gives each feature a
``hidden``-wide embedding (no bottleneck), ``top`` > 0 keeps only the most useful features of the
logistic heads. Uses CUDA when present; this is how the shipped size (``train_builtin.MLP``) was
chosen. Not deterministic on a GPU; the shipped weights come from ``train_builtin.py`` on a CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
# Import the detector without the package __init__ (which needs pydantic): GPU hosts may only have
# numpy, scipy, scikit-learn and torch.
_pkg = types.ModuleType("guardrails")
_pkg.__path__ = [str(ROOT / "guardrails")]
sys.modules.setdefault("guardrails", _pkg)

import train_builtin as tb  # noqa: E402
from guardrails.detector.model import Detector  # noqa: E402

K = len(tb.HEADS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--configs", default="256:0.6:16:1:32:0,256:0.6:16:1:0:0",
                    help="comma-separated hidden:dropout:epochs:seeds:dim:top")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(args.threads)
    unseen = tb.load_handwritten(ROOT / "training" / "unseen")
    hand = tb.dedupe_handwritten(tb.load_handwritten(ROOT / "training" / "handwritten"), unseen)
    splits = tb.split(tb.load_public(args.data) + hand)
    train_rows = tb.cap_davidson(splits["train"], tb.DAVIDSON_TRAIN_CAP)
    examples = tb.build_examples(train_rows + tb.synth_documents(train_rows))
    linear = Detector(*tb.train(examples, 8.0, min_df=2))  # logistic heads only (no network arrays)
    vocab = {f: i for i, f in enumerate(linear.meta["features"])}
    cues = {c: i for i, c in enumerate(linear.meta["cues"])}
    X = tb.vectorize(examples, vocab, cues).tocsr()
    y, known, w = tb.network_targets(examples)
    W, Wc = linear.G[:, :len(linear.linear_heads)], linear.Gc[:, :len(linear.linear_heads)]
    importance = np.argsort(-np.abs(W).max(axis=1))
    for r in unseen:
        r.source = "unseen_" + r.meta["version"]
    sets = {"val": tb.cap_davidson(splits["val"], tb.DAVIDSON_EVAL_CAP),
            "test": tb.cap_davidson(splits["test"], tb.DAVIDSON_EVAL_CAP), "unseen": unseen}
    units = {}
    for name, rows in sets.items():
        parts = [(i, u) for i, r in enumerate(rows) for u in tb.cached_units(r.text)]
        units[name] = (tb.vectorize([tb.Example(u, {}, 1.0) for _, u in parts], vocab, cues).tocsr(),
                       np.array([i for i, _ in parts]))

    def restrict(M, top: int):
        if not top:
            return M
        keep = np.zeros(M.shape[1], np.float32)
        keep[importance[:top]] = 1.0
        keep[len(vocab):] = 1.0
        return M.multiply(keep[None, :]).tocsr()

    def report(label: str, logits: dict[str, np.ndarray]) -> None:
        scores = {}
        for name, rows in sets.items():
            p = 1 / (1 + np.exp(-logits[name]))
            scores[name] = np.zeros((len(rows), K))
            np.maximum.at(scores[name], units[name][1], p)
        thr = tb.choose_thresholds(sets["val"], scores["val"])
        print(label)
        for name, rows in sets.items():
            with contextlib.redirect_stdout(io.StringIO()):
                r = tb.report(name, rows, scores[name], thr)
            print(f"  {name:6s} attack {r['attack_recall'][0]:.3f} inj {r['recall/prompt_injection'][0]:.3f} "
                  f"jb {r['recall/jailbreak'][0]:.3f} harm {r['recall/harmful_request'][0]:.3f} "
                  f"tox {r['toxicity_recall'][0]:.3f} | benign {r['benign_fpr_no_tweets'][0]:.3f} "
                  f"short {r['short_fpr'][0]:.3f} edgy {r['edgy_fpr'][0]:.3f}", flush=True)

    nv = len(vocab)
    lin_logits = {}
    for n, (M, _) in units.items():
        full = np.full((M.shape[0], K), -10.0, np.float32)  # heads without a logistic part: never flagged
        full[:, linear.linear_index] = M[:, :nv] @ W + M[:, nv:] @ Wc + linear.b
        lin_logits[n] = full
    report("logistic heads", lin_logits)
    for config in args.configs.split(","):
        hidden, drop, epochs, seeds, dim, top = config.split(":")
        t0 = time.perf_counter()
        Xr = restrict(X, int(top))
        inputs = {n: tb.network_batch(restrict(M, int(top)), device) for n, (M, _) in units.items()}
        logits = {n: np.zeros((units[n][0].shape[0], K), np.float32) for n in units}
        for seed in range(int(seeds)):
            net = tb.fit_network(Xr, y, known, w, hidden=int(hidden), dim=int(dim), dropout=float(drop),
                                 epochs=int(epochs), seed=seed, device=device)
            with torch.no_grad():
                for n, batch in inputs.items():
                    logits[n] += net(*batch).cpu().numpy() / int(seeds)
        report(f"network {config} ({time.perf_counter() - t0:.0f} s)", logits)
        averaged = {}
        for n in logits:
            a = logits[n].copy()
            a[:, linear.linear_index] = 0.5 * (a[:, linear.linear_index] + lin_logits[n][:, linear.linear_index])
            averaged[n] = a
        report("  averaged with the logistic heads", averaged)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
