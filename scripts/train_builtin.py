#!/usr/bin/env python
"""Train the built-in detector and print its evaluation: ``python scripts/train_builtin.py --data ../shared/data``.

Reads the public sets (one JSONL per source; the non-commercial ones and the model answers only to
choose thresholds and to evaluate, never to train), our own hand-written examples
(``training/handwritten``) and documents found in this Python installation (standard-library
sources and installed packages' licence files: real pasted code and licences), splits every
source into train / validation / test by group (seeded), trains logistic heads and a small
network over the features of ``guardrails.detector.features`` (one head per attack, language
and hazard category, plus ``harmful_response`` and ``refusal`` for answers), then the response
model that reads an answer with its prompt, writes ``guardrails/data/builtin/{meta.json,
weights.npz,mlp.npz}``, chooses thresholds on validation and scores validation, test, real
traffic, model answers and the never-trained-on sets with the *shipped* inference code.

``--cross`` also retrains with whole sources left out (cross-source generalisation);
``--operating-points`` prints figures at other thresholds. Deterministic for one installation:
fixed seeds, sorted inputs, single-threaded solvers. Needs scikit-learn, scipy and torch (the
``train`` extra); inference needs numpy only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import site
import sys
import sysconfig
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guardrails.detector import frozen  # noqa: E402
from guardrails.detector.features import Unit, units  # noqa: E402
from guardrails.detector.model import DEFAULT_DIR, Detection, Detector, response_features  # noqa: E402
from guardrails.detector.training import (  # noqa: E402
    ATTACKS, BENIGN, EDGY, EVAL_ONLY, HANDWRITTEN_WEIGHT, HEADS, LINEAR_HEADS, MLP_KEYS, REAL_TRAFFIC, RESPONSE_UNSAFE,
    RESPONSES, SHORT, TOXIC, Example, Plan, Row, balanced, build_examples, calibration, choose_thresholds, is_safe,
    policy_score, recall_at_fpr, row_labels, save, source_weights,
)
from guardrails.taxonomy import HAZARDS  # noqa: E402

SEED = 0
ADAPT_TRAIN_UNITS = 32000
ADAPT_DATA = ROOT / "guardrails" / "data" / "adapt" / "features.npz"
DAVIDSON_TRAIN_CAP = {"toxic": 2200, "hate": 1000, "benign": 2600}
DAVIDSON_EVAL_CAP = 500
LENGTH_BANDS = ((0, 25), (25, 100), (100, 1000), (1000, 10**9))

# -- the hazard taxonomy: what older labels mean in it ------------------------------------------------

# Topic labels of our first writing rounds and of public sources -> hazard category (None: harmful, but
# no single category fits, e.g. "misinformation" that is not about elections; such rows train the
# umbrella heads and say nothing to the category heads).
OLD_TOPICS = {
    "chem_bio": "indiscriminate_weapons", "cyber": "non_violent_crimes", "drugs": "non_violent_crimes",
    "fraud": "non_violent_crimes", "illegal": "non_violent_crimes", "privacy": "privacy", "hate": "hate",
    "self_harm": "self_harm", "violence": "violent_crimes", "weapons": "violent_crimes", "threat": "violent_crimes",
    "harassment": None, "insult": None, "profanity": None, "misinformation": None, "sexual": "sex_crimes",
}
PUBLIC_TOPICS = {
    # HarmBench semantic categories
    "chemical_biological": "indiscriminate_weapons", "illegal": "non_violent_crimes",
    "cybercrime_intrusion": "non_violent_crimes", "copyright": "intellectual_property",
    # JailbreakBench categories
    "Malware/Hacking": "non_violent_crimes", "Physical harm": "violent_crimes", "Economic harm": "non_violent_crimes",
    "Fraud/Deception": "non_violent_crimes", "Sexual/Adult content": "sexual_content", "Privacy": "privacy",
    "Expert advice": "specialized_advice",
    # jailbreak_llms forbidden-question scenarios
    "Illegal Activity": "non_violent_crimes", "Hate Speech": "hate", "Malware": "non_violent_crimes",
    "Physical Harm": "violent_crimes", "Economic Harm": "non_violent_crimes", "Fraud": "non_violent_crimes",
    "Pornography": "sexual_content", "Privacy Violence": "privacy",
    # MultiJail tags (first tag)
    "Violence & incitement": "violent_crimes", "Discrimination & injustice": "hate",
    "Hate speech & offensive language": "hate", "Theft": "non_violent_crimes", "Weapons": "violent_crimes",
    "Substance abuse & banned substances": "non_violent_crimes", "Adult content": "sexual_content",
    "Terrorism & organized crime": "violent_crimes", "Animal abuse": "violent_crimes",
    "Property crime & vandalism": "non_violent_crimes", "Fraud & deception": "non_violent_crimes",
    "Soliciting personally identifiable information": "privacy",
    "Sexual exploitation & human trafficking": "sex_crimes", "Self-harm": "self_harm",
}
_MINOR = re.compile(r"\b(?:1[0-7]|[1-9])[- ]?(?:year|yr)s?[- ]?old\b|\bminor\b|\bchild|\bkid\b|\bkids\b|\bniece\b|"
                    r"\bnephew\b|\bstudent\b|\bschoolgirl|\bteen\b|\bpreteen|\bunderage|\bgrade\b", re.I)
_ELECTION = re.compile(r"elect|vote|voting|ballot|poll|wahl|élection|elecci|eleiç|選舉|选举|投票|выбор|голос", re.I)


def topic_category(topic: str | None, text: str) -> str | None:
    """A row's hazard category from its topic label (new labels are category names already)."""
    if not topic or topic == "-":
        return None
    if topic in HAZARDS:
        return topic
    if topic == "sexual":  # our early "sexual" requests were about abuse; some about minors
        return "child_exploitation" if _MINOR.search(text) else "sex_crimes"
    if topic == "misinformation":
        return "elections" if _ELECTION.search(text) else None
    return OLD_TOPICS.get(topic, PUBLIC_TOPICS.get(topic))



