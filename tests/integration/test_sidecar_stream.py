"""Streamed answers through the sidecar (SSE): planted violations leak no more than the stated bound, the policy's
``stream:`` window is used (the server config's stream_* override it), and placeholders split across upstream
chunks are restored."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from guardrails import Guard
from guardrails.server import create_app
from guardrails.server.config import build_server_config
from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread

pytestmark = pytest.mark.integration

EMAIL = "jane.roe@example.org"
WORDS = "the river was calm and the morning light fell on the old stone bridge while people walked to work".split()
PATTERNS: dict[str, Any] = {"output": [{"filter": "deny_list", "words": ["nitroglycerin"]},
                                       {"filter": "regex", "patterns": ["ACCESS-CODE-[0-9]{6}"], "category": "code"}]}
MODEL: dict[str, Any] = {"output": [{"filter": "tests.helpers.fakes:KeywordFilter", "word": "nitroglycerin"}]}  # cost 2
PSEUDO: dict[str, Any] = {"input": [{"filter": "pii", "entities": ["EMAIL_ADDRESS"], "action": "pseudonymize"}],
                          "output": [{"filter": "secrets"}]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[ScriptedUpstream, ServerThread]]:
    scripted = ScriptedUpstream()
    with ServerThread(scripted.app()) as server:
        yield scripted, server


def _serve(upstream: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policies: dict[str, dict[str, Any]],
           **config: Any) -> ServerThread:
    """A sidecar with one app per policy; each app's key is ``key-<name>-0000``."""
    apps = {}
    for name, policy in policies.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"name": name, **policy}))
        monkeypatch.setenv(f"GR_STREAM_KEY_{name.upper()}", f"key-{name}-0000")
        apps[name] = {"policy": str(path), "keys": [{"env": f"GR_STREAM_KEY_{name.upper()}"}]}
    return ServerThread(create_app(build_server_config({"upstream": upstream.url + "/v1", "reload_interval_s": 0,
                                                        "audit": {"path": "off"}, "allow_plugins": ["tests.helpers"],
                                                        "apps": apps, **config})))


def _stream(server: ServerThread, app: str, content: str = "Tell me a story.") -> tuple[list[str], str | None]:
    """The content pieces the client received, and the last finish_reason."""
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": content}]}
    pieces, finish = [], None
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer key-{app}-0000"}) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:]).get("choices", []):
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        pieces.append(piece)
                    finish = choice.get("finish_reason") or finish
    return pieces, finish


def _chunks(rng: random.Random, text: str) -> list[str]:
    out, i = [], 0
    while i < len(text):
        n = rng.randint(1, 6)  # a token or a few per SSE event
        out.append(text[i:i + n])
        i += n
    return out


def _detect_chars(guard: Guard, text: str, k: int) -> int:
    for d in range(k + 1, len(text) + 1):
        if not guard.check(text[max(0, k - 256):d], "output").allowed:
            return d - k
    raise AssertionError("the planted violation is not caught")


def test_sidecar_sse_planted_violations_leak_no_more_than_the_bound(upstream: tuple[ScriptedUpstream, ServerThread],
                                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holds = (0, 16, 48)
    tiers = {"pattern": PATTERNS, "model": MODEL}
    policies = {f"{tier}{hold}": {**spec, "stream": {"hold_chars": hold}} for tier, spec in tiers.items() for hold in holds}
    rng = random.Random(19)
    with _serve(upstream[1], tmp_path, monkeypatch, policies) as server:
        for tier, spec in tiers.items():
            guard = Guard.from_policy({"name": tier, **spec})
            for _ in range(5):
                before = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 80)))
                before += rng.choice([" ", ". ", "\n"]) if before else ""
                bad = rng.choice(["nitroglycerin", "ACCESS-CODE-314159"]) if tier == "pattern" else "nitroglycerin"
                text = before + bad + " " + " ".join(rng.choice(WORDS) for _ in range(40))
                k, d = len(before), _detect_chars(guard, text, len(before))
                for hold in holds:
                    upstream[0].reset(chunks=_chunks(rng, text))
                    pieces, finish = _stream(server, f"{tier}{hold}")
                    emitted = "".join(pieces)
                    assert finish == "content_filter" and text.startswith(emitted)
                    assert max(0, len(emitted) - k) <= max(0, d - hold - 1), (tier, hold, d, emitted[k:])


