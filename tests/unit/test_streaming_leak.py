"""The streaming leak bound (guardrails.streaming.OutputStream): a violation that its filter flags ``D`` characters
after its start reaches the client with at most ``max(0, D - hold_chars - 1)`` of its characters, whatever
``check_every``, ``model_every`` and the size of the pushed deltas; the policy's ``stream:`` key sets the window;
vault placeholders split across deltas are restored."""

from __future__ import annotations

import random
import re

import pytest

from guardrails import Context, Guard
from guardrails.errors import PolicyError
from guardrails.streaming import OutputStream
from tests.helpers.fakes import KeywordFilter

WORDS = ("the river was calm and the morning light fell on the old stone bridge while people walked to work "
         "a report about the weather said it would rain later so many carried umbrellas").split()
HAN = "天气很好我们去公园散步吧今天是星期一"
DENY = ["nitroglycerin", "炸药配方"]
CODE = "ACCESS-CODE-123456"


def _filler(rng: random.Random, n: int, kind: str) -> str:
    out: list[str] = []
    while sum(map(len, out)) < n:
        if kind == "words":
            out.append(rng.choice(WORDS) + rng.choice([" ", " ", ", ", ". ", "\n"]))
        elif kind == "cjk":
            out.append("".join(rng.choice(HAN) for _ in range(rng.randint(1, 6))) + rng.choice(["", "。"]))
        else:  # a run with no word end for hundreds of characters (base64, minified code)
            out.append("".join(rng.choice("abcdefgh0123456789+/") for _ in range(rng.randint(5, 40))))
    return "".join(out)


def _pieces(rng: random.Random, text: str) -> list[str]:
    mode = rng.choice(["char", "token", "big"])
    out, i = [], 0
    while i < len(text):
        n = {"char": 1, "token": rng.randint(1, 6), "big": rng.randint(1, 150)}[mode]
        out.append(text[i:i + n])
        i += n
    return out


def _detect_chars(guard: Guard, text: str, k: int, context: int) -> int | None:
    """D: the fewest characters from ``k`` on after which the policy blocks the text (as a check's window reads it)."""
    for d in range(k + 1, len(text) + 1):
        if not guard.check(text[max(0, k - context):d], "output").allowed:
            return d - k
    return None


def _stream(guard: Guard, pieces: list[str], **options: int) -> tuple[str, OutputStream]:
    s = guard.stream(ctx=Context(), **options)
    out = ""
    for piece in pieces:
        out += s.push(piece)
        if s.blocked:
            return out, s
    return out + s.finish(), s


PATTERNS = {"name": "patterns", "output": [{"filter": "deny_list", "words": DENY},
                                           {"filter": "regex", "patterns": ["ACCESS-CODE-[0-9]{6}"], "category": "code"}]}
MODEL = {"name": "model", "output": [{"filter": "tests.helpers.fakes:KeywordFilter", "word": "nitroglycerin"}]}  # cost 2


@pytest.mark.parametrize("spec", [PATTERNS, MODEL], ids=["pattern-tier", "model-tier"])
def test_planted_violations_never_leak_more_than_the_bound(spec: dict[str, object]) -> None:
    guard = Guard.from_policy(spec)
    rng = random.Random(1904)
    checked = tight = 0
    for _ in range(150):
        kind = rng.choice(["words", "cjk", "run"])
        bad = rng.choice([*DENY, CODE]) if spec is PATTERNS else "nitroglycerin"
        before = _filler(rng, rng.randint(0, 700), kind)
        sep = " " if kind == "words" or rng.random() < 0.5 else ""
        text = before + sep + bad + rng.choice([" ", ". ", "\n"]) + _filler(rng, rng.randint(0, 300), kind)
        k = len(before) + len(sep)
        options = {"hold_chars": rng.choice([0, 1, 5, 16, 48, 100]), "check_every": rng.choice([1, 8, 32, 64]),
                   "model_every": rng.choice([16, 256, 1000]), "context_chars": rng.choice([32, 256])}
        if guard.check(text, "output").allowed:
            continue  # e.g. a deny-list word glued to letters of a run: no violation in the answer
        d = _detect_chars(guard, text, k, options["context_chars"])
        assert d is not None
        out, s = _stream(guard, _pieces(rng, text), **options)
        assert s.blocked and text.startswith(out)
        bound = s.leak_bound(d)
        assert bound is not None  # these violations fit the window (D <= hold_chars + context_chars + 1)
        leak = max(0, len(out) - k)
        assert leak <= bound, (leak, bound, d, options, kind)
        checked += 1
        tight += leak == bound > 0
    assert checked >= 100
    assert tight > 0 or spec is MODEL  # the bound is reached: it is the exact guarantee, not a loose one