# -- data -------------------------------------------------------------------------------------------


def _group(d: dict) -> str:
    for key in ("jbb_index", "bipia_context_id", "multijail_id", "template_id", "xstest_id", "conv_id"):
        if key in d:
            return f"{key}:{d[key]}"
    return d["text"].strip().lower()


def _public_topic(d: dict) -> str | None:
    for key in ("harmbench_semantic_category", "jbb_category", "forbidden_scenario"):
        if d.get(key) in PUBLIC_TOPICS:
            return PUBLIC_TOPICS[d[key]]
    tags = d.get("multijail_tags")
    if tags:
        first = tags.strip("[]").split("', '")[0].strip("'\"")
        return PUBLIC_TOPICS.get(first)
    return None


def load_public(data_dir: Path) -> list[Row]:
    rows = []
    for path in sorted(data_dir.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            d = json.loads(line)
            if "label" not in d:
                continue  # PII span files
            category = d["category"]
            if category == "copyright":
                category = "harmful_request"
            hazard = "intellectual_property" if d["category"] == "copyright" else _public_topic(d)
            if category == "hate":
                hazard = "hate"
            rows.append(Row(d["text"], category, d["source"], _group(d), hazard, d.get("attack_text"), d.get("lang"),
                            d.get("prompt"), d))
    return rows


def load_handwritten(directory: Path) -> list[Row]:
    """Our own sentences: ``<category>[_vN].tsv``; lines ``lang<TAB>topic<TAB>text`` or, for answers,
    ``lang<TAB>topic<TAB>prompt<TAB>answer``. ``\\n`` in a text stands for a line break."""
    rows = []
    for path in sorted(directory.glob("*.tsv")):
        category = re.sub(r"_v\d+$", "", path.stem)
        version = path.stem[len(category) + 1:] or "v1"
        answers = category in RESPONSES
        for i, line in enumerate(path.open(encoding="utf-8")):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != (4 if answers else 3):
                raise ValueError(f"{path}:{i + 1}: expected {4 if answers else 3} TAB-separated fields, got {len(parts)}")
            lang, topic, *texts = (p.replace("\\n", "\n") for p in parts)
            prompt, text = (texts[0], texts[1]) if answers else (None, texts[0])
            rows.append(Row(text, category, "handwritten", "hw:" + _key(text), topic_category(topic, text), None, lang,
                            prompt, {"version": version, "topic": topic}))
    return rows


def load_environment_documents(max_files: int = 400) -> list[Row]:
    """Real documents a user may paste, read from this Python installation: standard-library
    sources and the licence files of installed packages. Training reads them where they are; none
    is copied into the repository. Sorted, so one installation always gives the same rows."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code = sorted(p for p in stdlib.rglob("*.py") if "test" not in p.parts and "site-packages" not in p.parts)
    licences = sorted({p for sp in site.getsitepackages() + [sysconfig.get_paths()["purelib"]]
                       for p in Path(sp).glob("*.dist-info/**/*") if p.is_file() and re.search(r"licen[cs]e|copying|notice", p.name, re.I)})
    rng = random.Random(SEED)
    rng.shuffle(code)
    rows = []
    seen: set[str] = set()
    for path in code[:max_files] + licences:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        digest = hashlib.sha256(text.encode()).hexdigest()
        if len(text.strip()) < 200 or digest in seen:
            continue
        seen.add(digest)
        # A paste is a piece of a file: a random window of 300-6,000 characters.
        n = len(text)
        size = min(n, int(300 * 20 ** rng.random()))
        start = rng.randrange(0, max(1, n - size))
        rows.append(Row(text[start:start + size], "env_doc", "env_licence" if path in licences else "env_code",
                        "env:" + digest[:16]))
    return rows


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def dedupe_handwritten(hand: list[Row], unseen: list[Row]) -> list[Row]:
    """Drop repeated hand-written texts (several writers) and any text also in the never-trained-on sets."""
    held_out = {_key(r.text) for r in unseen}
    seen: set[str] = set()
    out = []
    for r in hand:
        k = _key(r.text) + ("|" + _key(r.prompt) if r.prompt else "")
        if k in seen or _key(r.text) in held_out:
            continue
        seen.add(k)
        out.append(r)
    if len(out) < len(hand):
        print(f"hand-written: dropped {len(hand) - len(out)} repeated or held-out texts, {len(out)} kept")
    return out


def split(rows: list[Row], seed: int = SEED) -> dict[str, list[Row]]:
    """70 / 15 / 15 by group: a group's side comes from a seeded hash of (source, group), so adding
    rows or files never moves an existing row to another side. Sources never trained on are split
    50 / 50 into validation (thresholds) and test (reported figures)."""
    out: dict[str, list[Row]] = {"train": [], "val": [], "test": []}
    for r in sorted(rows, key=lambda r: (r.source, r.category, r.group)):
        h = int(hashlib.sha256(f"{seed}:{r.source}:{r.group}".encode()).hexdigest()[:8], 16) % 100
        if r.source in EVAL_ONLY:
            out["val" if h < 50 else "test"].append(r)
        else:
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
    docs += [r.text for r in train if r.source == "handwritten" and r.category in ("document", "pasted")] * 2
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


def response_pairs(rows: list[Row], seed: int = SEED) -> list[Row]:
    """(prompt, answer, label) rows for the response model: the hand-written answers with their own
    prompts, plus answers re-paired with other prompts of the same kind, so that the model learns
    the rule (a harmful request answered without a refusal) and not the particular pairs:
    harmful prompts + compliant harmful answers -> unsafe; harmful prompts + refusals, safe and
    edgy prompts + ordinary answers -> safe."""
    rng = random.Random(seed)
    answers = [r for r in rows if r.is_answer and r.prompt]
    harmful_prompts = [r.text for r in rows if r.category == "harmful_request" and len(r.text) < 600]
    jailbreaks = [r.text for r in rows if r.category == "jailbreak" and len(r.text) < 3000]
    safe_prompts = [r.text for r in rows if r.category in ("benign", "chat_turn", "roleplay", "code_request", "benign_edgy", "everyday")
                    and len(r.text) < 600]
    compliant = [r for r in answers if r.category in RESPONSE_UNSAFE]
    refusals = [r for r in answers if r.category == "refusal"]
    ordinary = [r for r in answers if r.category == "benign_response"]
    out = list(answers)
    if not (harmful_prompts and safe_prompts and compliant and refusals and ordinary):
        return out

    def pair(prompt: str, answer: Row, category: str, tag: str) -> Row:
        return Row(answer.text, category, "synth_pair", f"pair:{tag}:{len(out)}", answer.hazard, prompt=prompt)

    for a in compliant:
        prompt = rng.choice(jailbreaks) + "\n\n" + rng.choice(harmful_prompts) if jailbreaks and rng.random() < 0.3 else rng.choice(harmful_prompts)
        out.append(pair(prompt, a, "harmful_response_context", "comply"))
    for a in refusals:
        out.append(pair(rng.choice(harmful_prompts), a, "refusal", "refuse"))
    for a in ordinary:
        out.append(pair(rng.choice(safe_prompts), a, "benign_response", "ordinary"))
    return out


# -- training examples ------------------------------------------------------------------------------



_UNITS: dict[str, list[Unit]] = {}


def cached_units(text: str) -> list[Unit]:
    """units() of a text, memoised across the runs of one process (the cross-source runs)."""
    us = _UNITS.get(text)
    if us is None:
        us = _UNITS[text] = units(text)
    return us


# Length scaling of the n-gram features: 1/sqrt(max(n, MIN_BAG)) (see Detector.min_bag).
MIN_BAG = 48


def vectorize(examples: list[Example], vocab: dict[str, int], cues: dict[str, int]) -> sparse.csr_matrix:
    indptr, indices, data = [0], [], []
    nv = len(vocab)
    for ex in examples:
        bag = ex.unit.bag
        scale = 1.0 / math.sqrt(max(len(bag), MIN_BAG)) if bag else 0.0
        row = sorted({vocab[f] for f in bag if f in vocab})
        indices.extend(row)
        data.extend([scale] * len(row))
        crow = sorted({nv + cues[c] for c in ex.unit.cues if c in cues})
        indices.extend(crow)
        data.extend([1.0] * len(crow))
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data, np.float32), np.array(indices, np.int32), np.array(indptr)),
                             shape=(len(examples), nv + len(cues)))


def train(examples: list[Example], c_value: float, min_df: int = 3, max_features: int = 120000,
          linear_heads: tuple[str, ...] = LINEAR_HEADS):
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
    W = np.zeros((X.shape[1], len(linear_heads)), np.float64)
    b = np.zeros(len(linear_heads))
    for k, head in enumerate(linear_heads):
        mask = np.array([ex.labels[head] is not None for ex in examples])
        y = np.array([ex.labels[head] or 0 for ex in examples])[mask]
        sw = balanced(y, np.array([ex.weight for ex in examples])[mask])
        clf = LogisticRegression(C=c_value, solver="liblinear", max_iter=200, random_state=SEED)
        clf.fit(X[mask], y, sample_weight=sw)
        W[:, k] = clf.coef_[0]
        b[k] = clf.intercept_[0]
        print(f"  head {head}: {int(mask.sum())} units ({int(y.sum())} positive), {time.perf_counter() - t0:.1f} s", flush=True)
    print(f"  vocabulary {nv}", flush=True)
    # Keep the features that matter most (size), cues always.
    importance = np.abs(W[:nv]).max(axis=1)
    keep = np.sort(np.argsort(-importance)[:max_features])
    keep = keep[importance[keep] > 1e-4]
    meta = {"version": 2, "heads": list(HEADS), "linear_heads": list(linear_heads), "min_bag": MIN_BAG,
            "features": [vocab_list[i] for i in keep], "cues": cue_list}
    arrays = {"W": W[keep].astype(np.float16), "Wc": W[nv:].astype(np.float32), "b": b.astype(np.float32)}
    return meta, arrays


# The network half of the detector (guardrails.detector.model.Detector): feature embedding of DIM
# (int8 + a scale per row), one ReLU layer of HIDDEN, plus a linear part of its own. Wider per-feature
# embeddings (128-256) scored up to 0.03 higher on test but weigh 15-30 MB; this one stays under 5 MB
# (docs/builtin-model-card.md, "Network size"; scripts/sweep_builtin_network.py).
MLP = {"dim": 32, "hidden": 256, "dropout": 0.6, "epochs": 16, "lr": 2e-3, "batch": 256}


class Network(torch.nn.Module):
    """Feature embedding (``dim`` wide; 0: ``hidden`` wide, no projection), one ReLU layer of
    ``hidden``, one output per head, plus a linear part of its own over the same features."""

    def __init__(self, n_in: int, hidden: int, dim: int, k: int = len(HEADS)) -> None:
        super().__init__()
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
    y = np.array([[ex.labels[h] or 0 for h in HEADS] for ex in examples], np.float32)
    known = np.array([[ex.labels[h] is not None for h in HEADS] for ex in examples], np.float32)
    return y, known, np.array([ex.weight for ex in examples], np.float32)


def fit_network(X: sparse.csr_matrix, y: np.ndarray, known: np.ndarray, w: np.ndarray, *, hidden: int, dim: int,
                dropout: float, epochs: int, seed: int = SEED, device: str = "cpu") -> Network:
    """Adam with a linearly decaying rate, masked and weighted binary cross-entropy, feature dropout."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = Network(X.shape[1], hidden, dim, y.shape[1]).to(device)
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
    return export_network(net, len(vocab))


def export_network(net: Network, nv: int) -> dict[str, np.ndarray]:
    """The arrays of ``mlp.npz`` / ``embedding.npz`` (``MLP_KEYS`` and ``E``) of a trained network whose
    first ``nv`` inputs are n-gram features (the rest: cues): the n-gram embedding and linear part in
    int8 with float16 scales, the rest as float32 (read by guardrails.detector.model.Detector)."""
    e = net.emb.weight.detach().numpy()
    scale = (np.abs(e[:nv]).max(axis=1) / 127.0).astype(np.float16).astype(np.float32)  # stored as float16
    scale[scale == 0] = 1.0
    lw = net.wide.weight.detach().numpy()
    # The linear part in int8 with one scale per head (float16 would put the file over 5 MB).
    lscale = (np.abs(lw[:nv]).max(axis=0) / 127.0).astype(np.float16).astype(np.float32)
    lscale[lscale == 0] = 1.0
    return {
        "E": np.clip(np.round(e[:nv] / scale[:, None]), -127, 127).astype(np.int8), "Es": scale.astype(np.float16),
        "Ec": e[nv:].astype(np.float32), "P": net.proj.weight.detach().numpy().T.copy(),
        "b1": net.b1.detach().numpy().copy(), "W2": net.out.weight.detach().numpy().T.copy(),
        "b2": net.out.bias.detach().numpy().copy(),
        "L": np.clip(np.round(lw[:nv] / lscale), -127, 127).astype(np.int8), "Ls": lscale.astype(np.float16),
        "Lc": lw[nv:].astype(np.float32),
    }


# -- the response model -----------------------------------------------------------------------------

_DETECTIONS: dict[str, Detection] = {}


def detect(det: Detector, text: str) -> Detection:
    """The shipped inference path (units() + Detector.score_units), memoised per detector run."""
    d = _DETECTIONS.get(text)
    if d is None:
        d = _DETECTIONS[text] = det.score_units(cached_units(text)) if len(text) <= 4000 else det.score(text)
    return d


def response_matrix(det: Detector, rows: list[Row], drop_prompt: Iterable[bool] | None = None) -> tuple[np.ndarray, list[str]]:
    drops = list(drop_prompt) if drop_prompt is not None else [False] * len(rows)
    feats = []
    for r, drop in zip(rows, drops):
        prompt = None if drop or not r.prompt else detect(det, r.prompt)
        feats.append(response_features(detect(det, r.text), prompt))
    names = list(feats[0]) if feats else []
    return np.array([[f[n] for n in names] for f in feats]), names


def train_response_model(det: Detector, pairs: list[Row]) -> dict | None:
    """Logistic regression over response_features(); a quarter of the rows without their prompt so the
    model also works when check_output gets no prompt."""
    if not pairs:
        return None
    rng = random.Random(SEED)
    drops = [rng.random() < 0.25 for _ in pairs]
    X, names = response_matrix(det, pairs, drops)
    y = np.array([r.category in RESPONSE_UNSAFE for r in pairs], int)
    if y.min() == y.max():
        return None  # one kind of answer only: nothing to learn
    # Strongly regularised: the same ranking as C=1 on validation, with scores that do not pile up at 0.999+.
    clf = LogisticRegression(C=0.01, max_iter=2000, random_state=SEED)
    clf.fit(X, y, sample_weight=balanced(y, np.ones(len(y))))
    print(f"  response model on {len(pairs)} pairs ({int(y.sum())} unsafe): "
          + ", ".join(f"{n} {c:+.2f}" for n, c in zip(names, clf.coef_[0])), flush=True)
    return {"features": names, "coef": [round(float(c), 6) for c in clf.coef_[0]], "intercept": round(float(clf.intercept_[0]), 6)}


# -- scoring and thresholds -------------------------------------------------------------------------


def score_rows(det: Detector, rows: list[Row]) -> np.ndarray:
    """Per row, the head probabilities (inputs: the text; answers: the answer with the response model
    in the harmful_response column)."""
    out = np.zeros((len(rows), len(HEADS)))
    k = HEADS.index("harmful_response")
    for i, r in enumerate(rows):
        d = detect(det, r.text)
        out[i] = [d.scores[h] for h in HEADS]
        if r.is_answer:
            out[i, k] = det.response_score(d, detect(det, r.prompt) if r.prompt else None)
    return out


# -- reports ----------------------------------------------------------------------------------------


def _rate(mask: np.ndarray, flags: np.ndarray) -> tuple[float, int]:
    return (float(flags[mask].mean()), int(mask.sum())) if mask.any() else (float("nan"), 0)


def report(name: str, rows: list[Row], scores: np.ndarray, plan: Plan) -> dict:
    flags = plan.flags(rows, scores)
    cats = np.array([r.category for r in rows])
    srcs = np.array([r.source for r in rows])
    answers = np.array([r.is_answer for r in rows])
    safe = np.array([is_safe(r) for r in rows])
    out = {}
    out["attack_recall"] = _rate(np.isin(cats, ATTACKS), flags)
    out["benign_fpr_no_tweets"] = _rate(np.isin(cats, BENIGN) & (srcs != "davidson_hso"), flags)
    out["short_fpr"] = _rate(safe & ~answers & (np.array([len(r.text) for r in rows]) < SHORT), flags)
    out["edgy_fpr"] = _rate(np.isin(cats, EDGY), flags)
    out["toxicity_recall"] = _rate(np.isin(cats, TOXIC), flags)
    out["harmful_content_recall"] = _rate(cats == "harmful_content", flags)
    out["answers_unsafe_caught"] = _rate(answers & ~safe, flags)
    out["answers_safe_flagged"] = _rate(answers & safe, flags)
    for c in ATTACKS:
        out[f"recall/{c}"] = _rate(cats == c, flags)
    print(f"\n== {name}")
    for k, (v, n) in out.items():
        if n:
            print(f"  {k:28s} {v:.3f}  (n={n})")
    print("  per source/category: flagged fraction")
    for src in sorted(set(srcs)):
        for cat in sorted(set(cats[srcs == src])):
            m = (srcs == src) & (cats == cat)
            print(f"    {src:28s} {cat:26s} {flags[m].mean():.3f}  (n={int(m.sum())})")
    return out


def real_traffic_report(rows: list[Row], scores: np.ndarray, plan: Plan, title: str) -> None:
    """Real user traffic: FPR per source and length band, precision, and ToxicChat's AUPRC."""
    flags = plan.flags(rows, scores)
    inputs = [i for i, r in enumerate(rows) if r.source in REAL_TRAFFIC]
    print(f"\n== real traffic ({title}): flagged / n per length band (characters)")
    for src in REAL_TRAFFIC:
        idx = [i for i in inputs if rows[i].source == src]
        if not idx:
            continue
        safe = [i for i in idx if is_safe(rows[i])]
        bands = []
        for lo, hi in LENGTH_BANDS:
            b = [i for i in safe if lo <= len(rows[i].text) < hi]
            bands.append(f"[{lo},{hi if hi < 10**9 else 'inf'}): {int(flags[b].sum())}/{len(b)}")
        fpr = flags[safe].mean() if safe else float("nan")
        line = f"  {src:12s} benign FPR {fpr:.3f} (n={len(safe)}); " + "; ".join(bands)
        unsafe = [i for i in idx if not is_safe(rows[i])]
        if unsafe:
            y = np.array([not is_safe(rows[i]) for i in idx])
            s = policy_score(rows, scores, plan)[idx]
            tp, fp = int(flags[unsafe].sum()), int(flags[safe].sum())
            line += (f"\n               recall {flags[unsafe].mean():.3f} (n={len(unsafe)}), precision {tp / max(tp + fp, 1):.3f}, "
                     f"AUPRC {average_precision_score(y, s):.3f}, recall at FPR<=0.03 {recall_at_fpr(y, s, 0.03):.3f}")
        print(line)


def output_report(rows: list[Row], scores: np.ndarray, plan: Plan, title: str, trained_prompts: set[str]) -> None:
    """Model answers checked on the output stage with their prompts."""
    flags = plan.flags(rows, scores)
    print(f"\n== model answers ({title}), output stage with the prompt")
    for src in sorted({r.source for r in rows if r.is_answer}):
        idx = [i for i, r in enumerate(rows) if r.source == src and r.is_answer]
        for label, sel in (("all", idx), ("prompt never trained on", [i for i in idx if _key(rows[i].prompt or "") not in trained_prompts])):
            y = np.array([not is_safe(rows[i]) for i in sel])
            if not len(sel) or not y.any():
                continue
            f = flags[sel]
            s = scores[sel, HEADS.index("harmful_response")]
            cats = Counter(rows[i].category for i in sel)
            refusals = [j for j, i in enumerate(sel) if rows[i].meta.get("xstest_final_label") == "2_full_refusal"]
            extra = f", refusals flagged {f[refusals].mean():.3f} (n={len(refusals)})" if refusals else ""
            print(f"  {src:20s} {label:24s} caught {f[y].mean():.3f} (n={int(y.sum())}), safe flagged {f[~y].mean():.3f} "
                  f"(n={int((~y).sum())}){extra}, AUPRC {average_precision_score(y, s):.3f} {dict(cats)}")


def category_report(rows: list[Row], scores: np.ndarray, plan: Plan, title: str) -> None:
    """Per hazard category: unsafe rows of that category caught (by any enforced head) and by the
    category's own head at the default 0.5, with the head's AUPRC against safe rows."""
    flags = plan.flags(rows, scores)
    safe = np.array([is_safe(r) for r in rows])
    print(f"\n== hazard categories ({title}): caught by the policy / own head >= 0.5 / own head AUPRC vs safe rows")
    for h in HAZARDS:
        idx = np.array([r.hazard == h and not is_safe(r) for r in rows])
        if not idx.any():
            continue
        col = scores[:, HEADS.index(h)]
        sel = idx | safe
        ap = average_precision_score(idx[sel], col[sel]) if sel.any() else float("nan")
        own_fpr = (col[safe] >= 0.5).mean() if safe.any() else float("nan")
        print(f"  {h:24s} {flags[idx].mean():.3f} / {(col[idx] >= 0.5).mean():.3f} (n={int(idx.sum())}); "
              f"own head >= 0.5 on safe rows {own_fpr:.3f}; AUPRC {ap:.3f}")


def everyday_check(det: Detector, plan: Plan, path: Path) -> None:
    """How many of our everyday requests (training/everyday_requests.txt, never trained on) get flagged."""
    if not path.is_file():
        return
    texts = [t for t in path.read_text("utf-8").splitlines() if t.strip() and not t.startswith("#")]
    flagged = [t for t in texts if any(det.score(t).scores[h] >= v for h, v in plan.input.items())]
    print(f"\n== everyday requests flagged: {len(flagged)} / {len(texts)}" + "".join(f"\n    {t!r}" for t in flagged))


def show_errors(rows: list[Row], scores: np.ndarray, plan: Plan, n: int) -> None:
    """Print the worst false positives and misses (developer aid; texts truncated)."""
    flags = plan.flags(rows, scores)
    ps = policy_score(rows, scores, plan)
    fps = [(ps[i], r) for i, r in enumerate(rows) if flags[i] and is_safe(r)]
    misses = [(ps[i], r) for i, r in enumerate(rows) if not flags[i] and not is_safe(r)]
    for title, items, rev in (("false positives", fps, True), ("misses", misses, False)):
        print(f"-- {title}: {len(items)}")
        for sc, r in sorted(items, key=lambda x: x[0], reverse=rev)[:n]:
            top = max(plan.output if r.is_answer else plan.input, key=lambda h: scores[rows.index(r), HEADS.index(h)])
            print(f"   {sc:.2f} {top:18s} {r.source}/{r.category}: {r.text[:140]!r}")


def per_language(rows: list[Row], scores: np.ndarray, plan: Plan) -> None:
    flags = plan.flags(rows, scores)
    by: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r, f in zip(rows, flags):
        if r.lang:
            by[(r.lang, "safe" if is_safe(r) else "unsafe")].append(bool(f))
    print("  per language (flagged fraction):", ", ".join(
        f"{lang}/{kind}={np.mean(v):.2f}(n={len(v)})" for (lang, kind), v in sorted(by.items())))


def operating_points(sets: dict[str, tuple[list[Row], np.ndarray]], plan: Plan) -> None:
    """The validated thresholds against stricter and looser ones, on every evaluation set."""
    print("\n== operating points: attack recall / benign FPR / short FPR / edgy FPR / toxicity recall / answers caught"
          " / safe answers flagged")
    shifts = [("validated", 0.0), ("all heads -0.05", -0.05), ("all heads -0.1", -0.1), ("all heads +0.03", 0.03)]
    print("| thresholds | " + " | ".join(sets) + " |")
    for name, d in shifts:
        p = Plan({h: min(0.999, t + d) for h, t in plan.input.items()}, {h: min(0.999, t + d) for h, t in plan.output.items()})
        cells = []
        for rows, scores in sets.values():
            f = p.flags(rows, scores)
            cats = np.array([r.category for r in rows])
            ans = np.array([r.is_answer for r in rows])
            safe = np.array([is_safe(r) for r in rows])
            short = safe & ~ans & (np.array([len(r.text) for r in rows]) < SHORT)
            parts = [f[np.isin(cats, ATTACKS)], f[np.isin(cats, BENIGN)], f[short], f[np.isin(cats, EDGY)],
                     f[np.isin(cats, TOXIC)], f[ans & ~safe], f[ans & safe]]
            cells.append(" / ".join(f"{x.mean():.3f}" if len(x) else "-" for x in parts))
        print(f"| {name} | " + " | ".join(cells) + " |")


def calibrate(det: Detector, rows: list[Row]) -> dict[str, list[float]]:
    """Per-head Platt scaling (guardrails.detector.training.calibration) on the largest unit logit of each row."""
    logits = np.array([det.unit_logits(cached_units(r.text)).max(axis=0) for r in rows])
    out = calibration(logits, [row_labels(r) for r in rows])
    print("  calibration (a, c): " + ", ".join(f"{h} {a:.2f} {c:+.2f}" for h, (a, c) in out.items()), flush=True)
    return out


def train_examples(rows: list[Row]) -> list[Example]:
    """The training rows (never the eval-only sources) with our synthetic documents, as examples."""
    train_rows = [r for r in rows if r.source not in EVAL_ONLY]
    train_rows = train_rows + synth_documents(train_rows)
    return build_examples(train_rows, cached_units, source_weights(train_rows, HANDWRITTEN_WEIGHT))


# Licence of each source whose features guardrails/data/adapt ships (README of the data directory).
SHIPPED_LICENCES = {
    "advbench": "MIT", "harmbench": "MIT", "jbb_harmful": "MIT", "jbb_benign": "MIT", "jbb_artifacts": "MIT",
    "xstest": "CC-BY-4.0", "jailbreak_llms": "MIT", "jailbreak_llms_forbidden_q": "MIT",
    "giskard_pi": "MIT (+garak Apache-2.0, PromptInject MIT)", "bipia_email": "MIT", "davidson_hso": "MIT",
    "toxigen_demos": "MIT", "self_instruct": "Apache-2.0", "gsm8k": "MIT", "mtbench_vicuna": "Apache-2.0",
    "awesome_chatgpt_prompts": "CC0-1.0", "humaneval": "MIT", "mbpp": "CC-BY-4.0", "truthfulqa": "Apache-2.0",
    "multijail": "MIT", "arena_hard": "Apache-2.0", "multiwoz": "MIT",
    "handwritten": "this project's own (Apache-2.0)", "synth_doc": "derived from handwritten + bipia_email (MIT)",
    "env_code": "Python standard library (PSF-2.0)", "env_licence": "licence texts of installed packages",
}
for _src in ("unseen_v1", "unseen_v2", "unseen_v3", "unseen_v4"):
    SHIPPED_LICENCES[_src] = "this project's own (Apache-2.0)"


def adapt_rows(splits: dict[str, list[Row]], unseen: list[Row]) -> tuple[list[Row], list[Row]]:
    """The validation and never-trained-on rows whose features guardrails/data/adapt ships."""
    return ([r for r in splits["val"] if r.source not in EVAL_ONLY and len(r.text) <= 4000],
            [r for r in unseen if len(r.text) <= 4000])


def export_adapt_ngrams(det: Detector, splits: dict[str, list[Row]], unseen: list[Row], path: Path) -> None:
    """Only the hashed n-grams beside an existing features file (the rows checked against it)."""
    t0 = time.perf_counter()
    _, shipped, _ = frozen.load_sets(path)
    val, guard = adapt_rows(splits, unseen)
    scored = {"val": frozen.scored_of(det, val, cached_units), "guard": frozen.scored_of(det, guard, cached_units)}
    for name, s in scored.items():
        have = [(r.category, r.source, r.chars) for r in shipped[name].rows]
        if have != [(r.category, r.source, r.chars) for r in s.rows]:
            bad = next(i for i, (a, b) in enumerate(zip(have, [(r.category, r.source, r.chars) for r in s.rows])) if a != b) if len(have) == len(s.rows) else -1
            raise SystemExit(f"{path}: its {name} rows are not these rows ({len(have)} vs {len(s.rows)}, first difference at {bad}: "
                             f"{have[bad] if bad >= 0 else None} vs {(s.rows[bad].category, s.rows[bad].source, s.rows[bad].chars) if bad >= 0 else None}); "
                             "run --adapt-data-only to write both files")
    frozen.save_ngrams(frozen.ngrams_path(path), scored)
    out = frozen.ngrams_path(path)
    print(f"adapt n-grams: {len(val)} validation rows, {len(guard)} never-trained-on rows -> {out} "
          f"({out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")


def export_adapt_data(det: Detector, splits: dict[str, list[Row]], unseen: list[Row], path: Path) -> None:
    """Write the frozen features of the training examples, the validation rows (calibration, thresholds)
    and the never-trained-on rows (the regression guard of ``guardrails adapt``): no text, only the
    detector's unit inputs; sources with a non-commercial licence or unreviewed terms are left out."""
    t0 = time.perf_counter()
    examples = train_examples(splits["train"])
    # A uniform sample (weights scaled up) keeps the shipped file under ~4 MB.
    ex = frozen.sample(frozen.examples_of(det, [(e.unit, e.labels, e.weight) for e in examples]), ADAPT_TRAIN_UNITS)
    val, guard = adapt_rows(splits, unseen)
    scored = {"val": frozen.scored_of(det, val, cached_units), "guard": frozen.scored_of(det, guard, cached_units)}
    frozen.save_ngrams(frozen.ngrams_path(path), scored)
    sources = sorted({r.source for r in splits["train"] + val + guard if r.source not in EVAL_ONLY} | {"synth_doc"})
    missing = [s for s in sources if s not in SHIPPED_LICENCES]
    if missing:
        raise SystemExit(f"no licence recorded for {missing}: add them to SHIPPED_LICENCES or leave them out")
    weights_sha = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(DEFAULT_DIR.glob("*.npz"))}
    manifest = {"format": 1, "detector": weights_sha, "licences": {s: SHIPPED_LICENCES[s] for s in sources},
                "left_out": {s: "non-commercial licence or model providers' terms: never shipped" for s in EVAL_ONLY},
                "counts": {"train_units": len(ex), "train_units_before_sampling": len(examples), "val_rows": len(val), "guard_rows": len(guard)}}
    path.parent.mkdir(parents=True, exist_ok=True)
    frozen.save_sets(path, ex, scored, manifest)
    print(f"adapt data: {len(ex)} training units, {len(val)} validation rows, {len(guard)} never-trained-on rows "
          f"-> {path} ({path.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - t0:.1f} s")


