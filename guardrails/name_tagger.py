"""Offline PERSON / LOCATION tagger: capitalised-token candidates scored by a small linear model.

No network, no spaCy, no scikit-learn: a regex tokenizer, hashed features (word, shape, affixes,
context words and cues, gazetteer membership of first names, last names and places) and a
softmax over ``O / PERSON / LOCATION`` computed with numpy. Runs of tagged tokens (with name
particles such as "van der", "de la", "von" between them) become spans. Weights and
gazetteers ship under ``guardrails/data/pii_names`` and load on first use; the script that makes
them is ``scripts/train_pii_names.py``.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from guardrails.runtime import shared_model

DATA_DIR = Path(__file__).resolve().parent / "data" / "pii_names"
LABELS = ("O", "PERSON", "LOCATION")
N_FEATURES = 1 << 18
GAZETTEER_KINDS = ("first", "last", "place", "word")  # word: frequent words of the languages

# Words, with inner apostrophes and hyphens (O'Brien, Jean-Luc), or one other visible character.
# Words, joined over hyphens and apostrophes (O'Brien, Jean-Luc, You're); a possessive 's is split off.
_TOKEN = re.compile(r"[^\W\d_]+(?:(?:-|['’](?![sS]\b))[^\W\d_]+)*|\d+|\S")
PARTICLES = frozenset({
    "van", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "do", "du", "la", "le", "von", "zu",
    "y", "ten", "ter", "'t", "bin", "ibn", "al", "mc", "st",
})
# Forms of address: never part of a name span (a name after them is).
ADDRESS_FORMS = frozenset({
    "mr", "mrs", "ms", "miss", "dr", "prof", "sir", "herr", "frau", "m", "mme", "mlle", "monsieur", "madame",
    "mademoiselle", "sr", "sra", "srta", "señor", "señora", "don", "doña", "sig", "signor", "signora", "dott",
    "senhor", "senhora", "dhr", "mevr", "meneer", "mevrouw", "pan", "pani", "panie", "panią",
})
# Abbreviations whose full stop does not end a sentence (titles before a name).
TITLES = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "sr", "sra", "srta", "jr", "mme", "mlle", "hr", "fr", "sig", "dott", "ing", "mgr", "dhr", "mevr"})
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
_SENTENCE_END = frozenset({".", "!", "?", ":", ";", "\n", '"', "“", "«", "(", "-", "–", "*", "#", ">"})


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int
    new_line: bool = False  # a line break comes before it


@dataclass(frozen=True)
class TaggedSpan:
    start: int
    end: int
    label: str
    score: float


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    end = 0
    for m in _TOKEN.finditer(text):
        out.append(Token(m.group(), m.start(), m.end(), "\n" in text[end : m.start()]))
        end = m.end()
    return out


def is_capitalised(word: str) -> bool:
    return word[:1].isupper() and word[:1].isalpha()


def shape(word: str) -> str:
    """Letter classes with repeats collapsed: Xx, X, x, Xx-Xx, d, ."""
    out: list[str] = []
    for c in word:
        k = "X" if c.isupper() else "x" if c.isalpha() else "d" if c.isdigit() else c
        if not out or out[-1] != k:
            out.append(k)
    return "".join(out)[:6]


class Gazetteer:
    """Lower-cased tokens by kind: first names, last names, places (cities, regions, countries), common words."""

    def __init__(self, sets: dict[str, frozenset[str]]) -> None:
        self.sets = {k: sets.get(k, frozenset()) for k in GAZETTEER_KINDS}

    @classmethod
    def load(cls, path: Path) -> "Gazetteer":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = json.load(fh)
        return cls({k: frozenset(raw.get(k, ())) for k in GAZETTEER_KINDS})

    def flags(self, word: str) -> str:
        low = word.lower()
        return "".join(k[0] for k in GAZETTEER_KINDS if low in self.sets[k]) or "-"


def candidates(tokens: list[Token]) -> list[bool]:
    """Tokens that may be part of a name: capitalised words, and particles between two of them."""
    cap = [len(t.text) > 1 and is_capitalised(t.text) for t in tokens]
    out = list(cap)
    for i, t in enumerate(tokens):
        if not cap[i] and t.text.lower() in PARTICLES:
            j = i + 1
            while j < len(tokens) and tokens[j].text.lower() in PARTICLES and not cap[j]:
                j += 1
            if i > 0 and cap[i - 1] and j < len(tokens) and cap[j]:
                for k in range(i, j):
                    out[k] = True
    return out


@dataclass(frozen=True)
class Doc:
    """A tokenized text and what features need to know about all of it."""

    tokens: list[Token]
    candidates: list[bool]
    flags: list[str]  # gazetteer flags per token ("-" for non-candidates)
    lower_words: frozenset[str]  # words written in lower case somewhere in the text
    shouting: bool  # most words are upper case

    @classmethod
    def of(cls, text: str, gaz: Gazetteer) -> "Doc":
        tokens = tokenize(text)
        cand = candidates(tokens)
        for m in _PLACEHOLDER.finditer(text):  # <PERSON_1>, <EMAIL_ADDRESS>: the engine's placeholders
            for k, t in enumerate(tokens):
                if m.start() <= t.start < m.end():
                    cand[k] = False
        flags = [gaz.flags(t.text) if c else "-" for t, c in zip(tokens, cand)]
        words = [t.text for t in tokens if t.text[:1].isalpha()]
        upper = sum(1 for w in words if w.isupper() and len(w) > 1)
        return cls(tokens, cand, flags, frozenset(w for w in words if w.islower()), upper * 2 > len(words) >= 3)


def features(doc: Doc, i: int) -> list[str]:
    """Feature strings of token ``i`` of ``doc``."""
    tokens, flags = doc.tokens, doc.flags
    w = tokens[i].text
    low = w.lower()

    def word(j: int) -> str:
        if j < 0:
            return "<s>"
        if j >= len(tokens):
            return "</s>"
        return tokens[j].text.lower()

    def shp(j: int) -> str:
        return shape(tokens[j].text) if 0 <= j < len(tokens) else "_"

    def flg(j: int) -> str:
        return flags[j] if 0 <= j < len(tokens) else "_"

    p1, p2, n1, n2 = word(i - 1), word(i - 2), word(i + 1), word(i + 2)
    start = i == 0 or (p1 in _SENTENCE_END and not (p1 == "." and p2 in TITLES))
    start = start or tokens[i].new_line
    sh = shape(w)
    g = flags[i]
    return [
        "b", f"w={low}", f"sh={sh}", f"s3={low[-3:]}", f"s2={low[-2:]}", f"p3={low[:3]}", f"g={g}",
        f"st={start}", f"st|g={start}|{g}", f"len={min(len(w), 12)}", f"up={w.isupper()}",
        f"p1={p1}", f"p2={p2}", f"n1={n1}", f"n2={n2}", f"p2p1={p2} {p1}", f"n1n2={n1} {n2}",
        f"p1sh={shp(i - 1)}", f"n1sh={shp(i + 1)}", f"p1g={flg(i - 1)}", f"n1g={flg(i + 1)}",
        f"p1g|g={flg(i - 1)}|{g}", f"g|n1g={g}|{flg(i + 1)}", f"p1|g={p1}|{g}", f"g|n1={g}|{n1}",
        f"p1|sh={p1}|{sh}", f"sh|n1={sh}|{n1}", f"st|w={start}|{low}",
        f"shs={shp(i - 1)}|{sh}|{shp(i + 1)}", f"g|st|n1sh={g}|{start}|{shp(i + 1)}",
        f"lo={low in doc.lower_words}", f"lo|st={low in doc.lower_words}|{start}", f"sc={doc.shouting}|{sh}|{g}",
    ]


def hashed(feats: Iterable[str]) -> list[int]:
    return [zlib.crc32(f.encode("utf-8")) & (N_FEATURES - 1) for f in feats]


class NameTagger:
    """Tags PERSON and LOCATION spans in text of any of the trained languages."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, gazetteer: Gazetteer, threshold: float = 0.5) -> None:
        self.weights = weights  # (N_FEATURES, len(LABELS)) float32
        self.bias = bias
        self.gazetteer = gazetteer
        self.threshold = threshold

    @classmethod
    def load(cls, folder: Path = DATA_DIR) -> "NameTagger":
        with np.load(folder / "model.npz", allow_pickle=False) as data:
            weights = data["weights"].astype(np.float32)
            bias = data["bias"].astype(np.float32)
            threshold = float(data["threshold"])
        return cls(weights, bias, Gazetteer.load(folder / "gazetteer.json.gz"), threshold)

    def probabilities(self, doc: Doc, rows: list[int]) -> np.ndarray:
        """Softmax over LABELS for the tokens at ``rows``."""
        scores = np.empty((len(rows), len(LABELS)), dtype=np.float32)
        for r, i in enumerate(rows):
            scores[r] = self.weights[hashed(features(doc, i))].sum(axis=0)
        scores += self.bias
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def tag(self, text: str) -> list[TaggedSpan]:
        doc = Doc.of(text, self.gazetteer)
        rows = [i for i, c in enumerate(doc.candidates) if c]
        if not rows:
            return []
        probs = self.probabilities(doc, rows)
        return decode(text, doc.tokens, rows, probs, self.threshold)


