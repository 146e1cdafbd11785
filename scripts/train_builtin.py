#!/usr/bin/env python
"""Train the built-in detector and print its evaluation: ``python scripts/train_builtin.py --data ../shared/data``.

Reads the public sets (one JSONL per source) and our own hand-written examples, splits every
source into train / validation / test by group (seeded), trains one logistic head per category
plus a hazard-topic head over the features of ``guardrails.detector.features``, then a small
network on the same features (``--linear-only`` skips it), writes
``guardrails/data/builtin/{meta.json,weights.npz,mlp.npz}``, then scores validation, test and the
never-trained-on sets with the *shipped* inference code. ``--cross`` also retrains with whole
sources left out and scores them (cross-source generalisation); ``--operating-points`` prints the
figures at other thresholds. Deterministic: fixed seeds, sorted inputs, single-threaded solvers.
Needs scikit-learn, scipy and torch (the ``train`` extra); inference needs numpy only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guardrails.detector.features import Unit, units  # noqa: E402
from guardrails.detector.model import CATEGORIES, DEFAULT_DIR, Detector  # noqa: E402

SEED = 0
ATTACKS = ("prompt_injection", "jailbreak", "harmful_request")
BENIGN = ("benign", "benign_roleplay", "document", "doc_task")
EDGY = ("benign_edgy",)
# Data category -> detector category (None: not a positive for any head).
CATEGORY_MAP = {
    "prompt_injection": "prompt_injection",
    "jailbreak": "jailbreak",
    "harmful_request": "harmful_request",
    "toxic": "toxicity",
    "hate": "toxicity",
    "toxicity": "toxicity",
}
# For each head, data categories that are neither positive nor negative (the label says nothing).
IGNORE = {
    "prompt_injection": {"jailbreak"},
    "jailbreak": {"prompt_injection"},
    "harmful_request": {"jailbreak"},
    "toxicity": {"jailbreak"},
}
HAZARD_MAP = {
    # harmbench semantic categories
    "chemical_biological": "chem_bio", "illegal": "illegal", "misinformation_disinformation": "misinformation",
    "harassment_bullying": "harassment", "cybercrime_intrusion": "cyber", "harmful": "violence",
    # JailbreakBench categories
    "Harassment/Discrimination": "harassment", "Malware/Hacking": "cyber", "Physical harm": "violence",
    "Economic harm": "fraud", "Fraud/Deception": "fraud", "Disinformation": "misinformation",
    "Sexual/Adult content": "sexual", "Privacy": "privacy",
    # jailbreak_llms forbidden-question scenarios
    "Illegal Activity": "illegal", "Hate Speech": "hate", "Malware": "cyber", "Physical Harm": "violence",
    "Economic Harm": "fraud", "Fraud": "fraud", "Pornography": "sexual", "Privacy Violence": "privacy",
    # MultiJail tags (first tag)
    "Violence & incitement": "violence", "Discrimination & injustice": "hate",
    "Conspiracy theories & misinformation": "misinformation", "Hate speech & offensive language": "hate",
    "Theft": "illegal", "Weapons": "weapons", "Non-violent unethical behavior (e.g. lying, cheating, etc.)": "illegal",
    "Substance abuse & banned substances": "drugs", "Adult content": "sexual", "Terrorism & organized crime": "violence",
    "Animal abuse": "violence", "Property crime & vandalism": "illegal", "Bullying & harassment": "harassment",
    "Fraud & deception": "fraud", "Soliciting personally identifiable information": "privacy",
    "Sexual exploitation & human trafficking": "sexual", "Self-harm": "self_harm",
}
HAZARDS = ("chem_bio", "cyber", "drugs", "fraud", "harassment", "hate", "illegal", "misinformation", "privacy",
           "self_harm", "sexual", "violence", "weapons")
HANDWRITTEN_WEIGHT = 4.0
DAVIDSON_TRAIN_CAP = {"toxic": 2200, "hate": 1000, "benign": 2600}
DAVIDSON_EVAL_CAP = 500


@dataclass
class Row:
    text: str
    category: str  # data category (harmful_request, toxic, benign, benign_edgy, ...)
    source: str
    group: str
    hazard: str | None = None
    attack_text: str | None = None
    lang: str | None = None
    meta: dict = field(default_factory=dict)


# -- data -------------------------------------------------------------------------------------


def _group(d: dict) -> str:
    for key in ("jbb_index", "bipia_context_id", "multijail_id", "template_id"):
        if key in d:
            return f"{key}:{d[key]}"
    return d["text"].strip().lower()


def _hazard(d: dict) -> str | None:
    for key in ("harmbench_semantic_category", "jbb_category", "forbidden_scenario"):
        if d.get(key) in HAZARD_MAP:
            return HAZARD_MAP[d[key]]
    tags = d.get("multijail_tags")
    if tags:
        first = tags.strip("[]").split("', '")[0].strip("'\"")
        return HAZARD_MAP.get(first)
    return d.get("hazard")


def load_public(data_dir: Path) -> list[Row]:
    rows = []
    for path in sorted(data_dir.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            d = json.loads(line)
            if "label" not in d or d.get("category") == "copyright":
                continue
            rows.append(Row(d["text"], d["category"], d["source"], _group(d), _hazard(d),
                            d.get("attack_text"), d.get("lang"), d))
    return rows


def load_handwritten(directory: Path) -> list[Row]:
    """Our own sentences: ``training/handwritten/<category>.tsv``, lines ``lang<TAB>hazard<TAB>text``.

    Categories: the detector's four plus benign, benign_edgy, and two helpers for the document
    synthesis: ``document`` (benign documents) and ``doc_task`` (benign requests about a document).
    ``\\n`` in a text stands for a line break.
    """
    rows = []
    for path in sorted(directory.glob("*.tsv")):
        category = re.sub(r"_v\d+$", "", path.stem)  # unseen/*_v2.tsv: a later held-out set
        version = path.stem[len(category) + 1:] or "v1"
        for i, line in enumerate(path.open(encoding="utf-8")):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise ValueError(f"{path}:{i + 1}: expected lang<TAB>hazard<TAB>text, got {len(parts)} fields")
            lang, hazard, text = parts
            text = text.replace("\\n", "\n")
            rows.append(Row(text, category, "handwritten", "hw:" + _key(text), hazard if hazard != "-" else None,
                            None, lang, {"version": version}))
    return rows


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def dedupe_handwritten(hand: list[Row], unseen: list[Row]) -> list[Row]:
    """Drop repeated hand-written texts (several writers) and any text also in the never-trained-on sets."""
    held_out = {_key(r.text) for r in unseen}
    seen: set[str] = set()
    out = []
    for r in hand:
        k = _key(r.text)
        if k in seen or k in held_out:
            continue
        seen.add(k)
        out.append(r)
    if len(out) < len(hand):
        print(f"hand-written: dropped {len(hand) - len(out)} repeated or held-out texts, {len(out)} kept")
    return out


def split(rows: list[Row], seed: int = SEED) -> dict[str, list[Row]]:
    """70 / 15 / 15 by group: a group's side comes from a seeded hash of (source, group), so adding
    rows or files never moves an existing row to another side (figures stay comparable across runs).
    A group shared by several categories of one source (one BIPIA context: clean + injected) stays
    on one side."""
    out: dict[str, list[Row]] = {"train": [], "val": [], "test": []}
    for r in sorted(rows, key=lambda r: (r.source, r.category, r.group)):
        h = int(hashlib.sha256(f"{seed}:{r.source}:{r.group}".encode()).hexdigest()[:8], 16) % 100
        out["val" if h < 15 else "test" if h < 30 else "train"].append(r)
    return out


def cap_davidson(rows: list[Row], caps: dict[str, int] | int) -> list[Row]:
    rng = random.Random(SEED)
    by_cat: dict[str, list[Row]] = defaultdict(list)
    rest = []
    for r in rows:
        (by_cat[r.category] if r.source == "davidson_hso" else rest).append(r)
    for cat in sorted(by_cat):
        items = by_cat[cat]
        rng.shuffle(items)
        cap = caps if isinstance(caps, int) else caps.get(cat, len(items))
        rest.extend(items[:cap])
    return rest


def synth_documents(train: list[Row], seed: int = SEED) -> list[Row]:
    """Indirect injections beyond BIPIA: our injections placed in benign documents, and benign
    'do X with this document' requests around the same documents (so 'document' alone means nothing)."""
    rng = random.Random(seed)
    docs = [r.text for r in train if r.source == "bipia_email" and r.category == "benign"]
    docs += [r.text for r in train if r.source == "handwritten" and r.category == "document"] * 3
    injections = [r.text for r in train if r.source == "handwritten" and r.category == "prompt_injection"
                  and len(r.text) < 300]
    tasks = [r.text for r in train if r.source == "handwritten" and r.category == "doc_task"]
    out = []
    if not docs:
        return out
    for i, inj in enumerate(injections):
        for k in range(2):
            doc = rng.choice(docs)
            sentences = doc.split(". ")
            pos = rng.randrange(len(sentences) + 1)
            text = ". ".join(sentences[:pos] + [inj] + sentences[pos:]) if k else (
                doc + "\n" + inj if rng.random() < 0.5 else inj + "\n" + doc)
            out.append(Row(text, "prompt_injection", "synth_doc", f"synth:inj:{i}:{k}", attack_text=inj))
    for i, task in enumerate(tasks):
        for k in range(3):
            doc = rng.choice(docs)
            text = f"{task}\n\n{doc}" if k != 1 else f"{doc}\n\n{task}"
            out.append(Row(text, "benign", "synth_doc", f"synth:task:{i}:{k}"))
    return out


# -- training examples ------------------------------------------------------------------------


@dataclass
class Example:
    unit: Unit
    labels: dict[str, int | None]  # head -> 1 / 0 / None (ignored)
    weight: float
    hazard: str | None


def _labels(category: str) -> dict[str, int | None]:
    target = CATEGORY_MAP.get(category)
    out: dict[str, int | None] = {}
    for head in CATEGORIES:
        if target == head:
            out[head] = 1
        elif category in IGNORE[head]:
            out[head] = None
        else:
            out[head] = 0
    return out


NEG = {head: 0 for head in CATEGORIES}


def source_weights(rows: list[Row]) -> dict[tuple[str, str], float]:
    """Down-weight big sources so that no single source dominates a head."""
    counts = Counter((r.source, r.category) for r in rows)
    out = {}
    for key, n in counts.items():
        cap = 400.0
        w = min(1.0, cap / n)
        if key[0] in ("handwritten", "synth_doc"):
            w = HANDWRITTEN_WEIGHT if key[0] == "handwritten" else 1.5
        out[key] = w
    return out


_UNITS: dict[str, list[Unit]] = {}


def cached_units(text: str) -> list[Unit]:
    """units() of a text, memoised across the runs of one process (the cross-source runs)."""
    us = _UNITS.get(text)
    if us is None:
        us = _UNITS[text] = units(text)
    return us


def build_examples(rows: list[Row]) -> list[Example]:
    weights = source_weights(rows)
    out = []
    for r in rows:
        if r.category in ("document", "doc_task"):
            cat = "benign"
        else:
            cat = r.category
        w = weights[(r.source, r.category)]
        us = cached_units(r.text)
        labels = _labels(cat)
        hazard = r.hazard if cat == "harmful_request" else None
        segs = [u for u in us[1:] if u.kind == "segment"]
        if cat == "prompt_injection" and r.attack_text and segs:
            # Only the segment holding the smuggled instruction is the injection: labelling the whole
            # document positive would teach "email means injection".
            labels = dict(labels, prompt_injection=None)
        out.append(Example(us[0], labels, w, hazard))
        if cat in BENIGN or cat in EDGY or cat == "benign":
            for u in segs:
                out.append(Example(u, dict(NEG), w * 0.5, None))
        elif cat == "prompt_injection" and r.attack_text:
            a0 = r.text.find(r.attack_text)
            a1 = a0 + len(r.attack_text)
            for u in segs:
                overlap = max(0, min(u.end, a1) - max(u.start, a0))
                if a0 >= 0 and overlap >= 0.5 * len(r.attack_text):
                    out.append(Example(u, _labels("prompt_injection"), w, None))
                elif a0 >= 0 and overlap == 0:
                    out.append(Example(u, dict(NEG), w * 0.5, None))
    return out


def vectorize(examples: list[Example], vocab: dict[str, int], cues: dict[str, int]) -> sparse.csr_matrix:
    indptr, indices, data = [0], [], []
    nv = len(vocab)
    for ex in examples:
        bag = ex.unit.bag
        scale = 1.0 / math.sqrt(len(bag)) if bag else 0.0
        row = sorted({vocab[f] for f in bag if f in vocab})
        indices.extend(row)
        data.extend([scale] * len(row))
        crow = sorted({nv + cues[c] for c in ex.unit.cues if c in cues})
        indices.extend(crow)
        data.extend([1.0] * len(crow))
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data, np.float32), np.array(indices, np.int32), np.array(indptr)),
                             shape=(len(examples), nv + len(cues)))


def train(examples: list[Example], c_value: float, min_df: int = 3, max_features: int = 120000):
    df: Counter[str] = Counter()
    for ex in examples:
        df.update(ex.unit.bag)
    vocab_list = sorted(f for f, n in df.items() if n >= min_df)
    vocab = {f: i for i, f in enumerate(vocab_list)}
    cue_list = sorted({c for ex in examples for c in ex.unit.cues})
    cues = {c: i for i, c in enumerate(cue_list)}
    X = vectorize(examples, vocab, cues)
    nv = len(vocab)
    t0 = time.perf_counter()
    W = np.zeros((X.shape[1], len(CATEGORIES)), np.float64)
    b = np.zeros(len(CATEGORIES))
    for k, head in enumerate(CATEGORIES):
        mask = np.array([ex.labels[head] is not None for ex in examples])
        y = np.array([ex.labels[head] or 0 for ex in examples])[mask]
        sw = np.array([ex.weight for ex in examples])[mask]
        pos = sw[y == 1].sum()
        neg = sw[y == 0].sum()
        sw = np.where(y == 1, sw * (neg / max(pos, 1e-9)) ** 0.5, sw)  # partial class balancing
        clf = LogisticRegression(C=c_value, solver="liblinear", max_iter=200, random_state=SEED)
        clf.fit(X[mask], y, sample_weight=sw)
        W[:, k] = clf.coef_[0]
        b[k] = clf.intercept_[0]
        print(f"  head {head}: {int(mask.sum())} units, {time.perf_counter() - t0:.1f} s", flush=True)
    hz = [i for i, ex in enumerate(examples) if ex.hazard in HAZARDS]
    Wh = np.zeros((X.shape[1], len(HAZARDS)))
    bh = np.zeros(len(HAZARDS))
    if hz:
        yh = np.array([HAZARDS.index(examples[i].hazard) for i in hz])
        sw = np.array([examples[i].weight for i in hz])
        for cls in sorted(set(yh)):  # one-vs-rest, one binary head per topic
            clf = LogisticRegression(C=2.0, solver="liblinear", max_iter=200, random_state=SEED)
            clf.fit(X[hz], (yh == cls).astype(int), sample_weight=sw)
            Wh[:, cls] = clf.coef_[0]
            bh[cls] = clf.intercept_[0]
    print(f"  hazard head: {len(hz)} units, {time.perf_counter() - t0:.1f} s; vocabulary {nv}", flush=True)
    # Keep the features that matter most (size), cues always.
    importance = np.abs(W[:nv]).max(axis=1) + 0.25 * np.abs(Wh[:nv]).max(axis=1)
    keep = np.sort(np.argsort(-importance)[:max_features])
    keep = keep[importance[keep] > 1e-4]
    meta = {
        "version": 1,
        "categories": list(CATEGORIES),
        "hazards": list(HAZARDS),
        "features": [vocab_list[i] for i in keep],
        "cues": cue_list,
    }
    arrays = {
        "W": W[keep].astype(np.float16), "Wc": W[nv:].astype(np.float32), "b": b.astype(np.float32),
        "Wh": Wh[keep].astype(np.float16), "Whc": Wh[nv:].astype(np.float32), "bh": bh.astype(np.float32),
    }
    return meta, arrays


# The network half of the detector (guardrails.detector.model.Detector): feature embedding of DIM
# (int8 + a scale per row), one ReLU layer of HIDDEN, plus a linear part of its own. Wider per-feature
# embeddings (128-256) scored up to 0.03 higher on test but weigh 15-30 MB; this one stays under 5 MB
# (docs/builtin-model-card.md, "Network size"; scripts/sweep_builtin_network.py).
MLP = {"dim": 32, "hidden": 256, "dropout": 0.6, "epochs": 16, "lr": 2e-3, "batch": 256}
MLP_KEYS = ("E", "Es", "Ec", "P", "b1", "W2", "b2", "L", "Lc")


class Network(torch.nn.Module):
    """Feature embedding (``dim`` wide; 0: ``hidden`` wide, no projection), one ReLU layer of
    ``hidden``, one output per category, plus a linear part of its own over the same features."""

    def __init__(self, n_in: int, hidden: int, dim: int) -> None:
        super().__init__()
        k = len(CATEGORIES)
        self.emb = torch.nn.EmbeddingBag(n_in, dim or hidden, mode="sum")
        torch.nn.init.normal_(self.emb.weight, 0.0, 0.05)
        self.proj = torch.nn.Linear(dim, hidden, bias=False) if dim else torch.nn.Identity()
        self.b1 = torch.nn.Parameter(torch.zeros(hidden))
        self.out = torch.nn.Linear(hidden, k)
        self.wide = torch.nn.EmbeddingBag(n_in, k, mode="sum")
        torch.nn.init.zeros_(self.wide.weight)

    def forward(self, ind: torch.Tensor, off: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.proj(self.emb(ind, off, per_sample_weights=val)) + self.b1)
        return self.out(hidden) + self.wide(ind, off, per_sample_weights=val)


def network_batch(X: sparse.csr_matrix, device: str = "cpu", drop: float = 0.0,
                  rng: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EmbeddingBag inputs of CSR rows; with ``drop``, that share of the features zeroed (rescaled)."""
    vals = X.data
    if drop and rng is not None:
        vals = vals * (rng.random(len(vals)) >= drop) / (1 - drop)
    return (torch.tensor(X.indices, dtype=torch.long, device=device),
            torch.tensor(X.indptr[:-1], dtype=torch.long, device=device),
            torch.tensor(vals, dtype=torch.float32, device=device))


