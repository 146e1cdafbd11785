"""Streamed text without spaces (CJK, Thai, base64, minified code) is released in bounded windows, never split
inside a grapheme cluster, a redaction span or a vault placeholder; checks read a bounded window (linear cost)."""

from __future__ import annotations

import base64
import random

import pytest

from guardrails import Context, Guard
from guardrails.streaming import OutputStream

HAN = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主"
       "发年动同工也能下过子说产种面而方后多定行学法所民得经")


def _guard() -> Guard:
    return Guard.from_policy({"name": "t", "output": [{"filter": "deny_list", "words": ["forbiddenword"]},
                                                      {"filter": "secrets", "action": "redact"}]})


def _feed(s: OutputStream, text: str, step: int) -> tuple[list[str], list[int]]:
    """Push ``text`` in ``step``-sized deltas; the released pieces and each check's window size."""
    pieces, windows = [], []
    for i in range(0, len(text), step):
        before = s.checks
        piece = s.push(text[i:i + step])
        if s.checks > before and s.verdict is not None:
            windows.append(len(s.verdict.text))
        if piece:
            pieces.append(piece)
    return pieces, windows


def _han(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(HAN) for _ in range(n))


SAMPLES = {
    "chinese": _han(6000, 1),
    "japanese": "これは日本語の文章です。空白がありませんが、正しく区切られるべきです。" * 120,
    "thai": "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำแต่ต้องส่งออกทีละส่วน" * 120,
    "base64": base64.b64encode(random.Random(2).randbytes(4500)).decode(),
    "minified": "function f(a,b){return a+b};var x=f(1,2);if(x>2){console.log(x)}" * 100,
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_unspaced_text_is_released_while_it_streams_and_arrives_whole(name: str) -> None:
    text = SAMPLES[name]
    s = _guard().stream(hold_chars=48, check_every=32, context_chars=256)
    pieces, windows = _feed(s, text, 3)
    released_early = sum(len(p) for p in pieces)
    rest = s.finish()
    assert not s.blocked
    if name != "base64":  # high-entropy runs may be redacted as secrets; the rest arrives unchanged
        assert "".join(pieces) + rest == text
    # Released as it streams, not held to the end: only about the hold window is left for finish().
    held = max(s.max_word_chars, s.max_held_chars) + 48 + 32 + 3
    assert released_early >= len(text) - held
    assert len(pieces) >= 5
    # Each intermediate check read a bounded window, whatever the length: linear, not quadratic, work.
    assert max(windows) <= 256 + held


def test_unspaced_release_never_splits_a_grapheme_cluster() -> None:
    clusters = ["的", "e\u0301", "👩\u200d👩\u200d👧", "🇫🇷", "🇯🇵", "👍🏽", "\u1112\u1161\u11ab", "a\u0308\u0323", "❤\ufe0f", "字"]
    rng = random.Random(3)
    seq = [rng.choice(clusters) for _ in range(3000)]
    text = "".join(seq)
    boundaries = {0}
    pos = 0
    for c in seq:
        pos += len(c)
        boundaries.add(pos)
    s = _guard().stream(hold_chars=16, check_every=8)
    out = ""
    for i in range(0, len(text), 1):  # one code point at a time: a cluster arrives in pieces
        piece = s.push(text[i])
        if piece:
            out += piece
            assert len(out) in boundaries, f"a release cut a cluster at {len(out)}"
    out += s.finish()
    assert out == text


def test_unspaced_release_keeps_a_secret_and_a_placeholder_whole() -> None:
    secret = "AKIAIOSFODNN7EXAMPLE"
    filler = "。" + _han(400, 4) + "。"  # (the secrets filter needs non-word characters around a key)
    text = filler + secret + filler + "<PERSON_1>" + filler
    ctx = Context()
    ctx.vault["<PERSON_1>"] = "Ada Lovelace"
    s = _guard().stream(ctx=ctx, hold_chars=8, check_every=4)
    out = ""
    for i in range(0, len(text), 2):
        piece = s.push(text[i:i + 2])
        assert secret[:6] not in piece and "<PERSON" not in piece and "_1>" not in piece
        out += piece
    out += s.finish()
    assert out == filler + "<AWS_ACCESS_KEY_ID>" + filler + "Ada Lovelace" + filler


def test_unspaced_redaction_span_longer_than_the_hold_limit_is_released_redacted() -> None:
    # A policy that redacts every run of 'x': one span that keeps growing as the stream goes on.
    g = Guard.from_policy({"name": "t", "output": [{"filter": "regex", "patterns": ["x+"], "category": "run",
                                                    "action": "redact"}]})
    text = "的" * 100 + "x" * 5000 + "的" * 100  # regex: no word boundaries needed
    s = g.stream(hold_chars=8, check_every=16, max_held_chars=512)
    pieces, windows = _feed(s, text, 4)
    out = "".join(pieces) + s.finish()
    assert "x" not in out and out.startswith("的" * 100 + "<RUN>") and out.endswith("<RUN>" + "的" * 100)
    assert max(windows) <= 256 + 512 + 8 + 16 + 4  # held text stayed bounded while the span grew
