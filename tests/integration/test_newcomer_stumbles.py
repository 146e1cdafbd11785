"""What a new user tripped over (issue #20), each checked the way they hit it: through the CLI and the files."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from guardrails.cli.main import main
from guardrails.eval import metrics
from guardrails.eval.dataset import read_dataset
from guardrails.eval.report import filter_rows, render_text
from guardrails.eval.runner import run
from guardrails.eval.summary import NO_CATEGORY, summarize
from guardrails.guard import Guard

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LIGHT_POLICY = "version: 1\nname: light\ninput:\n  - filter: regex\n    id: bomb\n    patterns: ['bomb']\n    category: weapons\n    action: block\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- guardrails check - : the line end that echo adds is not part of the text ---------------------------------


@pytest.mark.parametrize(("stdin", "text"), [("hello\n", "hello"), ("hello\r\n", "hello"), ("two\nlines\n\n", "two\nlines\n"),
                                             ("no end", "no end")])
def test_check_stdin_drops_one_trailing_line_end(stdin: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    policy = _write(tmp_path / "p.yaml", LIGHT_POLICY)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert main(["check", "--json", "--policy", str(policy), "-"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == text


# -- guardrails eval --report-dir without the eval extra ------------------------------------------------------


def _cli_without_matplotlib(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter where ``import matplotlib`` fails, as after the plain install."""
    code = "import sys; sys.modules['matplotlib'] = None\nfrom guardrails.cli.main import main\nsys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)


def test_eval_report_dir_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    policy = _write(tmp_path / "p.yaml", LIGHT_POLICY)
    data = _write(tmp_path / "d.jsonl", '{"text": "a bomb", "label": "unsafe"}\n{"text": "a cake", "label": "safe"}\n')
    r = _cli_without_matplotlib("eval", "--policy", str(policy), "--report-dir", str(tmp_path / "out"), str(data))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "openweights-guardrails[eval]" in r.stderr and "--no-plots" in r.stderr
    assert not (tmp_path / "out").exists()  # refused before any work
    ok = _cli_without_matplotlib("eval", "--policy", str(policy), "--no-plots", "--report-dir", str(tmp_path / "out"), str(data))
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out" / "report.md").is_file() and (tmp_path / "out" / "metrics.json").is_file()


# -- guardrails models list/prefetch --json -------------------------------------------------------------------