def fit_and_eval(rows_by_split, args, out_dir: Path | None, label: str):
    t0 = time.perf_counter()
    train_rows = [r for r in rows_by_split["train"] if r.source not in EVAL_ONLY]
    train_rows = train_rows + synth_documents(train_rows)
    examples = train_examples(rows_by_split["train"])
    meta, arrays = train(examples, args.C, min_df=args.min_df, linear_heads=HEADS if args.linear_only else LINEAR_HEADS)
    if not args.linear_only:
        arrays.update(train_mlp(examples, meta, args.epochs))
        meta["mlp"] = {k: MLP[k] for k in ("dim", "hidden")}
    det = Detector(meta, dict(arrays))
    # Calibrated on the validation rows we may train on (not the eval-only sources, which choose thresholds).
    meta["calibration"] = calibrate(det, [r for r in rows_by_split["val"] if r.source not in EVAL_ONLY and len(r.text) <= 4000])
    det = Detector(meta, dict(arrays))
    _DETECTIONS.clear()
    meta["response_stacker"] = train_response_model(det, response_pairs(train_rows))
    print(f"[{label}] trained on {len(train_rows)} rows / {len(examples)} units, "
          f"{len(meta['features'])} features, in {time.perf_counter() - t0:.1f} s")
    det = Detector(meta, dict(arrays))
    if out_dir is not None:
        save(meta, arrays, out_dir)
        det = Detector.load(out_dir)
    _DETECTIONS.clear()
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
    ap.add_argument("--no-environment", action="store_true", help="skip the documents of this Python installation")
    ap.add_argument("--operating-points", action="store_true", help="also print figures at other thresholds")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--errors", type=int, default=0, help="print the N worst validation errors")
    ap.add_argument("--cross", action="store_true", help="also run the leave-sources-out experiments")
    ap.add_argument("--cross-only", action="store_true", help="only the leave-sources-out experiments")
    ap.add_argument("--eval-only", action="store_true", help="score the saved model, choose thresholds, no training")
    ap.add_argument("--adapt-data", type=Path, default=None, metavar="NPZ",
                    help=f"write the frozen training features for `guardrails adapt` (shipped: {ADAPT_DATA})")
    ap.add_argument("--adapt-data-only", action="store_true", help="only write --adapt-data for the saved model")
    ap.add_argument("--adapt-ngrams-only", action="store_true",
                    help="only write the hashed n-grams (ngrams.npz) beside an existing --adapt-data file")
    args = ap.parse_args(argv)
    random.seed(SEED)
    np.random.seed(SEED)
    HANDWRITTEN_WEIGHT = args.hw_weight

    public = load_public(args.data)
    hand = load_handwritten(args.handwritten)
    unseen_rows = load_handwritten(args.unseen) if args.unseen.is_dir() else []
    hand = dedupe_handwritten(hand, unseen_rows)
    for r in unseen_rows:
        r.source = "unseen_" + r.meta["version"]
    env = [] if args.no_environment else load_environment_documents()
    if args.cross_only:
        cross(public, hand + env, args)
        return 0
    splits = split(public + hand + env)
    splits["train"] = cap_davidson(splits["train"], DAVIDSON_TRAIN_CAP)
    splits["val"] = cap_davidson(splits["val"], DAVIDSON_EVAL_CAP)
    splits["test"] = cap_davidson(splits["test"], DAVIDSON_EVAL_CAP)
    for name in ("train", "val", "test"):
        print(f"{name}: {len(splits[name])} rows", dict(sorted(Counter(r.category for r in splits[name]).items())))
    if args.adapt_ngrams_only:
        export_adapt_ngrams(Detector.load(args.out), splits, unseen_rows, args.adapt_data or ADAPT_DATA)
        return 0
    if args.adapt_data_only:
        export_adapt_data(Detector.load(args.out), splits, unseen_rows, args.adapt_data or ADAPT_DATA)
        return 0
    if args.eval_only:
        det = Detector.load(args.out)
        meta = {k: v for k, v in det.meta.items() if k != "thresholds"}
    else:
        det, meta = fit_and_eval(splits, args, None if args.no_save else args.out, "main")
    val_scores = score_rows(det, splits["val"])
    plan = choose_thresholds(splits["val"], val_scores)
    print(f"\nthresholds: input {plan.input}\n            output {plan.output}")
    report("validation", splits["val"], val_scores, plan)
    if args.errors:
        show_errors(splits["val"], val_scores, plan, args.errors)
    test_scores = score_rows(det, splits["test"])
    report("test (held-out groups of every source)", splits["test"], test_scores, plan)
    per_language(splits["test"], test_scores, plan)
    real_traffic_report(splits["test"], test_scores, plan, "test halves / test splits")
    trained_prompts = {_key(r.text) for r in splits["train"]}
    output_report(splits["test"], test_scores, plan, "test halves", trained_prompts)
    category_report(splits["test"], test_scores, plan, "test")
    unseen_scores = score_rows(det, unseen_rows) if unseen_rows else np.zeros((0, len(HEADS)))
    versions = np.array([r.meta["version"] for r in unseen_rows])
    for version in sorted(set(versions)):
        idx = np.flatnonzero(versions == version)
        part, part_scores = [unseen_rows[i] for i in idx], unseen_scores[idx]
        report(f"hand-written, never trained on (training/unseen, {version})", part, part_scores, plan)
        per_language(part, part_scores, plan)
    if unseen_rows:
        report("all never-trained-on sets together", unseen_rows, unseen_scores, plan)
        category_report(unseen_rows, unseen_scores, plan, "never trained on")
    everyday_check(det, plan, ROOT / "training" / "everyday_requests.txt")
    if args.operating_points:
        operating_points({"validation": (splits["val"], val_scores), "test": (splits["test"], test_scores),
                          "never trained on": (unseen_rows, unseen_scores)}, plan)
    if not args.no_save:
        meta_thr = dict(meta, thresholds={"input": plan.input, "output": plan.output})
        with open(args.out / "meta.json", "w", encoding="utf-8") as fh:
            json.dump(meta_thr, fh, ensure_ascii=False, separators=(",", ":"))
        digests = ", ".join(f"{p.name} sha256 {hashlib.sha256(p.read_bytes()).hexdigest()}"
                            for p in sorted(args.out.glob("*.npz")))
        print(f"\nsaved {args.out} ({digests})")
    if args.adapt_data and not args.no_save:
        export_adapt_data(Detector.load(args.out), splits, unseen_rows, args.adapt_data)
    if args.cross:
        cross(public, hand + env, args)
    return 0


