"""What a policy file can do to the process: nothing hangs it, nothing runs code or reads files it was not
allowed to, nothing it holds from the environment is printed, and a reload never drops filters silently."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from guardrails import Guard
from guardrails.errors import PolicyError
from guardrails.policy import load_policy, policy_from_dict


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- regular expressions: linear time or rejected at load ------------------------------------------


def test_backtracking_pii_recognizer_finishes_and_fails_closed_never_open() -> None:
    """`(a|aa)+$` took Presidio's engine ~60 s and was then skipped (text allowed); on RE2 it is linear."""
    guard = Guard.from_policy({"name": "t", "input": [{"filter": "pii", "action": "block", "recognizers": [
        {"entity": "EVIL", "patterns": [{"regex": "(a|aa)+$", "score": 0.9}]}]}]})
    clean = guard.check_input("a" * 41 + "b")
    assert clean.allowed and not clean.errors
    hit = guard.check_input("b" + "a" * 41)
    assert not hit.allowed and hit.violations[0].category == "EVIL"


@pytest.mark.parametrize("entry, where", [
    ("{filter: pii, recognizers: [{entity: X_ID, patterns: [{regex: '(?<=id)\\d+'}]}]}", "recognizers[0].patterns[0].regex"),
    ("{filter: pii, allow_list: ['(a)\\1'], allow_list_match: regex}", "input[0]"),
    ("{filter: regex, patterns: ['(x+)\\1']}", "patterns[0]"),
])
def test_patterns_re2_cannot_run_are_rejected_with_their_location(tmp_path: Path, entry: str, where: str) -> None:
    path = _write(tmp_path / "p.yaml", f"version: 1\nname: t\ninput:\n  - {entry}\n")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    message = str(err.value)
    assert "p.yaml:4:" in message and where in message and "linear-time engine RE2" in message


def test_too_many_patterns_is_a_located_error(tmp_path: Path) -> None:
    patterns = ", ".join(f"'w{i}'" for i in range(1001))
    path = _write(tmp_path / "p.yaml", f"version: 1\nname: t\ninput:\n  - filter: regex\n    patterns: [{patterns}]\n")
    with pytest.raises(PolicyError, match=r"p.yaml:5: input\[0\].patterns: expected at most 1000 entries"):
        load_policy(path)


@pytest.mark.parametrize("entry, text", [
    ("area51", "area51"), ("area51", "what happened at Area51 in 1947?"), ("gpt4", "is gpt4 free?"),
    ("project x9", "the PROJECT  X9 files"), ("2024-plan", "see 2024-plan.docx"),
])
def test_deny_list_entries_with_digits_match(entry: str, text: str) -> None:
    guard = Guard.from_policy({"name": "t", "input": [{"filter": "deny_list", "words": [entry]}]})
    assert not guard.check_input(text).allowed


def test_deny_list_with_digits_still_matches_whole_words_only() -> None:
    guard = Guard.from_policy({"name": "t", "input": [{"filter": "deny_list", "words": ["gpt4", "x9"]}]})
    assert guard.check_input("we use gpt-4 and ax9b").allowed


# -- YAML: bounded, plain data only ------------------------------------------------------------------