def network_targets(examples: list[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-head labels, a mask of the heads each unit says something about, and unit weights."""
    y = np.array([[ex.labels[h] or 0 for h in CATEGORIES] for ex in examples], np.float32)
    known = np.array([[ex.labels[h] is not None for h in CATEGORIES] for ex in examples], np.float32)
    return y, known, np.array([ex.weight for ex in examples], np.float32)


def fit_network(X: sparse.csr_matrix, y: np.ndarray, known: np.ndarray, w: np.ndarray, *, hidden: int, dim: int,
                dropout: float, epochs: int, seed: int = SEED, device: str = "cpu") -> Network:
    """Adam with a linearly decaying rate, masked and weighted binary cross-entropy, feature dropout."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = Network(X.shape[1], hidden, dim).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=MLP["lr"])
    n, bs = X.shape[0], MLP["batch"]
    steps = epochs * ((n + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / steps)
    # Same partial class balancing as the logistic heads.
    pos_w = np.array([((w * known[:, j] * (1 - y[:, j])).sum() / max((w * known[:, j] * y[:, j]).sum(), 1e-9)) ** 0.5
                      for j in range(y.shape[1])], np.float32)
    yt, kt, wt, pwt = (torch.tensor(a, device=device) for a in (y, known, w, pos_w))
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, bs):
            bi = order[start:start + bs]
            z = net(*network_batch(X[bi], device, dropout, rng))
            bt = torch.tensor(bi, device=device)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z, yt[bt], reduction="none", pos_weight=pwt)
            m = kt[bt] * wt[bt][:, None]
            loss = (loss * m).sum() / m.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


def train_mlp(examples: list[Example], meta: dict, epochs: int = MLP["epochs"]) -> dict[str, np.ndarray]:
    """Train the network half on the logistic model's kept features (same labels and weights)."""
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # one thread: bit-identical weights from run to run
    vocab = {f: i for i, f in enumerate(meta["features"])}
    X = vectorize(examples, vocab, {c: i for i, c in enumerate(meta["cues"])})
    t0 = time.perf_counter()
    net = fit_network(X, *network_targets(examples), hidden=MLP["hidden"], dim=MLP["dim"],
                      dropout=MLP["dropout"], epochs=epochs)
    print(f"  network: {epochs} epochs over {X.shape[0]} units, {time.perf_counter() - t0:.1f} s", flush=True)
    nv = len(vocab)
    e = net.emb.weight.detach().numpy()
    scale = (np.abs(e[:nv]).max(axis=1) / 127.0).astype(np.float16).astype(np.float32)  # stored as float16
    scale[scale == 0] = 1.0
    lw = net.wide.weight.detach().numpy()
    return {
        "E": np.clip(np.round(e[:nv] / scale[:, None]), -127, 127).astype(np.int8), "Es": scale.astype(np.float16),
        "Ec": e[nv:].astype(np.float32), "P": net.proj.weight.detach().numpy().T.copy(),
        "b1": net.b1.detach().numpy().copy(), "W2": net.out.weight.detach().numpy().T.copy(),
        "b2": net.out.bias.detach().numpy().copy(), "L": lw[:nv].astype(np.float16), "Lc": lw[nv:].astype(np.float32),
    }


def save(meta: dict, arrays: dict, out_dir: Path) -> None:
    """meta.json, weights.npz (logistic heads) and, when trained, mlp.npz (the network half)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "meta.json", "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False, separators=(",", ":"))
    np.savez_compressed(out_dir / "weights.npz", **{k: v for k, v in arrays.items() if k not in MLP_KEYS})
    mlp = {k: v for k, v in arrays.items() if k in MLP_KEYS}
    if mlp:
        np.savez_compressed(out_dir / "mlp.npz", **mlp)
    elif (out_dir / "mlp.npz").exists():
        (out_dir / "mlp.npz").unlink()


# -- evaluation -------------------------------------------------------------------------------


def score_rows(det: Detector, rows: list[Row]) -> np.ndarray:
    """Scores with the shipped inference path (units() + Detector.score_units)."""
    return np.array([[det.score_units(cached_units(r.text)).scores[c] for c in CATEGORIES] for r in rows])


def show_errors(rows: list[Row], scores: np.ndarray, thr: dict[str, float], n: int) -> None:
    """Print the worst false positives and misses (developer aid; texts truncated)."""
    flag = attack_flag(scores, thr) | (scores[:, CATEGORIES.index("toxicity")] >= thr["toxicity"])
    fps = [(scores[i].max(), r) for i, r in enumerate(rows) if flag[i] and r.category in BENIGN + EDGY]
    misses = [(scores[i].max(), r) for i, r in enumerate(rows) if not flag[i] and r.category not in BENIGN + EDGY]
    for title, items, rev in (("false positives", fps, True), ("misses", misses, False)):
        print(f"-- {title}: {len(items)}")
        for sc, r in sorted(items, key=lambda x: x[0], reverse=rev)[:n]:
            print(f"   {sc:.2f} {r.source}/{r.category}: {r.text[:150]!r}")


def attack_flag(scores: np.ndarray, thr: dict[str, float]) -> np.ndarray:
    return np.any([scores[:, CATEGORIES.index(c)] >= thr[c] for c in ATTACKS], axis=0)


def choose_thresholds(rows: list[Row], scores: np.ndarray, fpr_target: float = 0.025,
                      source_cap: float = 0.15, edgy_target: float = 0.10,
                      tox_fpr_target: float = 0.01) -> dict[str, float]:
    """Thresholds from validation. The attack heads jointly: greedily lower the head that catches the
    most attacks per new false positive while benign FPR <= fpr_target, no benign source (>= 10
    rows) above source_cap (so clean emails, the tweets or one language cannot be sacrificed) and
    edgy FPR <= edgy_target. Then toxicity, with its own budget: the lowest threshold at which its
    own benign FPR <= tox_fpr_target and the union of all heads still meets source_cap and
    edgy_target. davidson_hso's "neither" tweets count only against source_cap: that class is noisy
    (many of its rows are offensive), and counting it in the pooled FPR would tune toxicity to tweets."""
    cats = np.array([r.category for r in rows])
    srcs = np.array([r.source for r in rows])
    benign = np.isin(cats, BENIGN)
    pooled = benign & (srcs != "davidson_hso")
    edgy = np.isin(cats, EDGY)
    attack_rows = np.isin(cats, ATTACKS)
    toxic_rows = np.isin(cats, ("toxic", "hate", "toxicity"))
    positive = attack_rows | toxic_rows
    groups = [m for m in ((srcs == s) & benign for s in sorted(set(srcs[benign]))) if m.sum() >= 10]
    grid = [round(x, 3) for x in np.concatenate([np.arange(0.99, 0.5, -0.01), np.arange(0.5, 0.29, -0.02)])]
    thr = {c: 0.99 for c in CATEGORIES}
    ks = {c: CATEGORIES.index(c) for c in CATEGORIES}

    def head_flags(t: dict[str, float]) -> dict[str, np.ndarray]:
        return {c: scores[:, ks[c]] >= t[c] for c in CATEGORIES}

    def caught(hf: dict[str, np.ndarray]) -> int:
        attack = np.any([hf[c] for c in ATTACKS], axis=0)
        return int((attack & attack_rows).sum() + (hf["toxicity"] & toxic_rows).sum())

    def within_caps(f: np.ndarray) -> bool:
        return not (edgy.any() and f[edgy].mean() > edgy_target) and all(f[g].mean() <= source_cap for g in groups)

    def ok(f: np.ndarray) -> bool:
        return f[pooled].mean() <= fpr_target and within_caps(f)

    while True:
        current = head_flags(thr)
        cur_any = np.any(list(current.values()), axis=0)
        best = None
        for c in ATTACKS:
            i = grid.index(thr[c]) if thr[c] in grid else 0
            if i + 1 >= len(grid):
                continue
            trial = dict(thr, **{c: grid[i + 1]})
            hf = head_flags(trial)
            f = np.any(list(hf.values()), axis=0)
            if not ok(f):
                continue
            more, cost = caught(hf) - caught(current), (f & ~positive).sum() - (cur_any & ~positive).sum()
            if more <= 0 and cost > 0:
                continue
            gain = more / (1 + cost)
            if best is None or gain > best[0]:
                best = (gain, c, grid[i + 1])
        if best is None:
            break
        thr[best[1]] = best[2]
    for t in grid[1:]:
        hf = head_flags(dict(thr, toxicity=t))
        if hf["toxicity"][pooled].mean() > tox_fpr_target or not within_caps(np.any(list(hf.values()), axis=0)):
            break
        thr["toxicity"] = t
    return {c: round(float(thr[c]), 3) for c in CATEGORIES}


def report(name: str, rows: list[Row], scores: np.ndarray, thr: dict[str, float]) -> dict:
    flag_attack = attack_flag(scores, thr)
    tox = scores[:, CATEGORIES.index("toxicity")] >= thr["toxicity"]
    any_flag = flag_attack | tox
    cats = np.array([r.category for r in rows])
    srcs = np.array([r.source for r in rows])

    def rate(mask, flags):
        return (float(flags[mask].mean()), int(mask.sum())) if mask.any() else (float("nan"), 0)

    out = {}
    attack = np.isin(cats, ATTACKS)
    out["attack_recall"] = rate(attack, flag_attack)
    out["benign_fpr_any"] = rate(np.isin(cats, BENIGN), any_flag)
    out["benign_fpr_any_no_tweets"] = rate(np.isin(cats, BENIGN) & (srcs != "davidson_hso"), any_flag)
    out["benign_fpr_attack"] = rate(np.isin(cats, BENIGN), flag_attack)
    bmask = np.isin(cats, BENIGN)
    per_src = [flag_attack[bmask & (srcs == s)].mean() for s in sorted(set(srcs[bmask]))]
    out["benign_fpr_attack_macro"] = (float(np.mean(per_src)) if per_src else float("nan"), len(per_src))
    out["edgy_fpr_any"] = rate(np.isin(cats, EDGY), any_flag)
    out["toxicity_recall"] = rate(np.isin(cats, ("toxic", "hate", "toxicity")), tox)
    for c in ATTACKS:
        out[f"recall/{c}"] = rate(cats == c, flag_attack)
    print(f"\n== {name} (thresholds {thr})")
    for k, (v, n) in out.items():
        print(f"  {k:28s} {v:.3f}  (n={n})")
    print("  per source/category: flagged fraction (attacks: any attack head; toxic: toxicity head; safe: any head)")
    for src in sorted(set(srcs)):
        for cat in sorted(set(cats[srcs == src])):
            m = (srcs == src) & (cats == cat)
            flags = flag_attack if cat in ATTACKS else tox if cat in ("toxic", "hate", "toxicity") else any_flag
            print(f"    {src:28s} {cat:18s} {flags[m].mean():.3f}  (n={int(m.sum())})")
    return out


def everyday_check(det: Detector, thr: dict[str, float], path: Path) -> None:
    """How many of our everyday requests (training/everyday_requests.txt, never trained on) get flagged."""
    if not path.is_file():
        return
    texts = [t for t in path.read_text("utf-8").splitlines() if t.strip() and not t.startswith("#")]
    flagged = [t for t in texts if any(det.score(t).scores[c] >= thr[c] for c in CATEGORIES)]
    print(f"\n== everyday requests flagged: {len(flagged)} / {len(texts)}" + "".join(f"\n    {t!r}" for t in flagged))


def operating_points(sets: dict[str, tuple[list[Row], np.ndarray]], thr: dict[str, float]) -> None:
    """The validated thresholds against a few stricter and looser ones, on every evaluation set."""
    print("\n== operating points: attack recall / harmful recall / benign FPR (tweets excluded) / edgy FPR /"
          " toxicity recall")
    points = [("validated", {}), ("harmful 0.8", {"harmful_request": 0.8}), ("harmful 0.7", {"harmful_request": 0.7}),
              ("attack heads -0.1", {c: thr[c] - 0.1 for c in ATTACKS}),
              ("attack heads -0.2", {c: thr[c] - 0.2 for c in ATTACKS}), ("all 0.5", {c: 0.5 for c in CATEGORIES})]
    masks = []  # per set: attack, harmful, benign (no tweets), edgy, toxic rows
    for rows, _ in sets.values():
        cats = np.array([r.category for r in rows])
        srcs = np.array([r.source for r in rows])
        masks.append((np.isin(cats, ATTACKS), cats == "harmful_request",
                      np.isin(cats, BENIGN) & (srcs != "davidson_hso"), np.isin(cats, EDGY),
                      np.isin(cats, ("toxic", "hate", "toxicity"))))
    print("| thresholds | " + " | ".join(sets) + " |")
    for name, change in points:
        t = dict(thr, **change)
        cells = []
        for (_, scores), (attack, harmful, benign, edgy, toxic) in zip(sets.values(), masks):
            att = attack_flag(scores, t)
            tox = scores[:, CATEGORIES.index("toxicity")] >= t["toxicity"]
            flag = att | tox
            parts = [att[attack], att[harmful], flag[benign], flag[edgy], tox[toxic]]
            cells.append(" / ".join(f"{p.mean():.3f}" if len(p) else "-" for p in parts))
        print(f"| {name} | " + " | ".join(cells) + " |")


def per_language(rows: list[Row], scores: np.ndarray, thr: dict[str, float]) -> None:
    flags = attack_flag(scores, thr) | (scores[:, CATEGORIES.index("toxicity")] >= thr["toxicity"])
    by: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r, f in zip(rows, flags):
        if r.lang:
            by[(r.lang, "unsafe" if r.category in ATTACKS or r.category in ("toxic", "hate", "toxicity") else "safe")].append(bool(f))
    print("  per language (flagged fraction):", ", ".join(
        f"{lang}/{kind}={np.mean(v):.2f}(n={len(v)})" for (lang, kind), v in sorted(by.items())))


def hazard_accuracy(det: Detector, rows: list[Row]) -> None:
    pairs = [(r.hazard, det.score(r.text).hazard) for r in rows if r.category == "harmful_request" and r.hazard]
    if pairs:
        acc = sum(a == b for a, b in pairs) / len(pairs)
        print(f"  hazard topic accuracy on harmful rows with a known topic: {acc:.3f} (n={len(pairs)})")


def fit_and_eval(rows_by_split, args, out_dir: Path | None, label: str):
    t0 = time.perf_counter()
    train_rows = rows_by_split["train"] + synth_documents(rows_by_split["train"])
    examples = build_examples(train_rows)
    meta, arrays = train(examples, args.C, min_df=args.min_df)
    if not args.linear_only:
        arrays.update(train_mlp(examples, meta, args.epochs))
        meta["mlp"] = {k: MLP[k] for k in ("dim", "hidden")}
    print(f"[{label}] trained on {len(train_rows)} rows / {len(examples)} units, "
          f"{len(meta['features'])} features, in {time.perf_counter() - t0:.1f} s")
    det = Detector(meta, {k: v for k, v in arrays.items()})
    if out_dir is not None:
        save(meta, arrays, out_dir)
        det = Detector.load(out_dir)
    return det, meta


def main(argv: list[str] | None = None) -> int:
    global HANDWRITTEN_WEIGHT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--handwritten", type=Path, default=ROOT / "training" / "handwritten")
    ap.add_argument("--unseen", type=Path, default=ROOT / "training" / "unseen",
                    help="hand-written examples never trained on, scored at the end")
    ap.add_argument("--out", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--C", type=float, default=8.0)
    ap.add_argument("--min-df", type=int, default=2, help="keep n-grams seen in at least this many units")
    ap.add_argument("--hw-weight", type=float, default=HANDWRITTEN_WEIGHT, help="weight of a hand-written row")
    ap.add_argument("--linear-only", action="store_true", help="logistic heads only, no network half")
    ap.add_argument("--epochs", type=int, default=MLP["epochs"], help="training epochs of the network half")
    ap.add_argument("--operating-points", action="store_true", help="also print figures at other thresholds")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--errors", type=int, default=0, help="print the N worst validation errors")
    ap.add_argument("--cross", action="store_true", help="also run the leave-sources-out experiments")
    ap.add_argument("--cross-only", action="store_true", help="only the leave-sources-out experiments")
    ap.add_argument("--eval-only", action="store_true", help="score the saved model, choose thresholds, no training")
    args = ap.parse_args(argv)
    random.seed(SEED)
    np.random.seed(SEED)
    HANDWRITTEN_WEIGHT = args.hw_weight

    public = load_public(args.data)
    hand = load_handwritten(args.handwritten)
    unseen_rows = load_handwritten(args.unseen) if args.unseen.is_dir() else []
    hand = dedupe_handwritten(hand, unseen_rows)
    if args.cross_only:
        cross(public, hand, args)
        return 0
    splits = split(public + hand)
    splits["train"] = cap_davidson(splits["train"], DAVIDSON_TRAIN_CAP)
    splits["val"] = cap_davidson(splits["val"], DAVIDSON_EVAL_CAP)
    splits["test"] = cap_davidson(splits["test"], DAVIDSON_EVAL_CAP)
    for name in ("train", "val", "test"):
        print(f"{name}: {len(splits[name])} rows", dict(sorted(Counter(r.category for r in splits[name]).items())))
    if args.eval_only:
        det = Detector.load(args.out)
        meta = {k: v for k, v in det.meta.items() if k != "thresholds"}
    else:
        det, meta = fit_and_eval(splits, args, None if args.no_save else args.out, "main")
    val_scores = score_rows(det, splits["val"])
    thr = choose_thresholds(splits["val"], val_scores)
    report("validation", splits["val"], val_scores, thr)
    if args.errors:
        show_errors(splits["val"], val_scores, thr, args.errors)
    test_scores = score_rows(det, splits["test"])
    report("test (held-out groups of every source)", splits["test"], test_scores, thr)
    per_language(splits["test"], test_scores, thr)
    hazard_accuracy(det, splits["test"])
    for r in unseen_rows:
        r.source = "unseen_" + r.meta["version"]
    unseen_scores = score_rows(det, unseen_rows) if unseen_rows else np.zeros((0, len(CATEGORIES)))
    versions = np.array([r.meta["version"] for r in unseen_rows])
    for version in sorted(set(versions)):
        idx = np.flatnonzero(versions == version)
        part, part_scores = [unseen_rows[i] for i in idx], unseen_scores[idx]
        report(f"hand-written, never trained on (training/unseen, {version})", part, part_scores, thr)
        per_language(part, part_scores, thr)
    if unseen_rows:
        report("all never-trained-on sets together", unseen_rows, unseen_scores, thr)
    everyday_check(det, thr, ROOT / "training" / "everyday_requests.txt")
    if args.operating_points:
        operating_points({"validation": (splits["val"], val_scores), "test": (splits["test"], test_scores),
                          "never trained on": (unseen_rows, unseen_scores)}, thr)
    if not args.no_save:
        meta_thr = dict(meta, thresholds=thr)
        with open(args.out / "meta.json", "w", encoding="utf-8") as fh:
            json.dump(meta_thr, fh, ensure_ascii=False, separators=(",", ":"))
        digests = ", ".join(f"{p.name} sha256 {hashlib.sha256(p.read_bytes()).hexdigest()}"
                            for p in sorted(args.out.glob("*.npz")))
        print(f"\nsaved {args.out} ({digests})")
    if args.cross:
        cross(public, hand, args)
    return 0


CROSS_GROUPS = [
    ("harmbench", "jailbreak_llms_forbidden_q"),  # harmful requests from sources never seen
    ("jbb_artifacts",),  # jailbreak attack styles (PAIR, GCG, ...) never seen
    ("toxigen_demos",),  # toxicity outside tweets
    ("bipia_email",),  # indirect injection in emails, only our synthetic documents left
    ("xstest",),  # edgy-but-safe prompts and their unsafe contrasts
]


def cross(public: list[Row], hand: list[Row], args) -> None:
    """Leave whole sources out of training; thresholds from that run's validation; score the left-out sources."""
    print("\n== cross-source: each group left out of training entirely, scored on all its rows")
    for group in CROSS_GROUPS:
        kept = [r for r in public if r.source not in group]
        left = [r for r in public if r.source in group]
        splits = split(kept + hand)
        splits["train"] = cap_davidson(splits["train"], DAVIDSON_TRAIN_CAP)
        splits["val"] = cap_davidson(splits["val"], DAVIDSON_EVAL_CAP)
        det, _ = fit_and_eval(splits, args, None, "without " + "+".join(group))
        thr = choose_thresholds(splits["val"], score_rows(det, splits["val"]))
        left = cap_davidson(left, DAVIDSON_EVAL_CAP)
        report("left out: " + "+".join(group), left, score_rows(det, left), thr)


if __name__ == "__main__":
    raise SystemExit(main())
