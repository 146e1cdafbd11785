"""``guardrails calibrate`` (#19): thresholds fitted to a target FPR on the operator's own benign rows, with
Wilson intervals, the recall they cost or gain on attack rows, and the policy written back with only those
numbers changed (comments and order kept), respecting the locks of a base policy."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardrails.calibrate import (
    CalibrationRows, calibrate, fit_threshold, read_rows, render_text, rows_needed, verify_policy, write_policy,
)
from guardrails.cli.main import main as cli
from guardrails.engine import Engine
from guardrails.errors import PolicyError
from guardrails.eval.metrics import wilson_interval
from guardrails.policy import load_policy
from guardrails.policy_edit import PolicyEditError, ThresholdEdit, apply_threshold_edits, format_threshold
from guardrails.types import Context, Stage

SCORED = "tests.helpers.scored:ScoredFilter"
ONE = "tests.helpers.scored:OneThresholdFilter"

POLICY = f"""\
# The app's policy: a scored filter with per-category thresholds,
# one with a single threshold, and a pattern filter.
version: 1
name: app   # shown in verdicts

input:
  - filter: {SCORED}
    id: scored          # per category
    threshold: 0.5
    thresholds:
      hate: 0.3         # far too low for our traffic
    action: block
  - filter: {ONE}
    id: one
    action: flag        # no threshold written: the default 0.5
  - filter: regex
    id: words
    patterns: [zap]