def test_sidecar_sse_uses_the_policys_stream_window_and_the_config_overrides_it(
        upstream: tuple[ScriptedUpstream, ServerThread], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = "The river was calm. The morning light fell on the old stone bridge while people walked to work. " * 3
    held = {"output": [{"filter": "secrets"}], "stream": {"hold_chars": 10000}}
    eager = {"output": [{"filter": "secrets"}], "stream": {"hold_chars": 0, "check_every": 1}}
    with _serve(upstream[1], tmp_path, monkeypatch, {"held": held, "eager": eager}) as server:
        upstream[0].reset(text=answer)
        pieces, finish = _stream(server, "held")
        assert pieces == [answer] and finish == "stop"  # everything held until the end
        upstream[0].reset(text=answer)
        assert len(_stream(server, "eager")[0]) > 10
    with _serve(upstream[1], tmp_path, monkeypatch, {"held": held}, stream_hold_chars=0) as server:
        upstream[0].reset(text=answer)
        pieces, _ = _stream(server, "held")
        assert "".join(pieces) == answer and len(pieces) > 3  # the server config's stream_hold_chars wins


def _sse(pieces: list[str], finish_with_last: bool) -> list[bytes]:
    events = []
    for i, piece in enumerate(pieces):
        last = finish_with_last and i == len(pieces) - 1
        choice = {"index": 0, "delta": {"content": piece}, "finish_reason": "stop" if last else None}
        events.append(f"data: {json.dumps({'id': 'up', 'object': 'chat.completion.chunk', 'created': 1, 'model': 'm', 'choices': [choice]})}\n\n".encode())
    return [*events, b"data: [DONE]\n\n"]


@pytest.mark.parametrize("pieces", [
    ["Sure, I wrote to ", "<EMAIL_", "ADDR", "ESS_1>", " and copied you."],
    ["Sure, I wrote to <", "EMAIL_ADDRESS_1", "> and copied you."],
    ["The reply goes to ", "<EMAIL_ADDRESS", "_1>"],  # split at the very end of the stream
    ["ref:" + "weather" * 36 + "<EMAIL_AD", "DRESS", "_1>", " ok"],  # inside a run released at the hold boundary
])
@pytest.mark.parametrize("finish_with_last", [False, True], ids=["finish-apart", "finish-with-last-piece"])
@pytest.mark.parametrize("hold", [0, 48])
def test_sidecar_sse_restores_a_placeholder_split_across_chunks(upstream: tuple[ScriptedUpstream, ServerThread],
                                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                pieces: list[str], finish_with_last: bool, hold: int) -> None:
    from guardrails import registry
    from guardrails.errors import FilterLoadError

    try:
        registry.resolve("pii")
    except FilterLoadError:
        pytest.skip("the pii filter is not available in this build")
    policy = {**PSEUDO, "stream": {"hold_chars": hold, "check_every": 1}}
    with _serve(upstream[1], tmp_path, monkeypatch, {"pseudo": policy}) as server:
        upstream[0].reset(raw=_sse(pieces, finish_with_last))
        got, finish = _stream(server, "pseudo", content=f"Please write to {EMAIL} about the refund.")
        assert upstream[0].requests[0]["messages"][0]["content"] == "Please write to <EMAIL_ADDRESS_1> about the refund."
        assert "".join(got) == "".join(pieces).replace("<EMAIL_ADDRESS_1>", EMAIL)
        assert not any("<EMAIL" in p or "ADDR" in p or "_1>" in p for p in got)
        assert finish == ("stop" if finish_with_last else None)
