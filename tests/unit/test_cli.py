"""The ``guardrails`` console script, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "guardrails")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policies"


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def block_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("p") / "block.yaml"
    path.write_text(
        "version: 1\nname: cli-test\ninput:\n  - filter: deny_list\n    words: [forbidden]\n"
        "  - filter: secrets\n    action: redact\noutput:\n  - filter: regex\n    patterns: ['leak']\n"
    )
    return path


def test_cli_check_json_prints_verdict_and_exit_0(block_policy: Path) -> None:
    r = run("check", "--policy", str(block_policy), "--json", "key AKIAIOSFODNN7EXAMPLE here")
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert v["allowed"] is True and v["action"] == "redact" and v["stage"] == "input"
    assert v["text"] == "key <AWS_ACCESS_KEY_ID> here"
    assert v["policy"] == "cli-test"


def test_cli_check_blocked_exits_1(block_policy: Path) -> None:
    r = run("check", "--policy", str(block_policy), "this is f0rbidden")
    assert r.returncode == 1
    assert r.stdout.startswith("BLOCK")


def test_cli_check_output_stage(block_policy: Path) -> None:
    assert run("check", "--policy", str(block_policy), "--stage", "output", "a leak").returncode == 1
    assert run("check", "--policy", str(block_policy), "--stage", "input", "a leak").returncode == 0


def test_cli_check_reads_stdin(block_policy: Path) -> None:
    r = run("check", "--policy", str(block_policy), "--json", "-", stdin="forbidden words")
    assert r.returncode == 1 and json.loads(r.stdout)["allowed"] is False


def test_cli_check_default_policy_without_flag() -> None:
    r = run("check", "--json", "What is the boiling point of water?")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["policy"] == "default"


def test_cli_check_bad_policy_exits_2_with_located_error() -> None:
    r = run("check", "--policy", "bad_threshold_line7.yaml", "hi", cwd=FIXTURES)
    assert r.returncode == 2
    assert "bad_threshold_line7.yaml:7: input[1].threshold: expected a number between 0 and 1, got 'high'" in r.stderr
    assert "Traceback" not in r.stderr


def test_cli_check_without_text_is_usage_error() -> None:
    r = run("check")
    assert r.returncode == 2 and "give TEXT" in r.stderr


def test_cli_check_jsonl_batch_keeps_order_and_ids(block_policy: Path, tmp_path: Path) -> None:
    lines = [
        {"id": "a", "text": "hello"},
        {"id": 2, "text": "forbidden"},
        {"text": "a leak", "stage": "output"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    r = run("check", "--policy", str(block_policy), "--jsonl", str(src))
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a", 2, None]
    assert [o["allowed"] for o in out] == [True, False, False]
    assert out[2]["stage"] == "output"


def test_cli_check_jsonl_bad_line_named_and_exit_2(block_policy: Path) -> None:
    r = run("check", "--policy", str(block_policy), "--jsonl", "-", stdin='{"text": "ok"}\n{"txt": "x"}\nnot json\n')
    assert r.returncode == 2
    assert "-:2: expected an object with a string 'text'" in r.stderr
    assert "-:3: " in r.stderr
    assert len(r.stdout.splitlines()) == 3


def test_cli_policy_validate_reports_line_7_and_exits_2() -> None:
    r = run("policy", "validate", "good_app.yaml", "bad_threshold_line7.yaml", cwd=FIXTURES)
    assert r.returncode == 2
    assert "good_app.yaml: ok" in r.stdout
    assert r.stderr.strip() == "bad_threshold_line7.yaml:7: input[1].threshold: expected a number between 0 and 1, got 'high'"


def test_cli_policy_show_resolves_extends() -> None:
    r = run("policy", "show", "--json", "good_app.yaml", cwd=FIXTURES)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["name"] == "support-bot"
    assert "deny_list" in [f["id"] for f in data["input"]]
    assert data["hash"].startswith("sha256:")


def test_cli_policy_schema_is_json_schema() -> None:
    r = run("policy", "schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert schema["title"] == "guardrails policy" and "input" in schema["properties"]


def test_python_dash_m_guardrails_is_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "guardrails", "check", "--json", "what is 2+2"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["allowed"] is True
