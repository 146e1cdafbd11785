"""``guardrails serve --workers N`` and the SIGTERM drain, as real processes in front of a scripted upstream."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread
from tests.helpers.waiting import wait_until
from tests.integration.test_sidecar_cli import _free_port, _serve, _wait_healthy

pytestmark = pytest.mark.integration

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture()
def scripted() -> Iterator[tuple[ScriptedUpstream, ServerThread]]:
    up = ScriptedUpstream()
    with ServerThread(up.app()) as server:
        yield up, server


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(c) for c in text.split()]


def _workers(pid: int) -> list[int]:
    """The worker processes of a supervisor (its spawned children, not multiprocessing's resource tracker); a child
    that exits between the listing and the reading of its command line (a killed worker being reaped) is none."""
    return [c for c in _children(pid) if "spawn_main" in _cmdline(c)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _requests_total(url: str) -> float:
    text = httpx.get(url + "/metrics", headers={"connection": "close"}, timeout=60).text
    found = re.findall(r'^guardrails_requests_total\{app="default",endpoint="chat.completions",status="200"\} (\S+)$',
                       text, re.M)
    return float(found[0]) if found else 0.0


def test_workers_share_one_port_and_metrics_sum_over_all_workers(scripted: tuple[ScriptedUpstream, ServerThread],
                                                                  tmp_path: Path) -> None:
    _, upstream = scripted
    port = _free_port()
    metrics_dir = tmp_path / "prom"
    (metrics_dir).mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # a previous run's file: removed at start
    policy = tmp_path / "app.yaml"
    policy.write_text('name: w\ninput:\n  - filter: regex\n    patterns: ["apple"]\n')
    config = tmp_path / "server.yaml"
    config.write_text(f"upstream: {upstream.url}\nport: {port}\nreload_interval_s: 0\naudit: {{path: 'off'}}\n"
                      "apps:\n  default:\n    policy: app.yaml\n")
    proc = _serve(["--config", str(config), "--workers", "2"], env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url)
        wait_until(lambda: len(_workers(proc.pid)) == 2)
        assert not (metrics_dir / "counter_1.db").exists()
        for _ in range(12):  # a new connection each: the kernel hands them to either worker
            r = httpx.post(url + "/v1/chat/completions", json=CHAT, headers={"connection": "close"}, timeout=60)
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
        # Whichever worker answers /metrics, it reports the requests of both.
        assert [_requests_total(url) for _ in range(6)] == [12.0] * 6

        # A worker that dies is replaced; the requests it counted stay in the total.
        victim = _workers(proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(_workers(proc.pid)) == 2 and victim not in _workers(proc.pid))
        wait_until(lambda: httpx.get(url + "/healthz", timeout=2).status_code == 200)
        for _ in range(3):
            assert httpx.post(url + "/v1/chat/completions", json=CHAT, headers={"connection": "close"},
                              timeout=60).status_code == 200
        wait_until(lambda: _requests_total(url) == 15.0)

        # SIGHUP to the supervisor reloads the policy in every worker (file polling is off).
        def finish(text: str) -> str:
            body = {"model": "m", "messages": [{"role": "user", "content": text}]}
            r = httpx.post(url + "/v1/chat/completions", json=body, headers={"connection": "close"}, timeout=60)
            return str(r.json()["choices"][0]["finish_reason"])

        assert finish("banana split") == "stop"
        policy.write_text('name: w\ninput:\n  - filter: regex\n    patterns: ["banana"]\n')
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: finish("banana split") == "content_filter")
        # Every worker reloaded: each of many fresh connections (spread over both workers) is blocked.
        assert {finish("banana split") for _ in range(12)} == {"content_filter"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_workers_report_a_bad_policy_once_and_exit_2(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text("name: bad\ninput:\n  - filter: regex\n    action: blok\n    patterns: ['x']\n")
    proc = _serve(["--upstream", "http://127.0.0.1:9/v1", "--policy", str(policy), "--port", str(_free_port()),
                   "--workers", "3"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.count("blok") == 1, err
    assert "Traceback" not in err


def test_serve_options_come_from_guardrails_environment_variables(scripted: tuple[ScriptedUpstream, ServerThread]) -> None:
    _, upstream = scripted
    port = _free_port()
    proc = _serve([], env={"GUARDRAILS_UPSTREAM": upstream.url, "GUARDRAILS_PORT": str(port),
                           "GUARDRAILS_AUDIT_LOG": "off", "GUARDRAILS_POLICY": "default"})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url)
        assert httpx.post(url + "/v1/chat/completions", json=CHAT, timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def _stream_in_thread(url: str, out: dict[str, object]) -> threading.Thread:
    def consume() -> None:
        try:
            with httpx.stream("POST", url + "/v1/chat/completions", json={**CHAT, "stream": True}, timeout=60) as r:
                out["status"] = r.status_code
                lines = []
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        lines.append(line[6:])
                        out["events"] = len(lines)
                out["lines"] = lines
        except httpx.HTTPError as exc:  # recorded: the assertion below then names it
            out["error"] = repr(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_a_streamed_answer_in_progress(scripted: tuple[ScriptedUpstream, ServerThread],
                                                      workers: int) -> None:
    up, upstream = scripted
    words = [f"word{i} " for i in range(16)]
    release = threading.Event()  # the upstream stops after 4 pieces until the test releases it
    up.reset(chunks=words, chunk_delay_s=0.02, hold=release, hold_after_chunks=4)
    port = _free_port()
    proc = _serve(["--upstream", upstream.url, "--port", str(port), "--workers", str(workers), "--audit-log", "off",
                   "--drain-delay", "0.5"])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url)
        if workers > 1:
            wait_until(lambda: len(_workers(proc.pid)) == workers)
        result: dict[str, object] = {}
        thread = _stream_in_thread(url, result)
        wait_until(lambda: up.streams_started == 1)
        proc.send_signal(signal.SIGTERM)
        # Draining: not ready (a load balancer stops sending), then the port closes to new connections.
        wait_until(lambda: httpx.get(url + "/readyz", headers={"connection": "close"}, timeout=2).status_code == 503)

        def refused() -> bool:
            try:
                httpx.get(url + "/healthz", headers={"connection": "close"}, timeout=2)
            except httpx.TransportError:  # refused, or reset unanswered from the closing backlog
                return True
            return False

        wait_until(refused)
        assert thread.is_alive() and proc.poll() is None, result  # the stream is still running, and so is the server
        release.set()
        thread.join(timeout=30)
        _, err = proc.communicate(timeout=60)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "error" not in result, result
    lines = result["lines"]
    assert isinstance(lines, list) and lines[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in lines[:-1])
    assert text == "".join(words)
    assert up.streams_completed == 1
    assert proc.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err