output: []
on_error: block
"""


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def hate_rows(n: int = 400) -> list[dict[str, Any]]:
    """n benign rows; row i scores hate i/n (0 .. 0.9975 for 400) and spam 0.1 (0.2 for the last 4)."""
    return [{"text": f"row {i} hate={i / n:.4f} spam={0.2 if i >= n - 4 else 0.1}"} for i in range(n)]


ATTACKS = [{"text": "attack hate=0.95", "category": "hate"}] * 40 + [{"text": "attack hate=0.99", "category": "hate"}] * 10


@pytest.fixture()
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def rows(tmp_path: Path, benign: list[dict[str, Any]], attacks: list[dict[str, Any]] = ()) -> CalibrationRows:  # type: ignore[assignment]
    b = write_rows(tmp_path / "benign.jsonl", benign)
    a = [write_rows(tmp_path / "attacks.jsonl", list(attacks))] if attacks else []
    return read_rows([b], a)


def slot(cal: Any, filter_id: str, category: str | None) -> Any:
    return next(s for s in cal.slots if s.filter_id == filter_id and s.category == category)


# -- statistics -----------------------------------------------------------------------------------


def test_fit_threshold_sits_at_the_lowest_score_seen_above_the_cut() -> None:
    scores = [i / 100 for i in range(100)]  # 0.00 .. 0.99
    # 5% of 100 rows: 5 may pass, so it must be above the 6th highest (0.94); the lowest score seen above
    # that is 0.95, and every threshold in (0.94, 0.95] catches the same rows: 0.95 is written.
    assert fit_threshold(scores, 0.05) == 0.95
    assert fit_threshold(scores, 0.01) == 0.99  # 1 may pass: above the 2nd highest (0.98)
    # an attack between the cut and the next benign score is caught: the threshold goes down to it
    assert fit_threshold(scores, 0.05, attacks=[0.9451, 0.3]) == 0.945
    assert fit_threshold(scores, 0.05, attacks=[0.94004]) == 0.94004  # more digits when 3 cannot stay above 0.94
    assert fit_threshold([0.8705] * 10, 0.05) == 0.871  # nothing above the cut: the next 3-digit number
    assert fit_threshold([1.0] * 10 + [0.5] * 90, 0.05) is None  # 10% score 1.0: nothing up to 1.0 meets 5%


def test_wilson_interval_and_rows_needed() -> None:
    low, high = wilson_interval(5, 100)  # type: ignore[misc]
    assert round(low, 4) == 0.0215 and round(high, 4) == 0.1118
    low, high = wilson_interval(0, 100)  # type: ignore[misc]
    assert low == 0.0 and round(high, 4) == 0.037  # z²/(n+z²)
    assert wilson_interval(0, 0) is None
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)
    # n >= z²(1-a)/a: the rows before an FPR of a can be told from zero
    assert rows_needed(0.01) == 381
    assert rows_needed(0.05) == 73


# -- calibration ----------------------------------------------------------------------------------


def test_calibration_picks_the_threshold_for_the_target_fpr(tmp_path: Path, policy: Path) -> None:
    cal = calibrate(policy, rows(tmp_path, hate_rows(), ATTACKS), target_fpr=0.01, trust_plugins=True)
    hate = slot(cal, "scored", "hate")
    # 400 benign rows at 1%: 4 may score at or above it; the 5th highest hate score is 395/400 = 0.9875
    # and the lowest score seen above it is 0.99 (a benign row and 10 attacks).
    assert (hate.status, hate.current, hate.new, hate.key) == ("raised", 0.3, 0.99, "thresholds.hate")
    assert (hate.fpr_now.hits, hate.fpr_now.total) == (280, 400)
    assert (hate.fpr_new.hits, hate.fpr_new.total) == (4, 400)
    assert hate.fpr_new.interval == pytest.approx(wilson_interval(4, 400))
    # recall on the 50 hate attacks: all caught at 0.3, only the 10 scoring 0.99 at 0.99
    assert (hate.recall_now.hits, hate.recall_now.total) == (50, 50)
    assert (hate.attacks, hate.recall_new.hits) == ("hate", 10)
    assert hate.recall_new.interval == pytest.approx(wilson_interval(10, 50))
    # spam scores 0.1 on 396 rows and 0.2 on 4: at 0.5 it flags nothing; 400 rows can show 1%, and 0.2
    # lets 4 through: it is lowered to 0.2
    spam = slot(cal, "scored", "spam")
    assert (spam.status, spam.current, spam.new, spam.fpr_new.hits) == ("lowered", 0.5, 0.2, 4)
    assert spam.attacks == "all"  # no spam attacks: recall over every attack
    # the single-threshold filter: its score is its highest category score (hate here)
    one = slot(cal, "one", None)
    assert (one.key, one.current, one.new) == ("threshold", 0.5, 0.99)
    words = next(s for s in cal.slots if s.filter_id == "words")
    assert words.status == "not_calibratable" and "pattern filter" in words.note
    assert cal.complete and cal.warnings == []
    text = render_text(cal)
    assert "scored / hate  [thresholds.hate]: raised" in text
    assert "FPR 1% (4/400; CI 0.39%-2.54%)" in text  # the Wilson interval of the new FPR
    assert "recall 20% (10/50; CI" in text and "(-80.0 pts)" in text


def test_the_written_policy_keeps_comments_and_order_and_loads_with_the_new_thresholds(tmp_path: Path, policy: Path) -> None:
    before = policy.read_text()
    cal = calibrate(policy, rows(tmp_path, hate_rows(), ATTACKS), target_fpr=0.01, trust_plugins=True)
    out = write_policy(cal, tmp_path / "new.yaml", trust_plugins=True)
    after = out.read_text()
    removed = [l for l in difflib.ndiff(before.splitlines(), after.splitlines()) if l.startswith("- ")]
    added = [l for l in difflib.ndiff(before.splitlines(), after.splitlines()) if l.startswith("+ ")]
    assert removed == ["-       hate: 0.3         # far too low for our traffic"]
    assert added == [
        "+       hate: 0.99         # far too low for our traffic",
        "+       spam: 0.2",
        "+     threshold: 0.99",
    ]
    lines = after.splitlines()
    assert lines[lines.index("      hate: 0.99         # far too low for our traffic") + 1] == "      spam: 0.2"
    assert lines[lines.index("    action: flag        # no threshold written: the default 0.5") + 1] == "    threshold: 0.99"
    engine = Engine(load_policy(out, trust_plugins=True))
    ctx = Context(stage=Stage.INPUT)
    by_id = {b.id: b.filter for b in engine.filters("input")}
    assert by_id["scored"].threshold_for("hate", ctx) == 0.99
    assert by_id["scored"].threshold_for("spam", ctx) == 0.2
    assert by_id["scored"].threshold_for("other", ctx) == 0.5  # the entry's threshold, unchanged
    assert by_id["one"].threshold == 0.99
    verify_policy(cal, out, trust_plugins=True)
    with pytest.raises(PolicyError, match="does not give the calibrated thresholds"):
        verify_policy(cal, policy, trust_plugins=True)  # the original still has the old ones


def test_locked_thresholds_of_a_base_are_not_raised_but_may_be_lowered(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        f"version: 1\nname: base\ninput:\n  - filter: {SCORED}\n    id: scored\n    locked: true\n"
        "    threshold: 0.5\n    thresholds: {hate: 0.3}\n")
    app = tmp_path / "app.yaml"
    app.write_text("# the app extends the platform's base\nversion: 1\nname: app\nextends: base.yaml\n")
    cal = calibrate(app, rows(tmp_path, hate_rows()), target_fpr=0.01, trust_plugins=True)
    hate, spam = slot(cal, "scored", "hate"), slot(cal, "scored", "spam")
    assert (hate.status, hate.new) == ("locked", 0.99)
    assert "threshold 0.99 is weaker than the locked 0.3 of" in hate.note and "base.yaml:8" in hate.note
    assert (spam.status, spam.new) == ("lowered", 0.2)  # lowering a locked threshold is fine
    assert not cal.complete
    written = write_policy(cal, app, trust_plugins=True)
    assert written.read_text() == (
        "# the app extends the platform's base\nversion: 1\nname: app\nextends: base.yaml\n"
        f"input:\n  - filter: {SCORED}\n    id: scored\n    thresholds:\n      spam: 0.2\n")
    filt = Engine(load_policy(app, trust_plugins=True)).filters("input")[0].filter
    assert filt.threshold_for("hate", Context()) == 0.3 and filt.threshold_for("spam", Context()) == 0.2
    assert "not written (locked)" in render_text(cal)


def test_small_samples_are_warned_about_and_not_lowered(tmp_path: Path, policy: Path) -> None:
    cal = calibrate(policy, rows(tmp_path, hate_rows(100)), target_fpr=0.01, trust_plugins=True)
    assert any("only 100 benign input rows" in w and "at least 381" in w for w in cal.warnings)
    hate = slot(cal, "scored", "hate")
    assert (hate.status, hate.new) == ("raised", 0.99)  # k = 1: above the 2nd highest (0.98)
    assert slot(cal, "scored", "spam").status == "unchanged"  # 0.2 lets 4 of 100 through: nothing lower meets 1%
    # spam 0.4 on one row, 0.1 on the others: 0.4 meets 1% and catches one row more than 0.5...
    few = [{"text": "spam=0.4"}] + [{"text": "spam=0.1"}] * 99
    spam = slot(calibrate(policy, rows(tmp_path, few), target_fpr=0.01, trust_plugins=True), "scored", "spam")
    assert spam.status == "kept" and "lowering it to 0.4 needs at least 381 benign rows (there are 100)" in spam.note
    # ... which 400 rows may show; or not, with lower=False (--no-lower)
    many = [{"text": "spam=0.4"}] + [{"text": "spam=0.1"}] * 399
    assert slot(calibrate(policy, rows(tmp_path, many), target_fpr=0.01, trust_plugins=True), "scored", "spam").new == 0.4
    no_lower = calibrate(policy, rows(tmp_path, many), target_fpr=0.01, trust_plugins=True, lower=False)
    assert slot(no_lower, "scored", "spam").status == "kept"


def test_builtin_is_calibrated_on_the_engines_own_scores(tmp_path: Path) -> None:
    policy = tmp_path / "b.yaml"
    policy.write_text("version: 1\nname: b\ninput:\n  # measured defaults\n  - filter: builtin\n    action: flag\n")
    texts = [f"How do I {verb} a {thing} for my {who}?" for verb in ("bake", "fix", "paint", "choose", "clean")
             for thing in ("cake", "bike", "fence", "laptop") for who in ("kid", "boss", "garden", "class")]
    benign = [{"text": t} for t in texts] * 5  # 400 rows
    cal = calibrate(policy, rows(tmp_path, benign), target_fpr=0.05, trust_plugins=False)
    engine = Engine(load_policy(policy))
    builtin = engine.filters("input")[0].filter
    builtin.ensure_loaded()
    enforced = builtin.thresholds("input")  # type: ignore[attr-defined]
    assert {s.category for s in cal.slots} == set(enforced)
    scored = [engine.check_alone("builtin", r["text"], "input").scores["builtin"] for r in benign]
    fitted = 0
    for category, threshold in enforced.items():
        s = slot(cal, "builtin", category)
        assert s.current == threshold
        if s.status in ("raised", "lowered"):
            assert s.new == fit_threshold([row[category] for row in scored], 0.05)
            fitted += 1
    assert fitted
    if cal.text is not None:  # a categories mapping is written with every enforced category
        out = write_policy(cal, tmp_path / "out.yaml")
        assert out.read_text().startswith("version: 1\nname: b\ninput:\n  # measured defaults\n  - filter: builtin\n"
                                          "    action: flag\n    categories:\n")
        again = Engine(load_policy(out)).filters("input")[0].filter
        again.ensure_loaded()
        assert again.thresholds("input") == {s.category: s.final for s in cal.slots}  # type: ignore[attr-defined]


def test_unreachable_targets_exit_1(tmp_path: Path, policy: Path) -> None:
    benign = write_rows(tmp_path / "b.jsonl", [{"text": "hate=1.0"}] * 10 + [{"text": "hate=0.2"}] * 390)
    out = tmp_path / "new.yaml"
    code = cli(["calibrate", "--policy", str(policy), str(benign), "--out", str(out), "--trust-plugins"])
    assert code == 1
    cal = calibrate(policy, read_rows([benign]), target_fpr=0.01, trust_plugins=True)
    assert slot(cal, "scored", "hate").status == "unreachable"
    assert "10 benign rows score 1.0" in slot(cal, "scored", "hate").note


def test_cli_exit_codes_and_outputs(tmp_path: Path, policy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    benign = write_rows(tmp_path / "benign.jsonl", hate_rows())
    attacks = write_rows(tmp_path / "attacks.jsonl", ATTACKS)
    out = tmp_path / "new.yaml"
    args = ["calibrate", "--policy", str(policy), "--target-fpr", "0.01", str(benign), str(attacks)]
    assert cli([*args, "--trust-plugins"]) == 0  # report only
    printed = capsys.readouterr().out
    assert "no file written" in printed and not out.exists()
    assert cli([*args, "--out", str(out), "--diff", "--trust-plugins"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "+      hate: 0.99" in printed
    assert load_policy(out, trust_plugins=True).input[0].thresholds == {"hate": 0.99, "spam": 0.2}  # type: ignore[attr-defined]
    assert cli([*args, "--json", "--trust-plugins"]) == 0
    report = json.loads(capsys.readouterr().out)
    hate = next(t for t in report["thresholds"] if t["category"] == "hate")
    assert (hate["new"], hate["fpr_new"]["hits"], hate["recall_new"]["hits"]) == (0.99, 4, 10)
    before = policy.read_text()
    assert cli([*args, "--write", "--trust-plugins"]) == 0
    assert policy.read_text() != before and "hate: 0.99 " in policy.read_text()
    # usage and data errors: 2
    assert cli(["calibrate", "--policy", "default", str(benign), "--write"]) == 2  # a built-in policy
    assert "built-in policy" in capsys.readouterr().err
    assert cli(["calibrate", "--policy", str(policy), "--trust-plugins"]) == 2  # no benign rows
    assert cli(["calibrate", "--policy", str(policy), str(tmp_path / "missing.jsonl"), "--trust-plugins"]) == 2
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\nnot json\n')
    assert cli(["calibrate", "--policy", str(policy), str(tmp_path / "bad.jsonl"), "--trust-plugins"]) == 2
    assert "bad.jsonl:2: not valid JSON" in capsys.readouterr().err
    assert cli(["calibrate", "--policy", str(policy), str(benign)]) == 2  # plugins not trusted


def test_audit_log_exports_are_read_and_records_without_text_skipped(tmp_path: Path, policy: Path) -> None:
    records = [{"ts": 1.0, "event": "decision", "stage": "input", "action": "allow", "violations": []}] * 3
    records += [{"ts": 1.0, "event": "decision", "stage": "input", "action": "allow", "text": r["text"]} for r in hate_rows()]
    records += [{"event": "decision", "stage": "input", "text": "attack hate=0.99", "label": "unsafe"}]
    log = write_rows(tmp_path / "audit-export.jsonl", records)
    data = read_rows(audit_logs=[log])
    assert (len(data.benign), len(data.attacks), data.audit_read, data.audit_skipped) == (400, 1, 401, 3)
    cal = calibrate(policy, data, target_fpr=0.01, trust_plugins=True)
    assert slot(cal, "scored", "hate").new == 0.99
    assert "401 records with text read, 3 without text skipped" in render_text(cal)


# -- the YAML text editor -------------------------------------------------------------------------


def edit(text: str, *edits: ThresholdEdit) -> str:
    return apply_threshold_edits(text, edits, "p.yaml")


def test_editor_changes_numbers_in_place_in_block_and_flow_mappings() -> None:
    text = ("input:\n  - filter: builtin   # detector\n    categories:\n      hate: 0.78  # hm\n"
            "      self_harm: {threshold: 0.8, action: respond}\n      toxicity: {action: flag}\n"
            "      violent_crimes: flag\n    action: block\n")
    out = edit(text,
               ThresholdEdit("input", "builtin", "builtin", ("categories", "hate"), 0.9),
               ThresholdEdit("input", "builtin", "builtin", ("categories", "self_harm"), 0.75),
               ThresholdEdit("input", "builtin", "builtin", ("categories", "toxicity"), 0.6),
               ThresholdEdit("input", "builtin", "builtin", ("categories", "violent_crimes"), 0.7),
               ThresholdEdit("input", "builtin", "builtin", ("categories", "privacy"), 0.65, action="flag"))
    assert out == ("input:\n  - filter: builtin   # detector\n    categories:\n      hate: 0.9  # hm\n"
                   "      self_harm: {threshold: 0.75, action: respond}\n      toxicity: {action: flag, threshold: 0.6}\n"
                   "      violent_crimes: {threshold: 0.7, action: flag}\n"
                   "      privacy: {threshold: 0.65, action: flag}\n    action: block\n")


def test_editor_adds_keys_entries_and_stages_with_the_files_indentation() -> None:
    text = "name: x\ninput:\n    -   filter: pii\n        action: redact\noutput: []\n"
    out = edit(text, ThresholdEdit("input", "pii", "pii", ("thresholds", "EMAIL_ADDRESS"), 0.5),
               ThresholdEdit("input", "tox", "toxicity", ("threshold",), 0.6),
               ThresholdEdit("output", "builtin", "builtin", ("categories", "hate"), 0.7))
    assert out == ("name: x\ninput:\n    -   filter: pii\n        action: redact\n        thresholds:\n"
                   "          EMAIL_ADDRESS: 0.5\n    -   filter: toxicity\n        id: tox\n        threshold: 0.6\n"
                   "output:\n  - filter: builtin\n    categories:\n      hate: 0.7\n")
    assert yaml.safe_load(out) == {"name": "x", "input": [
        {"filter": "pii", "action": "redact", "thresholds": {"EMAIL_ADDRESS": 0.5}},
        {"filter": "toxicity", "id": "tox", "threshold": 0.6}],
        "output": [{"filter": "builtin", "categories": {"hate": 0.7}}]}
    # a file without the stage gets it at the end; CRLF line endings stay
    out = edit("name: x\r\n# end\r\n", ThresholdEdit("input", "builtin", "builtin", ("categories", "hate"), 0.7))
    assert out == "name: x\r\n# end\r\ninput:\r\n  - filter: builtin\r\n    categories:\r\n      hate: 0.7\r\n"


def test_editor_refuses_values_it_cannot_change_safely() -> None:
    with pytest.raises(PolicyEditError, match=r"p.yaml:3: .*'\$\{T\}'"):
        edit("input:\n  - filter: pii\n    threshold: ${T}\n", ThresholdEdit("input", "pii", "pii", ("threshold",), 0.5))
    with pytest.raises(PolicyEditError, match="p.yaml:5"):
        edit("t: &t 0.5\ninput:\n  - filter: toxicity\n    thresholds:\n      insult: *t\n",
             ThresholdEdit("input", "toxicity", "toxicity", ("thresholds", "insult"), 0.6))
    with pytest.raises(PolicyEditError, match="off"):
        edit("input:\n  - filter: builtin\n    categories: {hate: off}\n",
             ThresholdEdit("input", "builtin", "builtin", ("categories", "hate"), 0.6))
    assert format_threshold(1e-05) == "0.00001" and format_threshold(1) == "1.0" and format_threshold(0.871) == "0.871"
