"""Signed policies in the sidecar: refused at start, refused on hot reload (old policy kept, reason logged),
and the signer's key id in /v1/guard/check answers and in the audit log."""

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
import pytest

from guardrails.server import create_app
from guardrails.server.config import ServerConfigError, build_server_config
from guardrails.signing import generate_key_pair, load_private_key, sign_file, signature_path
from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread
from tests.helpers.waiting import wait_until, write_atomically

pytestmark = pytest.mark.integration


def _policy(word: str) -> str:
    return f'name: signed\ninput:\n  - filter: regex\n    id: word\n    patterns: ["{word}"]\n'




class Signer:
    def __init__(self, folder: Path) -> None:
        self.private, self.public, self.id = generate_key_pair(folder)
        self.folder = folder
        self.key = load_private_key(self.private)

    def sign(self, path: Path) -> None:
        sign_file(path, self.key)


@pytest.fixture()
def upstream() -> Iterator[ServerThread]:
    with ServerThread(ScriptedUpstream().app()) as server:
        yield server


def _config(upstream: ServerThread, policy: Path, keys: Path, audit: str = "off") -> dict[str, object]:
    return {"upstream": upstream.url, "reload_interval_s": 0.1, "audit": {"path": audit},
            "trusted_keys": str(keys), "apps": {"app": {"policy": str(policy)}}}


def _check(sidecar: ServerThread, text: str = "probe") -> dict[str, object]:
    r = httpx.post(sidecar.url + "/v1/guard/check", json={"text": text}, timeout=10)
    assert r.status_code == 200
    return dict(r.json())


def _metric(sidecar: ServerThread, prefix: str) -> float:
    text = httpx.get(sidecar.url + "/metrics", timeout=10).text
    return next((float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(prefix)), 0.0)


REJECTED = 'guardrails_policy_reloads_total{app="app",result="rejected"}'
RELOADED = 'guardrails_policy_reloads_total{app="app",result="ok"}'


@pytest.fixture()
def signed(tmp_path: Path) -> tuple[Path, Signer]:
    policy = tmp_path / "policies" / "app.yaml"
    policy.parent.mkdir()
    policy.write_text(_policy("apple"))
    signer = Signer(tmp_path / "trusted")
    signer.sign(policy)
    return policy, signer


def test_check_api_and_audit_carry_the_signer(tmp_path: Path, upstream: ServerThread, signed: tuple[Path, Signer]) -> None:
    policy, signer = signed
    audit = tmp_path / "audit.jsonl"
    with ServerThread(create_app(build_server_config(_config(upstream, policy, signer.folder, str(audit))))) as sidecar:
        verdict = _check(sidecar, "an apple")
        assert verdict["allowed"] is False
        assert verdict["policy_signer"] == signer.id and str(verdict["policy_hash"]).startswith("sha256:")
        r = httpx.post(sidecar.url + "/v1/chat/completions", timeout=10,
                       json={"model": "m", "messages": [{"role": "user", "content": "hello"}]})
        assert r.status_code == 200
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    decisions = [r for r in records if r.get("event") == "decision"]
    assert decisions and all(r["policy_signer"] == signer.id and r["policy_hash"] == verdict["policy_hash"] for r in decisions)


def test_check_api_has_no_signer_without_trusted_keys(upstream: ServerThread, signed: tuple[Path, Signer]) -> None:
    policy, _ = signed
    config = build_server_config({"upstream": upstream.url, "audit": {"path": "off"}, "apps": {"app": {"policy": str(policy)}}})
    with ServerThread(create_app(config)) as sidecar:
        assert "policy_signer" not in _check(sidecar)


@pytest.mark.parametrize("damage, expected", [
    ("tamper", "app.yaml: signature does not match the file (tampered?)"),
    ("unsign", "app.yaml: no signature file"),
    ("stranger", "app.yaml: signed by key {stranger}, not in the trusted keys"),
])
def test_sidecar_refuses_to_start_with_a_bad_policy(tmp_path: Path, upstream: ServerThread, signed: tuple[Path, Signer],
                                                    damage: str, expected: str) -> None:
    policy, signer = signed
    stranger = Signer(tmp_path / "stranger")
    if damage == "tamper":
        policy.write_text(_policy("apricot"))
    elif damage == "unsign":
        signature_path(policy).unlink()
    else:
        stranger.sign(policy)
    with pytest.raises(ServerConfigError) as err:
        create_app(build_server_config(_config(upstream, policy, signer.folder)))
    message = str(err.value)
    assert "apps.app.policy: policy" in message and "cannot be loaded" in message
    assert expected.format(stranger=stranger.id) in message


