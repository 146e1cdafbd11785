"""Text -> scoring units -> sparse features. Training and inference both call ``units()``.

A unit is the whole text, one segment of it (a line or a few sentences), or a decoded payload.
Each unit gets a bag of hashed-free string features (word unigrams and bigrams, character 3-5-grams
over the normalised words) plus structural cue features (see cues.py) that are not length-scaled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from guardrails.detector.cues import matcher, tokens
from guardrails.detector.decode import find_payloads
from guardrails.normalize import normalize

MAX_SEGMENTS = 16
MIN_SEGMENT_CHARS = 40
MAX_CHARS = 20000
_BREAK = re.compile(r"\n\s*|(?<=[.!?;。！？؟।])\s+|(?<=[。！？])")
_DOC_MARKERS = re.compile(
    r"(?m)^(?:subject|from|to|cc|date|sent|content|dear|hi|hello|regards|best|thanks|sincerely)\b"
    r"|subject:|content:|https?://|www\.|@\w+\.\w+|\|"
)
# Hazard cues that also count as a hazardous *request* when a request cue is in the same unit.
_HAZARD_PREFIX = "hz_"
_LOCAL_CUE_PREFIXES = ("hz_", "tx_", "req+")


@dataclass
class Unit:
    """One scored piece of a text: its features and its ``[start, end)`` range in the source text."""

    start: int
    end: int
    kind: str  # whole | segment | payload
    bag: set[str] = field(default_factory=set)
    cues: set[str] = field(default_factory=set)


# Scripts written without spaces between words (Chinese, Japanese, Thai) or with long agglutinated
# words (Korean): there a "word" token is a whole clause, and most words are two characters long.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]{2,}")


def bag_features(words: list[str]) -> set[str]:
    """Word unigrams (w:), bigrams (b:) and character 3-5-grams over the space-joined words, plus
    character bigrams (c2:) inside runs of unspaced scripts."""
    feats = {"w:" + w for w in words}
    feats.update("b:" + a + " " + b for a, b in zip(words, words[1:]))
    s = " " + " ".join(words) + " "
    n = len(s)
    feats.update(s[i : i + 3] for i in range(n - 2))
    feats.update(s[i : i + 4] for i in range(n - 3))
    feats.update(s[i : i + 5] for i in range(n - 4))
    if not s.isascii():
        for run in _UNSPACED.findall(s):
            feats.update("c2:" + run[i : i + 2] for i in range(len(run) - 1))
    return feats


_LENGTH_BANDS = (3, 10, 25, 60, 200, 1000, 4000)
# Where an answer's first sentences are: a refusal or a "Sure, here's how" there says most.
_OPENING_CHARS = 200


def length_cue(chars: int) -> str:
    """A cue naming the unit's length band: the model learns how much a short text can say, so
    "no" or "sure" are not scored on the strength of one or two n-grams."""
    for band in _LENGTH_BANDS:
        if chars <= band:
            return f"len<={band}"
    return "len>4000"


def _cue_set(hits: list[tuple[str, int]]) -> set[str]:
    names = {h for h, _ in hits}
    out = set(names)
    hz = [h for h in names if h.startswith(_HAZARD_PREFIX)]
    if "request" in names:
        out.update("req+" + h for h in hz)
    if hz:
        # Intent x hazard: a hazard topic asked about together with concealment or a targeted person.
        if "conceal" in names:
            out.add("req+conceal_hz")
        if "target_person" in names:
            out.add("req+target_hz")
            if "request" in names:
                out.add("req+target_req_hz")
    if "override" in names or "new_rules" in names:
        out.add("override_any")
    if "roleplay" in names and ("unrestricted" in names or "refusal_suppression" in names):
        out.add("roleplay+unrestricted")
    return out


def _segments(text: str) -> list[tuple[int, int]]:
    """Split normalised text into lines / sentences, merge short ones, cap the count."""
    pieces: list[tuple[int, int]] = []
    pos = 0
    for m in _BREAK.finditer(text):
        if m.start() > pos:
            pieces.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        pieces.append((pos, len(text)))
    merged: list[tuple[int, int]] = []
    for s, e in pieces:
        if not text[s:e].strip():
            continue
        if merged and (merged[-1][1] - merged[-1][0] < MIN_SEGMENT_CHARS):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < MIN_SEGMENT_CHARS:
        last = merged.pop()
        merged[-1] = (merged[-1][0], last[1])
    if len(merged) > MAX_SEGMENTS:
        step = len(merged) / MAX_SEGMENTS
        grouped = []
        for k in range(MAX_SEGMENTS):
            a, b = int(k * step), int((k + 1) * step) - 1
            grouped.append((merged[a][0], merged[b][1]))
        merged = grouped
    return merged


def looks_like_document(text: str) -> bool:
    """An email, a web page or a pasted document rather than a message written to the assistant."""
    return len(_DOC_MARKERS.findall(text[:4000])) >= 2


def units(text: str, *, decode: bool = True) -> list[Unit]:
    """The whole text (first), each of its segments when there are several, and decoded payloads."""
    text = text[:MAX_CHARS]
    norm = normalize(text)
    ntext = norm.text
    words, starts = tokens(ntext)
    hits = matcher().find(ntext, words, starts) if words or not ntext.isascii() else []
    opening = {f"{name}@start" for name, at in hits if name in ("declines", "complies") and at < _OPENING_CHARS}
    segs = _segments(ntext)
    whole = Unit(0, len(text), "whole")
    out = [whole]
    doc = len(segs) > 1 and looks_like_document(ntext)
    if len(segs) <= 1:
        whole.bag = bag_features(words)
        whole.cues = _cue_set(hits) | opening
        whole.cues.add(length_cue(len(ntext.strip())))
    else:
        import bisect

        bag: set[str] = set()
        for s, e in segs:
            i, j = bisect.bisect_left(starts, s), bisect.bisect_left(starts, e)
            seg_hits = [h for h in hits if s <= h[1] < e]
            src = norm.source_span(s, e)
            unit = Unit(src[0], src[1], "segment", bag_features(words[i:j]), _cue_set(seg_hits))
            unit.cues.add("in_doc" if doc else "in_multi")
            unit.cues.add(length_cue(e - s))
            if doc and any(c in unit.cues for c in ("ai_addressed", "override", "new_rules")):
                unit.cues.add("doc+directive")
            bag |= unit.bag
            out.append(unit)
        whole.bag = bag
        # Topic and request cues count only where they co-occur, in a segment: summed over a long
        # document they would add up unrelated passages ("gun" in one line, "how to" in another).
        whole.cues = {c for c in _cue_set(hits) if not c.startswith(_LOCAL_CUE_PREFIXES) and c != "request"} | opening
        whole.cues.add(length_cue(len(ntext.strip())))
        if doc:
            whole.cues.add("is_doc")
            if any("doc+directive" in u.cues for u in out[1:]):
                whole.cues.add("doc+directive")
    if decode:
        for payload in find_payloads(text):
            inner = units(payload.text, decode=False)[0]
            inner.start, inner.end, inner.kind = payload.start, payload.end, "payload"
            inner.cues.add("decoded_" + payload.kind)
            out.append(inner)
    return out
