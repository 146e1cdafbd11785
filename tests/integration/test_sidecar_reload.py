"""Policy hot reload of a running sidecar: file change picked up, bad policy rejected, in-flight streams kept."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from guardrails.server import create_app
from guardrails.server.config import build_server_config
from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread
from tests.helpers.waiting import wait_until, write_atomically

pytestmark = pytest.mark.integration


def _policy(word: str, *, output_word: str | None = None, threshold: Any = None) -> str:
    text = f"""
name: reloadable
input:
  - filter: regex
    id: word
    patterns: ["{word}"]
    category: banned_word
"""
    if threshold is not None:
        text += f"    threshold: {threshold}\n"
    if output_word:
        text += f"""output:
  - filter: regex
    id: out_word
    patterns: ["{output_word}"]
"""
    return text




@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[tuple[ServerThread, ScriptedUpstream, Path]]:
    policy = tmp_path / "app.yaml"
    policy.write_text(_policy("apple"))
    scripted = ScriptedUpstream()
    with ServerThread(scripted.app()) as up:
        config = build_server_config({"upstream": up.url, "reload_interval_s": 0.1, "audit": {"path": "off"},
                                      "apps": {"app": {"policy": str(policy)}}})
        with ServerThread(create_app(config)) as sidecar:
            yield sidecar, scripted, policy


def _finish(sidecar: ServerThread, content: str) -> str:
    r = httpx.post(sidecar.url + "/v1/chat/completions", timeout=10,
                   json={"model": "m", "messages": [{"role": "user", "content": content}]})
    assert r.status_code == 200
    return str(r.json()["choices"][0]["finish_reason"])


def _hash(sidecar: ServerThread) -> str:
    # /readyz no longer names policies or hashes (it is unauthenticated): ask the app's own check endpoint.
    r = httpx.post(sidecar.url + "/v1/guard/check", json={"text": "hash probe"}, timeout=10)
    return str(r.json()["policy_hash"])


def _metric(sidecar: ServerThread, prefix: str) -> float:
    text = httpx.get(sidecar.url + "/metrics", timeout=10).text
    return next((float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(prefix)), 0.0)


def test_sidecar_reload_file_change_swaps_policy(setup: tuple[ServerThread, ScriptedUpstream, Path]) -> None:
    sidecar, _, policy = setup
    assert _finish(sidecar, "an apple") == "content_filter"
    assert _finish(sidecar, "a banana") == "stop"
    old = _hash(sidecar)
    write_atomically(policy, _policy("banana"))
    wait_until(lambda: _hash(sidecar) != old)
    assert _finish(sidecar, "an apple") == "stop"
    assert _finish(sidecar, "a banana") == "content_filter"
    assert _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="ok"}') == 1.0


def test_sidecar_reload_bad_policy_rejected_old_stays(setup: tuple[ServerThread, ScriptedUpstream, Path],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    sidecar, _, policy = setup
    old = _hash(sidecar)
    with caplog.at_level("ERROR", logger="guardrails.server.reload"):
        write_atomically(policy, _policy("banana", threshold='"high"'))
        wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="rejected"}') == 1.0)
    assert _hash(sidecar) == old
    assert _finish(sidecar, "an apple") == "content_filter"  # the old policy is still in force
    assert _finish(sidecar, "a banana") == "stop"
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "app.yaml:8: input[0].threshold: expected a number between 0 and 1" in message
    write_atomically(policy, _policy("banana"))  # a fixed file is picked up again
    wait_until(lambda: _hash(sidecar) != old)
    assert _finish(sidecar, "a banana") == "content_filter"


def test_sidecar_reload_keeps_in_flight_stream_on_old_policy(setup: tuple[ServerThread, ScriptedUpstream, Path]) -> None:
    sidecar, scripted, policy = setup
    # The upstream pauses after 10 words until the reload is done: the stream certainly straddles it, and
    # STORM (word 31) is streamed under the new policy's watch.
    hold = threading.Event()
    scripted.reset(text=" ".join(["calm"] * 30 + ["STORM"] + ["calm"] * 10), hold=hold, hold_after_chunks=10)
    got: dict[str, Any] = {}

    def consume() -> None:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.stream("POST", sidecar.url + "/v1/chat/completions", json=body, timeout=60) as resp:
            got["lines"] = [ln for ln in resp.iter_lines() if ln.startswith("data: ")]

    reader = threading.Thread(target=consume)
    reader.start()
    try:
        wait_until(lambda: scripted.streams_started == 1)
        old = _hash(sidecar)
        write_atomically(policy, _policy("apple", output_word="STORM"))  # the new policy would cut this answer
        wait_until(lambda: _hash(sidecar) != old)
    finally:
        hold.set()
    reader.join(timeout=30)
    lines = got["lines"]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln[6:]) for ln in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "STORM" in text and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert scripted.streams_completed == 1
    # A new request gets the new policy.
    scripted.reset(text="a STORM is coming")
    r = httpx.post(sidecar.url + "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}, timeout=10)
    assert r.json()["choices"][0]["finish_reason"] == "content_filter"


def _checked_hash(sidecar: ServerThread) -> str:
    r = httpx.post(sidecar.url + "/v1/guard/check", json={"text": "x"}, timeout=10)
    return str(r.json()["policy_hash"])


_TWO_STAGES = _policy("apple", output_word="secretword")


@pytest.mark.parametrize("partial", [
    "",  # a 0-byte file
    "version: 1\n",  # only the first line written
    _TWO_STAGES.split("output:")[0],  # the input section only: a valid prefix that drops the output stage
    _TWO_STAGES.replace("  - filter: regex\n    id: out_word\n    patterns: [\"secretword\"]\n", ""),  # output: null
])
def test_sidecar_reload_refuses_a_partial_write(setup: tuple[ServerThread, ScriptedUpstream, Path], partial: str) -> None:
    sidecar, _, policy = setup
    write_atomically(policy, _TWO_STAGES)
    wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="ok"}') == 1.0)
    full = _checked_hash(sidecar)
    write_atomically(policy, partial)
    wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="rejected"}') == 1.0)
    assert _checked_hash(sidecar) == full
    assert _finish(sidecar, "an apple") == "content_filter"  # both stages of the full policy still run


def test_sidecar_reload_removes_filters_only_when_told(setup: tuple[ServerThread, ScriptedUpstream, Path]) -> None:
    sidecar, _, policy = setup
    write_atomically(policy, _TWO_STAGES)
    wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="ok"}') == 1.0)
    # The output entry just vanished: refused (it is what a file cut in the middle of a list looks like).
    write_atomically(policy, _policy("apple") + "output:\n  - filter: length\n    max_chars: 100000\n")
    wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="rejected"}') == 1.0)
    # Said out loud with enabled: false, or by writing the stage as [], a removal is accepted.
    write_atomically(policy, _policy("apple") + "output:\n  - {filter: regex, id: out_word, enabled: false}\n")
    wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="ok"}') == 2.0)
    write_atomically(policy, _TWO_STAGES)
    wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="ok"}') == 3.0)
    write_atomically(policy, _policy("apple") + "output: []\n")
    wait_until(lambda: _metric(sidecar, 'guardrails_policy_reloads_total{app="app",result="ok"}') == 4.0)
    assert _finish(sidecar, "an apple") == "content_filter"