CROSS_GROUPS = [
    ("harmbench", "jailbreak_llms_forbidden_q"),  # harmful requests from sources never seen
    ("jbb_artifacts",),  # jailbreak attack styles (PAIR, GCG, ...) never seen
    ("toxigen_demos",),  # toxicity outside tweets
    ("bipia_email",),  # indirect injection in emails, only our synthetic documents left
    ("xstest",),  # edgy-but-safe prompts and their unsafe contrasts
    ("multiwoz", "arena_hard"),  # real benign traffic never seen
]


def cross(public: list[Row], rest: list[Row], args) -> None:
    """Leave whole sources out of training; thresholds from that run's validation; score the left-out sources."""
    print("\n== cross-source: each group left out of training entirely, scored on all its rows")
    for group in CROSS_GROUPS:
        kept = [r for r in public if r.source not in group]
        left = [r for r in public if r.source in group]
        splits = split(kept + rest)
        splits["train"] = cap_davidson(splits["train"], DAVIDSON_TRAIN_CAP)
        splits["val"] = cap_davidson(splits["val"], DAVIDSON_EVAL_CAP)
        det, _ = fit_and_eval(splits, args, None, "without " + "+".join(group))
        plan = choose_thresholds(splits["val"], score_rows(det, splits["val"]))
        left = cap_davidson(left, DAVIDSON_EVAL_CAP)
        report("left out: " + "+".join(group), left, score_rows(det, left), plan)


if __name__ == "__main__":
    raise SystemExit(main())