def test_model_tier_check_running_less_often_releases_nothing_it_did_not_read() -> None:
    guard = Guard.from_policy(MODEL)
    text = "plain words with no sentence end " * 20 + "nitroglycerin " + "more plain words " * 30
    k = text.index("nitroglycerin")
    for every in (8, 64, 256, 2000):
        KeywordFilter.calls.clear()
        out, s = _stream(guard, list(text), hold_chars=0, check_every=1, model_every=every)
        assert s.blocked and len(out) <= k  # D = 13 <= hold + 1 is false, but word ends hold the word: nothing leaks
        assert len(KeywordFilter.calls) < s.checks or every == 8


def test_a_sentence_end_inside_a_delta_runs_the_model_filters() -> None:
    guard = Guard.from_policy(MODEL)
    KeywordFilter.calls.clear()
    s = guard.stream(ctx=Context(), check_every=1000, model_every=1000)
    s.push("The river was calm. The")  # the wrapper pushes a few tokens at once: the period is not at the end
    assert len(KeywordFilter.calls) == 1
    s.push(" bridge is old")
    assert len(KeywordFilter.calls) == 1


def test_a_violation_longer_than_the_window_is_still_caught_by_the_final_check() -> None:
    guard = Guard.from_policy({"name": "t", "output": [{"filter": "regex", "patterns": ["BEGIN [a-z ]{300,} END"],
                                                        "category": "long"}]})
    text = "intro words " * 10 + "BEGIN " + "abc " * 100 + "END and more words " * 5
    out, s = _stream(guard, [text[i:i + 4] for i in range(0, len(text), 4)], hold_chars=16, context_chars=32)
    assert s.leak_bound(len(text)) is None  # outside the stated bound ...
    assert s.blocked  # ... but the final check, which reads the whole answer, still blocks it


def test_leak_bound_formula() -> None:
    s = Guard.from_policy({"name": "t", "output": []}).stream(hold_chars=48, context_chars=256)
    assert [s.leak_bound(d) for d in (1, 48, 49, 50, 100, 305)] == [0, 0, 0, 1, 51, 256]
    assert s.leak_bound(306) is None


# -- the policy's stream: key -------------------------------------------------------------------------------------


def test_policy_stream_key_sets_the_window_and_explicit_options_win() -> None:
    guard = Guard.from_policy({"name": "t", "output": [], "stream": {"hold_chars": 100, "check_every": 8}})
    s = guard.stream()
    assert (s.hold_chars, s.check_every, s.model_every, s.context_chars) == (100, 8, 256, 256)
    assert guard.stream(hold_chars=5).hold_chars == 5
    default = Guard.from_policy({"name": "t", "output": []})
    assert (default.stream().hold_chars, default.stream().check_every) == (48, 32)
    assert "stream" not in default.policy.to_dict()  # the default changes neither the dump nor the hash
    assert guard.policy.to_dict()["stream"]["hold_chars"] == 100
    assert guard.policy.hash != default.policy.hash


def test_policy_stream_key_holds_text_back() -> None:
    guard = Guard.from_policy({"name": "t", "output": [{"filter": "secrets"}], "stream": {"hold_chars": 0, "check_every": 1}})
    s = guard.stream()
    assert s.push("hello there ") == "hello there "
    guard = Guard.from_policy({"name": "t", "output": [{"filter": "secrets"}], "stream": {"hold_chars": 1000}})
    s = guard.stream()
    assert s.push("hello there. " * 50) == ""
    assert s.finish() == "hello there. " * 50


