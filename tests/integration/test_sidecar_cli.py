"""``guardrails serve`` as a real process: config errors, SIGHUP reload, audit file, and the --model backend."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import openai
import pytest

from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread

pytestmark = pytest.mark.integration

KEY = "cli-test-key-123456"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "guardrails.cli.main", "serve", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=Path(__file__).resolve().parents[2])


def _wait_healthy(proc: subprocess.Popen[str], url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the signal so the parent sees it.
    return (0 if proc.returncode == -signal.SIGTERM else proc.returncode), out, err


@pytest.fixture()
def upstream() -> Iterator[ServerThread]:
    with ServerThread(ScriptedUpstream().app()) as server:
        yield server


def test_sidecar_cli_bad_config_exits_2_naming_file_line_key(tmp_path: Path) -> None:
    config = tmp_path / "server.yaml"
    config.write_text("upstream: http://127.0.0.1:9/v1\napps:\n  a:\n    keys: [{env: GR_CLI_UNSET_VAR}]\n    block_style: loud\n")
    proc = subprocess.run([sys.executable, "-m", "guardrails.cli.main", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{config}:5: apps.a.block_style: expected 'refusal' or 'error', got 'loud'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sidecar_cli_sighup_reloads_and_audits_to_file(tmp_path: Path, upstream: ServerThread) -> None:
    policy = tmp_path / "app.yaml"
    policy.write_text('name: cli\ninput:\n  - filter: regex\n    patterns: ["apple"]\n')
    (tmp_path / "keys.txt").write_text(f"# support keys\n{KEY}\n")
    audit = tmp_path / "audit.jsonl"
    port = _free_port()
    config = tmp_path / "server.yaml"
    config.write_text(f"""
upstream: {upstream.url}
port: {port}
reload_interval_s: 0
audit: {{path: {audit}}}
apps:
  support:
    policy: app.yaml
    keys: [{{file: keys.txt}}]
""")
    proc = _serve(["--config", str(config)])
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url)
        client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=10)

        def finish(text: str) -> str:
            r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
            return str(r.choices[0].finish_reason)

        assert finish("apple pie") == "content_filter" and finish("banana split") == "stop"
        policy.write_text('name: cli\ninput:\n  - filter: regex\n    patterns: ["banana"]\n')
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while finish("banana split") != "content_filter":
            assert time.monotonic() < deadline, "SIGHUP did not reload the policy"
            time.sleep(0.1)
        assert finish("apple pie") == "stop"
    finally:
        code, _, err = _stop(proc)
    assert code == 0
    assert KEY not in err
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert any(r.get("event") == "policy_reload" and r["reason"] == "SIGHUP" and r["result"] == "ok" for r in records)
    decisions = [r for r in records if r.get("event") == "decision"]
    assert {r["app"] for r in decisions} == {"support"}
    assert "apple pie" not in audit.read_text() and KEY not in audit.read_text()


@pytest.mark.slow
def test_sidecar_cli_model_flag_serves_local_model(tmp_path: Path) -> None:
    from tests.integration.test_sidecar_backend import build_tiny_llama

    folder = build_tiny_llama(tmp_path / "model")
    policy = tmp_path / "p.yaml"
    policy.write_text('name: local\ninput:\n  - filter: regex\n    patterns: ["forbidden topic"]\nrefusal: "No."\n')
    port = _free_port()
    proc = _serve(["--model", str(folder), "--policy", str(policy), "--port", str(port), "--api-key-env", "GR_CLI_KEY",
                   "--audit-log", "off"], env={"GR_CLI_KEY": KEY, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url, timeout=120)
        client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=60)
        answer = client.chat.completions.create(model="model", messages=[{"role": "user", "content": "hello"}],
                                                max_tokens=6, extra_body={"min_tokens": 6})
        assert answer.usage is not None and answer.usage.completion_tokens == 6
        refused = client.chat.completions.create(model="model", messages=[{"role": "user", "content": "a forbidden topic"}])
        assert refused.choices[0].message.content == "No."
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0).models.list()
    finally:
        code, _, _ = _stop(proc)
    assert code == 0