def decode(text: str, tokens: list[Token], rows: list[int], probs: np.ndarray, threshold: float) -> list[TaggedSpan]:
    """Join adjacent name tokens (particles inside allowed) into spans.

    A token is a name token when ``1 - P(O)`` reaches ``threshold``; a span takes the label its
    tokens favour together (so "Graham Whitlock" stays one PERSON even if "Graham" alone looks like
    a town) and scores the mean ``1 - P(O)`` of its words.
    """
    entity_p: dict[int, np.ndarray] = {}
    for r, i in enumerate(rows):
        if 1.0 - probs[r, 0] >= (min(threshold, 0.3) if _is_particle(tokens[i]) else threshold):
            entity_p[i] = probs[r]
    spans: list[TaggedSpan] = []
    i, n = 0, len(tokens)
    while i < n:
        if i not in entity_p or _is_particle(tokens[i]):
            i += 1
            continue
        j = i
        while j + 1 < n and (j + 1) in entity_p and _adjacent(text, tokens[j], tokens[j + 1]):
            j += 1
        while j > i and _is_particle(tokens[j]):
            j -= 1
        while i < j and tokens[i].text.lower() in ADDRESS_FORMS:
            i += 1
        if tokens[i].text.lower() in ADDRESS_FORMS:
            i = j + 1
            continue
        run = [entity_p[t] for t in range(i, j + 1) if not _is_particle(tokens[t])]
        total = np.sum(run, axis=0)
        label = LABELS[1] if total[1] >= total[2] else LABELS[2]
        spans.append(TaggedSpan(tokens[i].start, tokens[j].end, label, float(np.mean([1.0 - p[0] for p in run]))))
        i = j + 1
    return spans


def _is_particle(token: Token) -> bool:
    return token.text.lower() in PARTICLES and not is_capitalised(token.text)


def _adjacent(text: str, a: Token, b: Token) -> bool:
    """Tokens of one name: separated by one or two spaces (no line break, no punctuation)."""
    gap = text[a.end : b.start]
    return 0 < len(gap) <= 2 and gap.isspace() and "\n" not in gap


def shared_tagger() -> NameTagger:
    """The process-wide tagger, loaded on first use."""
    return shared_model(("pii-name-tagger", str(DATA_DIR)), NameTagger.load)