def test_sidecar_refuses_an_empty_trusted_keys_folder(tmp_path: Path, upstream: ServerThread, signed: tuple[Path, Signer]) -> None:
    policy, _ = signed
    (tmp_path / "empty").mkdir()
    with pytest.raises(ServerConfigError, match="no public keys"):
        create_app(build_server_config(_config(upstream, policy, tmp_path / "empty")))


def test_reload_of_a_tampered_file_keeps_the_old_policy_and_logs_why(
        tmp_path: Path, upstream: ServerThread, signed: tuple[Path, Signer], caplog: pytest.LogCaptureFixture) -> None:
    policy, signer = signed
    audit = tmp_path / "audit.jsonl"
    with ServerThread(create_app(build_server_config(_config(upstream, policy, signer.folder, str(audit))))) as sidecar:
        old = _check(sidecar)["policy_hash"]
        assert _metric(sidecar, f'guardrails_policy_info{{app="app",policy="signed",policy_hash="{old}",signer="{signer.id}"}}') == 1.0
        with caplog.at_level("ERROR", logger="guardrails.server.reload"):
            write_atomically(policy, _policy("banana"))  # changed without a new signature
            wait_until(lambda: _metric(sidecar, REJECTED) == 1.0)
        assert _check(sidecar)["policy_hash"] == old
        assert _check(sidecar, "an apple")["allowed"] is False  # the old policy is still in force
        assert _check(sidecar, "a banana")["allowed"] is True
        message = " ".join(r.getMessage() for r in caplog.records)
        assert "app app: new policy rejected (file changed), keeping " + str(old) in message
        assert "app.yaml: signature does not match the file (tampered?)" in message
        # The publisher signs the new file: the change of app.yaml.sig alone triggers the reload.
        signer.sign(policy)
        wait_until(lambda: _metric(sidecar, RELOADED) == 1.0)
        now = _check(sidecar, "a banana")
        assert now["allowed"] is False and now["policy_hash"] != old and now["policy_signer"] == signer.id
        # /metrics: one policy_info series per app, the policy now in force with its hash and signer.
        info = [ln for ln in httpx.get(sidecar.url + "/metrics", timeout=10).text.splitlines()
                if ln.startswith("guardrails_policy_info{")]
        assert len(info) == 1 and f'policy_hash="{now["policy_hash"]}"' in info[0] and f'signer="{signer.id}"' in info[0]
    records = [json.loads(line) for line in audit.read_text().splitlines() if '"policy_reload"' in line]
    rejected = next(r for r in records if r["result"] == "rejected")
    assert rejected["policy_hash"] == old and rejected["policy_signer"] == signer.id
    assert "signature does not match the file (tampered?)" in rejected["error"]
    ok = next(r for r in records if r["result"] == "ok")
    assert ok["old_policy_hash"] == old and ok["policy_signer"] == signer.id


def test_reload_refuses_unsigned_and_untrusted_files(tmp_path: Path, upstream: ServerThread, signed: tuple[Path, Signer],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    policy, signer = signed
    stranger = Signer(tmp_path / "stranger")
    with ServerThread(create_app(build_server_config(_config(upstream, policy, signer.folder)))) as sidecar:
        old = _check(sidecar)["policy_hash"]
        with caplog.at_level("ERROR", logger="guardrails.server.reload"):
            write_atomically(policy, _policy("banana"))
            stranger.sign(policy)
            wait_until(lambda: "not in the trusted keys" in " ".join(r.getMessage() for r in caplog.records))
            signature_path(policy).unlink()
            wait_until(lambda: "no signature file" in " ".join(r.getMessage() for r in caplog.records))
        assert _check(sidecar)["policy_hash"] == old and _metric(sidecar, RELOADED) == 0.0
        assert f"signed by key {stranger.id}, not in the trusted keys" in caplog.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_trusted_keys_flag_refuses_a_tampered_policy_then_serves_the_signed_one(
        tmp_path: Path, upstream: ServerThread, signed: tuple[Path, Signer]) -> None:
    policy, signer = signed
    policy.write_text(_policy("apricot"))  # tampered
    port = _free_port()
    cmd = [sys.executable, "-m", "guardrails.cli.main", "serve", "--upstream", upstream.url + "/v1", "--policy",
           str(policy), "--port", str(port), "--audit-log", "off", "--trusted-keys", str(signer.folder)]
    root = Path(__file__).resolve().parents[2]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=root)
    assert refused.returncode == 2
    assert "signature does not match the file (tampered?)" in refused.stderr and "Traceback" not in refused.stderr
    signer.sign(policy)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "server did not become healthy"
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        r = httpx.post(url + "/v1/guard/check", json={"text": "an apricot"}, timeout=10)
        assert r.json()["allowed"] is False and r.json()["policy_signer"] == signer.id
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
