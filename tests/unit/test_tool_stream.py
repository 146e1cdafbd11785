"""Tool calls checked as their arguments stream in fragments (guardrails.tool_stream), through the Python API."""

from __future__ import annotations

import json
import random

from guardrails import Guard
from guardrails.tool_stream import ToolArgumentsStream, check_tool_call, checked_call

POLICY = {"name": "tools", "output": [
    {"filter": "secrets", "action": "block"},
    {"filter": "regex", "id": "email", "patterns": ["[a-z0-9._]+@[a-z0-9.]+[.][a-z]+"], "category": "email", "action": "redact"},
    {"filter": "tool_calls", "deny": ["delete_*"]},
]}
AWS_KEY = "AKIA" + "Q7XW2M4ZR9TB6KPL"
WORDS = "please send the quarterly report to the whole team before friday and keep a copy".split()


def _fragments(rng: random.Random, text: str) -> list[str]:
    out, i = [], 0
    while i < len(text):
        n = rng.randint(1, 6)
        out.append(text[i:i + n])
        i += n
    return out


def _run(stream: ToolArgumentsStream, fragments: list[str]) -> str:
    return "".join(stream.push(f) for f in fragments) + stream.finish()


def test_a_secret_in_streamed_arguments_never_leaves_even_in_part() -> None:
    guard = Guard.from_policy(POLICY)
    rng = random.Random(16)
    for _ in range(30):
        before = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 40)))
        after = " ".join(rng.choice(WORDS) for _ in range(20))
        arguments = json.dumps({"to": "ops", "body": f"{before} {AWS_KEY} {after}"})
        stream = ToolArgumentsStream(guard, "send")
        released = _run(stream, _fragments(rng, arguments))
        assert stream.blocked and arguments.startswith(released)
        assert "AKIA" not in released and "Q7XW" not in released


def test_clean_arguments_are_released_whole_and_emails_redacted() -> None:
    guard = Guard.from_policy(POLICY)
    rng = random.Random(7)
    arguments = json.dumps({"to": "team", "body": " ".join(rng.choice(WORDS) for _ in range(60))})
    stream = ToolArgumentsStream(guard, "send")
    pieces = [stream.push(f) for f in _fragments(rng, arguments)]
    assert "".join(pieces) + stream.finish() == arguments
    assert sum(1 for p in pieces if p) > 2  # released as it streams, not only at the end
    arguments = json.dumps({"to": "jane.roe@example.org", "body": "the report"})
    assert json.loads(_run(ToolArgumentsStream(guard, "send"), _fragments(rng, arguments))) == {
        "to": "<EMAIL>", "body": "the report"}


def test_tool_names_are_checked_on_their_own() -> None:
    guard = Guard.from_policy(POLICY)
    denied = check_tool_call(guard, "delete_user")
    assert not denied.allowed and denied.violations[0].part == "tool_calls[0].function.name"
    redacted = check_tool_call(guard, "send", '{"to": "jane.roe@example.org"}')
    assert checked_call(redacted) == ("send", '{"to": "<EMAIL>"}')
    assert checked_call(check_tool_call(guard, "send", "{}")) == ("send", "{}")