def test_alias_bomb_is_refused_quickly_with_a_location(tmp_path: Path) -> None:
    lines = ["version: 1", "name: bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = _write(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    with pytest.raises(PolicyError, match=r"bomb.yaml:\d+: .*more than 100,000 values once anchors and aliases"):
        load_policy(path)


def test_recursive_alias_unknown_tag_and_deep_nesting_are_located_errors(tmp_path: Path) -> None:
    cases = {
        "rec.yaml": ("version: 1\nname: r\ninput: &x\n  - *x\n", "recursive alias"),
        "tag.yaml": ("version: 1\nname: t\nrefusal: !!python/object/apply:os.system ['true']\n", "unsupported YAML tag"),
        "tag2.yaml": ("version: 1\nname: t\ninput: !!set {a: null}\n", "unsupported YAML tag"),
        "deep.yaml": ("version: 1\nname: d\nx: " + "[" * 200 + "]" * 200 + "\n", "nested more than 64 levels"),
        "deeper.yaml": ("x: " + "[" * 100_000 + "]" * 100_000 + "\n", "invalid YAML"),
    }
    for name, (text, expected) in cases.items():
        with pytest.raises(PolicyError) as err:
            load_policy(_write(tmp_path / name, text))
        assert name in str(err.value) and expected in str(err.value), (name, str(err.value))


def test_oversized_policy_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.yaml", "version: 1\nname: big\ndescription: '" + "x" * (1 << 20) + "'\n")
    with pytest.raises(PolicyError, match="the limit is 1048576"):
        load_policy(path)


# -- extends: inside the policy's folder tree, never echoing another file ---------------------------


def test_extends_outside_the_policy_folder_is_refused_without_reading_it(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.yaml", "name: s\ndescription: TOP-SECRET-LINE\n")
    app = tmp_path / "apps"
    app.mkdir()
    for target in (str(secret), "../secret.yaml", "/etc/passwd"):
        path = _write(app / "p.yaml", f"version: 1\nname: p\nextends: {target}\ninput: []\n")
        with pytest.raises(PolicyError) as err:
            load_policy(path)
        message = str(err.value)
        assert "p.yaml:3: extends:" in message and "TOP-SECRET-LINE" not in message and "root:" not in message
    # Inside the tree, and built-in names, still work.
    (app / "base").mkdir()
    _write(app / "base" / "b.yaml", "version: 1\nname: b\ninput: [{filter: length, max_chars: 5}]\n")
    assert load_policy(_write(app / "p.yaml", "version: 1\nname: p\nextends: base/b.yaml\n")).input[0].filter == "length"
    assert load_policy(_write(app / "p.yaml", "version: 1\nname: p\nextends: default\n")).input


def test_extends_reads_other_folders_the_deployer_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    _write(shared / "base.yaml", "version: 1\nname: base\ninput: [{filter: length, max_chars: 5}]\n")
    app = tmp_path / "app"
    app.mkdir()
    path = _write(app / "p.yaml", "version: 1\nname: p\nextends: ../shared/base.yaml\n")
    with pytest.raises(PolicyError, match="GUARDRAILS_POLICY_PATH"):
        load_policy(path)
    monkeypatch.setenv("GUARDRAILS_POLICY_PATH", str(shared))
    assert load_policy(path).input[0].filter == "length"


# -- values from the environment --------------------------------------------------------------------


def test_environment_values_never_appear_in_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKY", "hunter2-password")
    path = _write(tmp_path / "p.yaml", "version: 1\nname: p\ninput:\n  - filter: builtin\n    threshold: ${LEAKY}\n"
                                       "  - filter: deny_list\n    file: ${LEAKY}\n")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    message = str(err.value)
    assert "p.yaml:5: input[0].threshold" in message and "p.yaml:7: input[1].file" in message
    assert "hunter2" not in message and "<value from the environment>" in message
    with pytest.raises(PolicyError) as err2:
        policy_from_dict({"name": "d", "input": [{"filter": "builtin", "threshold": "${LEAKY}"}]})
    assert "hunter2" not in str(err2.value)


def test_policy_hash_follows_secret_values_without_showing_them(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"name": "h", "input": [{"filter": "pii", "action": "hash", "hash_key": "${PII_KEY}"}]}
    monkeypatch.setenv("PII_KEY", "first-key")
    first = policy_from_dict(data)
    monkeypatch.setenv("PII_KEY", "second-key")
    second = policy_from_dict(data)
    assert first.hash != second.hash
    assert "first-key" not in str(first.to_dict()) and first.hash == policy_from_dict(
        {"name": "h", "input": [{"filter": "pii", "action": "hash", "hash_key": "first-key"}]}).hash


# -- plugins: code runs only when the deployer says so ---------------------------------------------


def test_policy_validate_does_not_import_plugins_unless_trusted(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "sneaky_plugin.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from guardrails.filters.base import BaseFilter\n"
        "class Sneaky(BaseFilter):\n    name = 'sneaky'\n    def check(self, text, ctx):\n        raise RuntimeError\n")
    policy = _write(tmp_path / "p.yaml", "version: 1\nname: p\ninput:\n  - filter: sneaky_plugin:Sneaky\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "guardrails.cli.main", "policy", "validate", str(policy)]
    refused = subprocess.run(cli, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert refused.returncode == 2 and not marker.exists()
    assert "p.yaml:4: input[0].filter" in refused.stderr and "--trust-plugins" in refused.stderr
    other = subprocess.run([*cli, "--trust-plugins", "acme_filters"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert other.returncode == 2 and not marker.exists()
    trusted = subprocess.run([*cli, "--trust-plugins", "sneaky_plugin"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert trusted.returncode == 0, trusted.stderr
    assert marker.exists()


def test_trust_plugins_does_not_silently_swallow_the_text_or_file_after_it(capsys: pytest.CaptureFixture[str]) -> None:
    from guardrails.cli.main import main

    # argparse hands an optional value the next word: a text or a policy file would become the module list
    for argv in (["check", "--trust-plugins", "hello there"], ["policy", "validate", "--trust-plugins", "p.yaml"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert "is not a comma-separated list of module names" in capsys.readouterr().err
    assert main(["check", "--trust-plugins", "hello"]) == 2  # a word that can be a module: say what happened
    assert "--trust-plugins took 'hello' as its module list" in capsys.readouterr().err
    assert main(["check", "hello", "--trust-plugins"]) == 0
    assert main(["check", "--trust-plugins=acme_filters, ourco.guards", "hello"]) == 0


# -- reload: a partial write never drops filters ----------------------------------------------------


def test_removals_are_reported_unless_declared() -> None:
    running = policy_from_dict({"name": "r", "input": [{"filter": "length", "max_chars": 9}],
                                "output": [{"filter": "secrets"}, {"filter": "length", "max_chars": 9}]})
    prefix = policy_from_dict({"name": "r", "input": [{"filter": "length", "max_chars": 9}]})
    assert prefix.removals_from(running) == ["the output stage is missing (write `output: []` to run no output filters)"]
    cut = policy_from_dict({"name": "r", "input": [{"filter": "length", "max_chars": 9}], "output": [{"filter": "secrets"}]})
    assert cut.removals_from(running) == ["output filter 'length' is missing (keep its entry with `enabled: false` to remove it)"]
    told = policy_from_dict({"name": "r", "input": [{"filter": "length", "max_chars": 9}],
                             "output": [{"filter": "secrets"}, {"filter": "length", "enabled": False}]})
    emptied = policy_from_dict({"name": "r", "input": [{"filter": "length", "max_chars": 9}], "output": []})
    assert told.removals_from(running) == [] and emptied.removals_from(running) == []


def test_watcher_reloads_only_a_file_that_stopped_changing(tmp_path: Path) -> None:
    from guardrails.server.audit import AuditLog
    from guardrails.server.config import build_server_config
    from guardrails.server.reload import PolicyReloader
    from guardrails.server.state import Sidecar

    policy = _write(tmp_path / "app.yaml", "version: 1\nname: a\ninput: [{filter: regex, patterns: [apple]}]\noutput: []\n")
    config = build_server_config({"upstream": "http://127.0.0.1:9/v1", "apps": {"app": {"policy": str(policy)}}})
    sc = Sidecar(config, audit=AuditLog("off"))
    reloader = PolicyReloader(sc)
    before = sc.apps["app"].handle.guard.policy_hash

    async def polls() -> list[str]:
        seen = []
        _write(policy, "version: 1\nname: a\ninput: [{filter: regex, patterns: [pear]}]\noutput: []\n")
        for _ in range(2):
            await reloader.poll_once()
            seen.append(sc.apps["app"].handle.guard.policy_hash)
        return seen

    first, second = asyncio.run(polls())
    assert first == before  # changed since the last look: wait one more interval
    assert second != before