def test_models_json_prints_a_document_also_when_no_model_is_needed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["models", "list"], ["models", "prefetch", "--verify"]):
        assert main([*command, "default", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {"policy": "default", "models": [], "missing": 0}
    policy = _write(tmp_path / "m.yaml", "name: m\noffline: true\ninput:\n  - filter: classifier\n"
                                         "    model: example-org/never-downloaded\n    labels: {'1': jailbreak}\n")
    assert main(["models", "list", str(policy), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["missing"] == 1 and [(m["model"], m["status"]) for m in doc["models"]] == [("example-org/never-downloaded", "missing")]
    assert main(["models", "prefetch", str(policy), "--json"]) == 1  # offline: nothing downloaded, exit 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["missing"] == 1 and doc["models"][0]["error"].startswith("not present")


# -- guardrails policy validate lists every error -------------------------------------------------------------

SEVERAL_ERRORS = """\
version: 1
name: several
input:
  - filter: pii
    action: blok
    colour: red
  - filter: regex
    patterns: ["x"]
    action: blok
    threshold: 2
output:
  - filter: length
    max_chars: -5
on_error: explode
"""


def test_policy_validate_reports_every_error_with_file_line_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = _write(tmp_path / "several.yaml", SEVERAL_ERRORS)
    assert main(["policy", "validate", str(policy)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    expected = {
        (5, "input[0].action", "'blok'"), (6, "input[0].colour", "unknown key"),
        (9, "input[1].action", "'blok'"), (10, "input[1].threshold", "between 0 and 1"),
        (13, "output[0].max_chars", "greater than 0"), (14, "on_error", "'explode'"),
    }
    for line, key, what in expected:
        assert any(x.startswith(f"{policy}:{line}: {key}: ") and what in x for x in lines), (line, key, lines)
    assert len(lines) == len(expected)  # each once


# -- guardrails eval: rows without a category, and the threshold at a target FPR ------------------------------


def _summary(tmp_path: Path, lines: list[dict[str, object]]) -> dict[str, object]:
    data = _write(tmp_path / "d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    guard = Guard.from_policy(str(_write(tmp_path / "p.yaml", LIGHT_POLICY)))
    return summarize(run(guard, read_dataset([data])))


def test_eval_rows_without_category_are_not_reported_as_categories_safe_and_unsafe(tmp_path: Path) -> None:
    plain = [{"text": "a bomb", "label": "unsafe"}, {"text": "a cake", "label": "safe"}, {"text": "a pie", "label": "safe"}]
    summary = _summary(tmp_path, plain)
    assert summary["by_category"] == {}
    text = render_text(summary)
    assert "category: safe" not in text and "category: unsafe" not in text and "ALL" in text
    mixed = [*plain, {"text": "the bomb plan", "label": "unsafe", "category": "weapons"}]
    by_category = _summary(tmp_path, mixed)["by_category"]
    assert set(by_category) == {"weapons", NO_CATEGORY}  # type: ignore[arg-type]
    assert by_category[NO_CATEGORY]["n"] == 3 and by_category["weapons"]["recall"] == 1.0  # type: ignore[index]


def test_threshold_at_target_fpr_is_one_that_meets_it() -> None:
    # Caught: 0.9, 0.87654 (both unsafe); the next lower score, 0.8755, is a safe one that the target excludes.
    y = [True, True, False, False, False]
    s = [0.9, 0.87654, 0.8755, 0.2, 0.1]
    op = metrics.threshold_for_fpr(y, s, 0.0)
    assert (op.threshold, op.lowest_score, op.tp, op.fp) == (0.876, 0.87654, 2, 0)  # not 0.877, which misses one
    # Three digits would reach the excluded score: more digits, still above it.
    op = metrics.threshold_for_fpr([True, False], [0.87654, 0.8765], 0.0)
    assert op.threshold == 0.87654
    rows = filter_rows({"filters": {"f": {"scored": 5, "distinct_scores": 5, "category": None, "auprc": 1.0,
                                          "operating_points": [metrics.threshold_for_fpr(y, s, 0.0).to_dict()]}}})
    assert rows[0][-1].startswith("0.876 (recall 100.0%, FPR 0.0%)")


def test_threshold_at_target_fpr_gives_the_operating_point_it_reports() -> None:
    rng = random.Random(20)
    for _ in range(300):
        n = rng.randint(2, 40)
        y = [rng.random() < 0.4 for _ in range(n)]
        s = [round(rng.random(), rng.choice([2, 4, 6])) for _ in range(n)]
        target = rng.choice([0.0, 0.01, 0.1, 0.25])
        op = metrics.threshold_for_fpr(y, s, target)
        if op.threshold is None:
            continue
        c = metrics.confusion(y, [v >= op.threshold for v in s])
        assert (c.tp, c.fp) == (op.tp, op.fp), (y, s, target, op)


# -- examples/server.yaml: what it needs is said where a newcomer reads -----------------------------------------


def test_example_server_config_loads_with_the_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from guardrails.server.config import ServerConfigError, load_server_config

    path = REPO / "examples" / "server.yaml"
    monkeypatch.delenv("SUPPORT_KEY", raising=False)
    monkeypatch.delenv("INTERNAL_KEY", raising=False)
    with pytest.raises(ServerConfigError, match="SUPPORT_KEY"):
        load_server_config(path)
    monkeypatch.setenv("SUPPORT_KEY", "sk-support-example-1")
    monkeypatch.setenv("INTERNAL_KEY", "sk-internal-example-2")
    loaded = load_server_config(path)
    cfg = loaded.config
    assert cfg.port == 8080 and cfg.upstream == "http://127.0.0.1:8000/v1"
    assert cfg.apps["internal-tools"].upstream == "http://127.0.0.1:8001/v1"
    header = path.read_text(encoding="utf-8").split("\nversion:")[0]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for said in ("SUPPORT_KEY", "INTERNAL_KEY", "8080", "8000", "8001"):
        assert said in header and said in readme, said
