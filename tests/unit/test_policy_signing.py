"""Signed policies (guardrails.signing): keys, FILE.sig, and what load_policy / Guard / the CLI refuse."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from guardrails import Guard
from guardrails.cli.main import main
from guardrails.errors import PolicyError
from guardrails.policy import load_policy
from guardrails.server.config import build_server_config
from guardrails.signing import (
    KeyRing,
    PolicySignatureError,
    generate_key_pair,
    key_id,
    load_private_key,
    load_trusted_keys,
    sign_file,
    signature_path,
    verify_file,
)

BASE = "name: base\ninput:\n  - filter: regex\n    id: word\n    patterns: [\"apple\"]\n"
APP = "extends: base.yaml\nname: app\noutput:\n  - filter: regex\n    id: out\n    patterns: [\"pear\"]\n"


class Keys:
    def __init__(self, folder: Path, name: str = "ops") -> None:
        self.private, self.public, self.id = generate_key_pair(folder, name)
        self.folder = folder
        self.key = load_private_key(self.private)

    def sign(self, *files: Path) -> None:
        for f in files:
            sign_file(f, self.key)


@pytest.fixture()
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path / "trusted")


@pytest.fixture()
def signed(tmp_path: Path, keys: Keys) -> Path:
    """app.yaml extends base.yaml, both signed by the trusted key; returns app.yaml."""
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "app.yaml").write_text(APP)
    keys.sign(tmp_path / "base.yaml", tmp_path / "app.yaml")
    return tmp_path / "app.yaml"


def _refusal(path: Path, keys: Keys | str | Path) -> str:
    with pytest.raises(PolicySignatureError) as err:
        load_policy(path, trusted_keys=keys.folder if isinstance(keys, Keys) else keys)
    return str(err.value)


# -- keys ------------------------------------------------------------------------------------------


def test_keygen_cli_writes_private_key_0600_and_public_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--out", str(tmp_path / "k"), "--name", "publisher"]) == 0
    out = capsys.readouterr().out
    private, public = tmp_path / "k" / "publisher.key", tmp_path / "k" / "publisher.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    pub = serialization.load_pem_public_key(public.read_bytes())
    kid = key_id(pub)  # type: ignore[arg-type]
    assert len(kid) == 16 and f"key id: {kid}" in out
    # the key id is the first 16 hex digits of sha256 of the raw public key
    import hashlib
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert kid == hashlib.sha256(raw).hexdigest()[:16]
    # never overwrites
    assert main(["keygen", "--out", str(tmp_path / "k"), "--name", "publisher"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_trusted_keys_accepts_folder_file_and_key_list(keys: Keys, signed: Path) -> None:
    pem = keys.public.read_text()
    public = load_private_key(keys.private).public_key()
    for spec in (keys.folder, str(keys.folder), keys.public, [pem], [pem.encode()], [public],
                 [public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)], [keys.public]):
        assert load_policy(signed, trusted_keys=spec).signer == keys.id  # type: ignore[arg-type]


def test_trusted_keys_refuses_empty_folder_and_private_keys(tmp_path: Path, keys: Keys) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PolicyError, match="no public keys"):
        load_trusted_keys(tmp_path / "empty")
    with pytest.raises(PolicyError, match="is a private key"):
        load_trusted_keys([keys.private.read_text()])
    with pytest.raises(PolicyError, match="no such folder"):
        load_trusted_keys(tmp_path / "missing")


# -- round trip --------------------------------------------------------------------------------


def test_sign_verify_round_trip_python(signed: Path, keys: Keys) -> None:
    sig = json.loads(signature_path(signed).read_text())
    assert sig["algorithm"] == "ed25519" and sig["key_id"] == keys.id and sig["version"] == 1
    assert verify_file(signed, load_trusted_keys(keys.folder)) == keys.id
    policy = load_policy(signed, trusted_keys=keys.folder)
    assert policy.signer == keys.id
    assert set(policy.signatures) == {str(signed), str(signed.parent / "base.yaml")}
    guard = Guard.from_policy(str(signed), trusted_keys=keys.folder)
    assert guard.policy_signer == keys.id
    verdict = guard.check_input("an apple")
    assert verdict.blocked and verdict.policy_signer == keys.id
    assert verdict.to_dict()["policy_signer"] == keys.id
    assert verdict.to_dict()["policy_hash"] == guard.policy_hash  # still there, unchanged
    assert verdict.summary()["policy_signer"] == keys.id


def test_sign_verify_round_trip_cli(signed: Path, keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    base = signed.parent / "base.yaml"
    signature_path(signed).unlink()
    signature_path(base).unlink()
    assert main(["policy", "sign", "--key", str(keys.private), str(signed), str(base)]) == 0
    assert f"signed by key {keys.id}" in capsys.readouterr().out
    assert signature_path(signed).is_file() and signature_path(base).is_file()
    assert main(["policy", "verify", str(signed), "--trusted-keys", str(keys.folder)]) == 0
    out = capsys.readouterr().out
    assert f"{signed}: ok, signer {keys.id}" in out
    assert f"base.yaml: signed by key {keys.id}" in out


def test_without_trusted_keys_nothing_changes(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "app.yaml").write_text(APP)  # no signatures anywhere
    guard = Guard.from_policy(str(tmp_path / "app.yaml"))
    assert guard.policy.signer is None and guard.policy.signatures == {} and guard.policy_signer is None
    data = guard.check_input("an apple").to_dict()
    assert "policy_signer" not in data
    assert set(data) == {"allowed", "action", "stage", "text", "violations", "policy", "policy_hash", "latency_ms", "scores"}


# -- refusals ------------------------------------------------------------------------------------------


def test_one_changed_byte_is_detected(signed: Path, keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(signed.read_bytes())
    data[data.index(b"pear")] = ord("b")  # "pear" -> "bear": still a valid policy
    signed.write_bytes(bytes(data))
    assert f"{signed}: signature does not match the file (tampered?)" in _refusal(signed, keys)
    assert main(["policy", "verify", str(signed), "--trusted-keys", str(keys.folder)]) == 1
    assert "signature does not match the file (tampered?)" in capsys.readouterr().err


def test_a_trailing_newline_is_a_change_too(signed: Path, keys: Keys) -> None:
    signed.write_bytes(signed.read_bytes() + b"\n")
    assert "tampered?" in _refusal(signed, keys)


def test_unsigned_policy_is_refused(signed: Path, keys: Keys) -> None:
    signature_path(signed).unlink()
    message = _refusal(signed, keys)
    assert f"{signed}: no signature file" in message
    with pytest.raises(PolicySignatureError, match="no signature file"):
        Guard.from_policy(str(signed), trusted_keys=keys.folder)


def test_untrusted_key_is_refused(tmp_path: Path, signed: Path, keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    stranger = Keys(tmp_path / "stranger")
    stranger.sign(signed)
    message = _refusal(signed, keys)
    assert f"{signed}: signed by key {stranger.id}, not in the trusted keys" in message
    assert main(["policy", "verify", str(signed), "--trusted-keys", str(keys.folder)]) == 1
    assert f"signed by key {stranger.id}, not in the trusted keys" in capsys.readouterr().err


def test_a_forged_key_id_does_not_help(tmp_path: Path, signed: Path, keys: Keys) -> None:
    stranger = Keys(tmp_path / "stranger")
    stranger.sign(signed)
    sig = json.loads(signature_path(signed).read_text())
    sig["key_id"] = keys.id  # claims the trusted key; the signature is checked with the trusted key itself
    signature_path(signed).write_text(json.dumps(sig))
    assert "signature does not match the file (tampered?)" in _refusal(signed, keys)


def test_malformed_signature_file_is_refused(signed: Path, keys: Keys) -> None:
    signature_path(signed).write_text("not json")
    assert "not a guardrails signature file" in _refusal(signed, keys)
    signature_path(signed).write_text(json.dumps({"version": 1, "algorithm": "rsa", "key_id": keys.id, "signature": "x"}))
    assert "unsupported signature algorithm 'rsa'" in _refusal(signed, keys)


def test_unsigned_parent_reached_through_extends_is_refused(signed: Path, keys: Keys) -> None:
    signature_path(signed.parent / "base.yaml").unlink()
    message = _refusal(signed, keys)
    assert "base.yaml: no signature file" in message
    assert not any(line.startswith(str(signed)) for line in message.splitlines())  # app.yaml itself is fine


def test_tampered_parent_reached_through_extends_is_refused(signed: Path, keys: Keys) -> None:
    base = signed.parent / "base.yaml"
    base.write_text(BASE.replace("apple", "xyzzy"))  # weakens the inherited filter
    assert "base.yaml: signature does not match the file (tampered?)" in _refusal(signed, keys)


def test_every_bad_file_is_reported_at_once(signed: Path, keys: Keys) -> None:
    signed.write_text(APP + "# edited\n")
    signature_path(signed.parent / "base.yaml").unlink()
    message = _refusal(signed, keys)
    assert "app.yaml: signature does not match" in message and "base.yaml: no signature file" in message


def test_tampered_file_that_no_longer_parses_is_reported_as_tampered(signed: Path, keys: Keys) -> None:
    signed.write_text("name: [unclosed\n")
    assert "signature does not match the file (tampered?)" in _refusal(signed, keys)


def test_builtin_parent_needs_no_signature(tmp_path: Path, keys: Keys) -> None:
    app = tmp_path / "app.yaml"
    app.write_text("extends: default\nname: app\n")
    keys.sign(app)
    policy = load_policy(app, trusted_keys=keys.folder)
    assert policy.signer == keys.id
    assert list(policy.signatures) == [str(app)]  # the built-in file is part of the installed package
    assert load_policy("default", trusted_keys=keys.folder).signer is None  # a built-in name: nothing to sign


def test_a_deny_list_file_must_be_signed_too(tmp_path: Path, keys: Keys) -> None:
    words = tmp_path / "words.txt"
    words.write_text("apple\nbanana\n")
    app = tmp_path / "app.yaml"
    app.write_text("name: app\ninput:\n  - filter: deny_list\n    file: words.txt\n")
    keys.sign(app)
    assert "words.txt: no signature file" in _refusal(app, keys)
    keys.sign(words)
    assert load_policy(app, trusted_keys=keys.folder).signatures[str(words)] == keys.id
    words.write_text("banana\n")  # apple no longer denied
    assert "words.txt: signature does not match the file (tampered?)" in _refusal(app, keys)


def test_an_unsigned_file_never_gets_to_import_a_plugin(tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "evil_plugin_mod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass F: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = tmp_path / "app.yaml"
    app.write_text("name: app\ninput:\n  - filter: evil_plugin_mod:F\n")
    with pytest.raises(PolicySignatureError, match="no signature file"):
        load_policy(app, trust_plugins=True, trusted_keys=keys.folder)
    assert not marker.exists() and "evil_plugin_mod" not in sys.modules


def test_policy_objects_and_dicts_with_trusted_keys(tmp_path: Path, signed: Path, keys: Keys) -> None:
    verified = load_policy(signed, trusted_keys=keys.folder)
    assert Guard.from_policy(verified, trusted_keys=keys.folder).policy_signer == keys.id
    other = Keys(tmp_path / "other")
    with pytest.raises(PolicySignatureError, match="not in the trusted keys"):
        Guard.from_policy(verified, trusted_keys=other.folder)
    with pytest.raises(PolicySignatureError, match="not verified when the policy was loaded"):
        Guard.from_policy(load_policy(signed), trusted_keys=keys.folder)
    with pytest.raises(PolicyError, match="has no signature"):
        Guard.from_policy({"name": "x"}, trusted_keys=keys.folder)


# -- CLI -------------------------------------------------------------------------------------------------


def test_verify_cli_usage_errors_exit_2(signed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "verify", str(signed), "--trusted-keys", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["policy", "verify"])
    assert exc.value.code == 2


def test_verify_cli_without_trusted_keys_checks_integrity_only(signed: Path, keys: Keys,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "verify", str(signed)]) == 0
    captured = capsys.readouterr()
    assert f"signer {keys.id}" in captured.out and "not that a key you trust signed them" in captured.err
    signed.write_text(APP.replace("pear", "bear"))
    assert main(["policy", "verify", str(signed)]) == 1


def test_sign_cli_warns_about_a_readable_private_key(signed: Path, keys: Keys, capsys: pytest.CaptureFixture[str]) -> None:
    os.chmod(keys.private, 0o644)
    assert main(["policy", "sign", "--key", str(keys.private), str(signed)]) == 0
    assert "can be read by other users" in capsys.readouterr().err
    assert main(["policy", "sign", "--key", str(keys.public), str(signed)]) == 2  # a public key cannot sign


def test_server_config_trusted_keys_is_relative_to_the_config_file(tmp_path: Path) -> None:
    loaded = build_server_config({"upstream": "http://127.0.0.1:9/v1", "trusted_keys": "keys", "apps": {"a": {}}},
                                 base_dir=tmp_path)
    assert loaded.config.trusted_keys == str(tmp_path / "keys")
    assert build_server_config({"upstream": "http://127.0.0.1:9/v1", "apps": {"a": {}}}).config.trusted_keys is None


def test_integrity_only_ring_is_never_a_trust_decision() -> None:
    ring = KeyRing.integrity_only_ring()
    assert ring.integrity_only and not ring.keys