@pytest.mark.parametrize("stream, message", [
    ({"hold_chars": -1}, "stream.hold_chars: expected a number at least 0"),
    ({"check_every": 0}, "stream.check_every: expected a number at least 1"),
    ({"model_every": 0}, "stream.model_every: expected a number at least 1"),
    ({"hold_chars": 10**6}, "stream.hold_chars: expected a number at most 65536"),
    ({"hold": 3}, "stream.hold: unknown key"),
    ({"hold_chars": "lots"}, "stream.hold_chars"),
    ("big", "stream: expected a mapping"),
])
def test_policy_stream_key_is_validated(stream: object, message: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(message)):
        Guard.from_policy({"name": "t", "output": [], "stream": stream})


def test_policy_stream_key_is_inherited_from_the_parent(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "parent.yaml").write_text("name: parent\noutput: []\nstream:\n  hold_chars: 96\n")
    (folder / "child.yaml").write_text("name: child\nextends: parent.yaml\n")
    assert Guard.from_policy(str(folder / "child.yaml")).stream().hold_chars == 96


# -- vault placeholders split across deltas ----------------------------------------------------------------------


@pytest.mark.parametrize("hold", [0, 1, 4, 9, 48])
def test_split_placeholders_are_restored_whatever_the_hold(hold: int) -> None:
    guard = Guard.from_policy({"name": "t", "output": [{"filter": "secrets"}]})
    rng = random.Random(hold)
    for _ in range(200):
        before = rng.choice(["Dear ", "name:", "我叫", "x" * rng.randint(250, 320), "", "a < b and "])
        after = rng.choice(["", ".", ", thanks for writing.", " and more " * 5])
        text = before + "<PERSON_1>" + after
        cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(1, 6))))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        ctx = Context()
        ctx.vault["<PERSON_1>"] = "Ada Lovelace"
        s = guard.stream(ctx=ctx, hold_chars=hold, check_every=rng.choice([1, 3, 32]))
        out = [s.push(p) for p in pieces] + [s.finish()]
        assert "".join(out) == text.replace("<PERSON_1>", "Ada Lovelace"), pieces
        assert not any(o and ("<PER" in o or "SON_" in o or "1>" in o) for o in out)


def test_placeholder_fragments_inside_a_long_run_are_held_whole() -> None:
    guard = Guard.from_policy({"name": "t", "output": [{"filter": "secrets"}]})
    ctx = Context()
    ctx.vault["<PERSON_1>"] = "Ada Lovelace"
    s = guard.stream(ctx=ctx, hold_chars=0, check_every=1)
    first = s.push("x" * 300 + "<PER")  # a run with no word end: released at the hold boundary, not inside "<PER"
    assert first == "x" * 300
    assert s.push("SON_") == "" and s.push("1>") == ""
    assert s.push(" done") + s.finish() == "Ada Lovelace done"


def test_placeholder_split_at_the_very_end_of_the_stream() -> None:
    guard = Guard.from_policy({"name": "t", "output": [{"filter": "secrets"}]})
    ctx = Context()
    ctx.vault["<EMAIL_ADDRESS_1>"] = "jane.roe@example.org"
    s = guard.stream(ctx=ctx, hold_chars=0, check_every=1)
    out = [s.push(p) for p in ("Write to ", "<EMAIL_", "ADDRESS", "_1")] + [s.push(">"), s.finish()]
    assert "".join(out) == "Write to jane.roe@example.org"
    unfinished = guard.stream(ctx=ctx, hold_chars=0, check_every=1)
    text = "".join(unfinished.push(p) for p in ("Write to ", "<EMAIL_", "ADDR")) + unfinished.finish()
    assert text == "Write to <EMAIL_ADDR"  # not a placeholder: released as written, at the end
