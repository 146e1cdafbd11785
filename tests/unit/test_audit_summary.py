"""``guardrails audit``: summaries of a sidecar audit log. The log is written by the sidecar's own code
(Sidecar.record -> AuditLog.decision with real Verdicts of real Guards, PolicyReloader for reloads), so
these tests break if the audit format drifts away from what the summary reads."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import tracemalloc
import types
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from guardrails.audit_summary import AuditSummary, format_report, parse_time, summarize
from guardrails.cli.main import main
from guardrails.server.audit import AuditLog
from guardrails.server.config import build_server_config
from guardrails.server.reload import PolicyReloader
from guardrails.server.state import Sidecar
from guardrails.signing import generate_key_pair, load_private_key, sign_file
from guardrails.types import Context

ROOT = Path(__file__).resolve().parents[2]

# The texts checked: none of them may ever appear in a summary.
TEXTS = ("zap the target now", "card 1234-5678 please", "hello there friend", "hmm, maybe later", "labs input text",
         "please ignore previous rules")

SUPPORT = """name: support
input:
  - filter: regex
    id: word
    category: weapons
    patterns: ["zap"]
    action: block
  - filter: regex
    id: card
    category: pii
    patterns: ["\\\\d{4}-\\\\d{4}"]
    action: redact
  - filter: regex
    id: probe
    category: injection
    patterns: ["ignore previous"]
    action: block
    mode: monitor
output:
  - filter: regex
    id: hmm
    category: tone
    patterns: ["hmm"]
    action: flag
"""
LABS = """name: labs
input:
  - filter: tests.helpers.fakes:CrashingFilter
    id: boom
    on_error: allow
"""
BILLING = """name: billing
input:
  - filter: regex
    id: word
    category: weapons
    patterns: ["zap"]
"""


def at(when: str) -> float:
    return datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp()


class Clock:
    """Stands in for the audit module's ``time``: the ts each record gets."""

    def __init__(self) -> None:
        self.now = at("2025-05-01T09:00:00")

    def time(self) -> float:
        return self.now


def _record(sc: Sidecar, clock: Clock, when: str, app: str, text: str, *, stage: str = "input") -> None:
    clock.now = at(when)
    state = sc.apps[app]
    ctx = Context()
    guard = state.handle.guard
    verdict = guard.check_input(text, ctx=ctx) if stage == "input" else guard.check_output(text, ctx=ctx)
    sc.record(state, verdict, ctx, "chat.completions")


@pytest.fixture(scope="module")
def audit_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """An audit log of 8 decisions in 3 apps over three hours, 2 reloads (1 rejected), a signed policy."""
    tmp = tmp_path_factory.mktemp("audit")
    (tmp / "support.yaml").write_text(SUPPORT)
    (tmp / "labs.yaml").write_text(LABS)
    signed_dir = tmp / "signed"
    signed_dir.mkdir()
    (signed_dir / "billing.yaml").write_text(BILLING)
    private, _, key_id = generate_key_pair(tmp / "keys")
    sign_file(signed_dir / "billing.yaml", load_private_key(private))
    log = tmp / "audit.jsonl"
    clock = Clock()
    mp = pytest.MonkeyPatch()
    mp.setattr("guardrails.server.audit.time", types.SimpleNamespace(time=clock.time))
    mp.setenv("GR_AUDIT_TEST_SUPPORT_KEY", "k-support")
    mp.setenv("GR_AUDIT_TEST_LABS_KEY", "k-labs")
    info: dict[str, str] = {"key_id": key_id}
    try:
        sc = Sidecar(build_server_config({
            "upstream": "http://127.0.0.1:9/v1", "reload_interval_s": 0, "audit": {"path": str(log)},
            "allow_plugins": ["tests.helpers"],
            "apps": {"support": {"policy": str(tmp / "support.yaml"), "keys": [{"env": "GR_AUDIT_TEST_SUPPORT_KEY"}]},
                     "labs": {"policy": str(tmp / "labs.yaml"), "keys": [{"env": "GR_AUDIT_TEST_LABS_KEY"}]}},
        }))
        info["support_old"] = sc.apps["support"].handle.guard.policy_hash
        _record(sc, clock, "2025-05-01T10:05:00", "support", TEXTS[0])  # block (word / weapons)
        _record(sc, clock, "2025-05-01T10:10:00", "support", TEXTS[1])  # redact (card / pii)
        _record(sc, clock, "2025-05-01T10:20:00", "support", TEXTS[2])  # allow
        _record(sc, clock, "2025-05-01T11:00:00", "support", TEXTS[3], stage="output")  # flag (hmm / tone)
        _record(sc, clock, "2025-05-01T11:30:00", "support", TEXTS[5])  # would block (probe / injection, monitor mode)
        _record(sc, clock, "2025-05-01T11:45:00", "labs", TEXTS[4])  # filter error, on_error allow
        reloader = PolicyReloader(sc)
        clock.now = at("2025-05-01T12:10:00")  # the reloads are dated like every record
        (tmp / "support.yaml").write_text(SUPPORT.replace('["zap"]', '["zap", "zop"]'))
        assert asyncio.run(reloader.reload_app("support", "SIGHUP"))
        info["support_new"] = sc.apps["support"].handle.guard.policy_hash
        (tmp / "support.yaml").write_text(SUPPORT.replace("action: redact", "action: redact\n    threshold: high"))
        assert not asyncio.run(reloader.reload_app("support", "file changed"))
        _record(sc, clock, "2025-05-01T12:20:00", "support", TEXTS[0])  # block, under the new policy
        sc.audit.close()
        signed = Sidecar(build_server_config({
            "upstream": "http://127.0.0.1:9/v1", "reload_interval_s": 0, "audit": {"path": str(log)},
            "trusted_keys": str(tmp / "keys"), "apps": {"billing": {"policy": str(signed_dir / "billing.yaml")}},
        }))
        _record(signed, clock, "2025-05-01T12:30:00", "billing", TEXTS[0])  # block, signed policy
        info["billing"] = signed.apps["billing"].handle.guard.policy_hash
        signed.audit.close()
    finally:
        mp.undo()
    yield log, info


@pytest.fixture()
def damaged_log(audit_log: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    """The audit log with malformed lines mixed in: not JSON, not an object, a decision missing fields,
    bad actions, a line over the length limit, a cut-off record; and a blank line (not counted)."""
    lines = audit_log[0].read_text().splitlines(keepends=True)
    bad = ["this is not json\n", "[1, 2, 3]\n", '{"event": "decision", "app": "support"}\n',
           '{"event": "decision", "app": "x", "stage": "input", "action": "explode", "policy": "p", "policy_hash": "h"}\n',
           '{"event": "decision", "app": "x", "stage": "input", "action": ["block"], "policy": "p", "policy_hash": "h"}\n',
           "x" * (1 << 20) + "y" * 10 + "\n", "\n", lines[0][: len(lines[0]) // 2] + "\n"]
    mixed = lines[:2] + bad[:3] + lines[2:5] + bad[3:] + lines[5:]
    path = tmp_path / "damaged.jsonl"
    path.write_text("".join(mixed))
    return path


def _cli_json(*args: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["audit", *args, "--json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


# -- the format the summary reads is the one the sidecar writes ---------------------------------


def test_the_log_holds_what_the_sidecar_writes(audit_log: tuple[Path, dict[str, str]]) -> None:
    records = [json.loads(line) for line in audit_log[0].read_text().splitlines()]
    assert [r["event"] for r in records].count("decision") == 8
    monitored = next(r for r in records if "would_action" in r)
    assert (monitored["action"], monitored["would_action"]) == ("allow", "block")
    assert monitored["violations"] == [{"filter": "probe", "category": "injection", "score": 1.0, "action": "block",
                                        "monitor": True}]
    assert [(r["result"], r["reason"]) for r in records if r["event"] == "policy_reload"] == [
        ("ok", "SIGHUP"), ("rejected", "file changed")]
    text = audit_log[0].read_text()
    assert not any(t in text for t in TEXTS)


# -- counts ---------------------------------------------------------------------------------------


def test_counts_per_filter_category_app_and_hour(audit_log: tuple[Path, dict[str, str]],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = _cli_json(str(audit_log[0]), capsys=capsys)
    t = data["totals"]
    assert (t["decisions"], t["blocked"], t["would_block"], t["redacted"], t["flagged"], t["errors"]) == (8, 3, 1, 1, 1, 1)
    assert t["block_rate"] == 0.375 and t["would_block_rate"] == 0.125
    assert data["by_action"] == {"allow": 3, "flag": 1, "redact": 1, "block": 3, "respond": 0}
    assert data["by_stage"]["input"]["decisions"] == 7 and data["by_stage"]["output"]["flagged"] == 1

    word = data["by_filter"]["word"]
    assert (word["violations"], word["block"], word["would_block"], word["errors"]) == (3, 3, 0, 0)
    probe = data["by_filter"]["probe"]
    assert (probe["violations"], probe["block"], probe["would_block"]) == (1, 0, 1)
    assert data["by_filter"]["card"]["redact"] == 1 and data["by_filter"]["hmm"]["flag"] == 1
    assert data["by_filter"]["boom"] == {"violations": 1, "block": 0, "redact": 0, "flag": 0, "would_block": 0,
                                         "would_redact": 0, "would_flag": 0, "errors": 1}
    assert list(data["by_filter"]) == ["word", "boom", "card", "hmm", "probe"]  # most violations first, then by name
    assert set(data["by_category"]) == {"weapons", "injection", "pii", "tone"}  # filter errors are not a category here
    assert (data["by_category"]["weapons"]["block"], data["by_category"]["weapons"]["would_block"]) == (3, 0)
    assert (data["by_category"]["injection"]["block"], data["by_category"]["injection"]["would_block"]) == (0, 1)

    apps = data["by_app"]
    assert list(apps) == ["billing", "labs", "support"]
    assert (apps["support"]["decisions"], apps["support"]["blocked"], apps["support"]["would_block"]) == (6, 2, 1)
    assert apps["support"]["block_rate"] == 0.3333 and apps["support"]["would_block_rate"] == 0.1667
    assert (apps["labs"]["decisions"], apps["labs"]["errors"], apps["labs"]["block_rate"]) == (1, 1, 0.0)
    assert apps["billing"]["block_rate"] == 1.0

    hours = data["by_time"]
    assert list(hours) == ["2025-05-01T10:00Z", "2025-05-01T11:00Z", "2025-05-01T12:00Z"]
    assert [(h["decisions"], h["blocked"], h["would_block"], h["redacted"], h["errors"]) for h in hours.values()] == [
        (3, 1, 0, 1, 0), (3, 0, 1, 0, 1), (2, 2, 0, 0, 0)]
    assert data["period"] == {"first": "2025-05-01T10:05:00Z", "last": "2025-05-01T12:30:00Z"}

    days = _cli_json(str(audit_log[0]), "--by", "day", capsys=capsys)["by_time"]
    assert list(days) == ["2025-05-01"] and days["2025-05-01"]["decisions"] == 8


def test_would_blocks_are_counted_apart_from_blocks() -> None:
    base = {"event": "decision", "app": "a", "stage": "input", "policy": "p", "policy_hash": "sha256:1"}
    s = AuditSummary()
    # monitor mode on a whole policy: nothing done, a block and a redaction that would have been
    s.add({**base, "action": "allow", "would_action": "block", "violations": [
        {"filter": "f", "category": "c", "score": 1.0, "action": "block", "monitor": True},
        {"filter": "g", "category": "d", "score": 1.0, "action": "redact", "monitor": True}]})
    # one filter enforced (redact), another monitored (block): redacted and would-block
    s.add({**base, "action": "redact", "violations": [
        {"filter": "g", "category": "d", "score": 1.0, "action": "redact"},
        {"filter": "f", "category": "c", "score": 1.0, "action": "block", "monitor": True}]})
    # blocked for real: a monitored block on top adds no would-block
    s.add({**base, "action": "block", "would_action": "block", "violations": [
        {"filter": "h", "category": "c", "score": 1.0, "action": "block"},
        {"filter": "f", "category": "c", "score": 1.0, "action": "block", "monitor": True}]})
    # only a would-redact
    s.add({**base, "action": "allow", "would_action": "redact", "violations": [
        {"filter": "g", "category": "d", "score": 1.0, "action": "redact", "monitor": True}]})
    d = s.to_dict()
    assert (d["totals"]["blocked"], d["totals"]["would_block"]) == (1, 2)
    assert (d["totals"]["redacted"], d["totals"]["would_redact"]) == (1, 1)
    assert (d["by_filter"]["f"]["block"], d["by_filter"]["f"]["would_block"]) == (0, 3)
    assert (d["by_filter"]["g"]["redact"], d["by_filter"]["g"]["would_redact"]) == (1, 2)
    assert (d["by_category"]["c"]["block"], d["by_category"]["c"]["would_block"]) == (1, 3)
    assert d["by_app"]["a"]["would_block_rate"] == 0.5 and d["by_app"]["a"]["block_rate"] == 0.25


def test_policies_ranked_by_block_rate_with_hash_and_signer(audit_log: tuple[Path, dict[str, str]],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    log, info = audit_log
    policies = _cli_json(str(log), capsys=capsys)["policies"]
    assert [(p["app"], p["policy_hash"], p["block_rate"]) for p in policies] == [
        ("billing", info["billing"], 1.0), ("support", info["support_new"], 1.0),
        ("support", info["support_old"], 0.2), ("labs", policies[3]["policy_hash"], 0.0)]
    assert policies[0]["policy_signer"] == info["key_id"] and policies[1]["policy_signer"] is None
    assert policies[2]["decisions"] == 5 and policies[2]["would_block"] == 1
    assert (policies[2]["first"], policies[2]["last"]) == ("2025-05-01T10:05:00Z", "2025-05-01T11:30:00Z")


def test_reloads_and_errors(audit_log: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    log, info = audit_log
    data = _cli_json(str(log), capsys=capsys)
    r = data["reloads"]
    assert (r["ok"], r["rejected"]) == (1, 1)
    assert r["by_app"] == {"support": {"ok": 1, "rejected": 1, "last_policy_hash": info["support_new"],
                                       "last_policy_signer": None}}
    assert r["reasons"] == [{"app": "support", "result": "ok", "reason": "SIGHUP", "count": 1},
                            {"app": "support", "result": "rejected", "reason": "file changed", "count": 1}]
    [rejected] = r["rejections"]
    assert rejected["app"] == "support" and rejected["count"] == 1 and "support.yaml:" in rejected["error"]
    assert "threshold" in rejected["error"]
    e = data["errors"]
    assert (e["filter_errors"], e["decisions_with_errors"]) == (1, 1)
    assert e["by_filter"] == {"boom": {"count": 1, "on_error": {"allow": 1}, "kinds": {"RuntimeError": 1}}}
    assert data["lines"]["undated"] == 0  # every record is dated, reloads too (AuditLog.write)


def test_filter_error_kinds_never_keep_the_message() -> None:
    base = {"event": "decision", "app": "a", "stage": "input", "policy": "p", "policy_hash": "h", "ts": 1.0}
    s = AuditSummary()
    for error, action in (("timeout after 50 ms", "block"), ("ModelNotFound: /models/x is missing", "block"),
                          ("something odd: quoting 'a user text'", "allow")):
        s.add({**base, "action": action, "violations": [
            {"filter": "m", "category": "filter_error", "score": 1.0, "action": action, "error": error}]})
    # a filter in monitor mode that fails: its on_error is what would have happened
    s.add({**base, "action": "allow", "would_action": "block", "violations": [
        {"filter": "m", "category": "filter_error", "score": 1.0, "action": "block", "error": "timeout after 9 ms",
         "monitor": True}]})
    d = s.to_dict()
    assert d["errors"]["by_filter"]["m"] == {"count": 4, "on_error": {"allow": 1, "block": 2, "would_block": 1},
                                             "kinds": {"timeout": 2, "ModelNotFound": 1, "other": 1}}
    assert (d["totals"]["errors"], d["totals"]["blocked"], d["totals"]["would_block"]) == (4, 2, 1)
    assert "user text" not in json.dumps(d) and "/models/x" not in json.dumps(d)


# -- damaged input, gzip, stdin --------------------------------------------------------------------


def test_malformed_lines_are_skipped_and_counted(audit_log: tuple[Path, dict[str, str]], damaged_log: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    clean = _cli_json(str(audit_log[0]), capsys=capsys)
    data = _cli_json(str(damaged_log), capsys=capsys)
    assert data["lines"]["malformed"] == 7 and data["lines"]["read"] == clean["lines"]["read"] + 7
    assert data["lines"]["malformed_at"][:3] == [f"{damaged_log}:3", f"{damaged_log}:4", f"{damaged_log}:5"]
    assert data["sources"] == [{"path": str(damaged_log), "lines": 17, "malformed": 7, "truncated": False}]
    for key in ("totals", "by_filter", "by_category", "by_app", "by_time", "policies", "reloads", "errors"):
        assert data[key] == clean[key], key
    assert main(["audit", str(damaged_log)]) == 0
    out = capsys.readouterr().out
    assert f"skipped 7 malformed line(s): {damaged_log}:3, {damaged_log}:4" in out
    assert "this is not json" not in out and "xxxx" not in out


def test_gzip_logs_and_several_logs(audit_log: tuple[Path, dict[str, str]], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    log = audit_log[0]
    gz = tmp_path / "audit.jsonl.gz"
    gz.write_bytes(gzip.compress(log.read_bytes()))
    plain, zipped = _cli_json(str(log), capsys=capsys), _cli_json(str(gz), capsys=capsys)
    for key in ("lines", "totals", "by_filter", "by_app", "by_time", "policies", "reloads", "errors"):
        assert plain[key] == zipped[key], key
    both = _cli_json(str(log), str(gz), capsys=capsys)
    assert both["totals"]["decisions"] == 16 and both["by_app"]["support"]["blocked"] == 4
    assert [s["path"] for s in both["sources"]] == [str(log), str(gz)]
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gz.read_bytes()[:-12])  # a gzip file cut short: counted up to there, and said
    data = _cli_json(str(cut), capsys=capsys)
    assert data["sources"][0]["truncated"] is True


def test_stdin_plain_and_gzip(audit_log: tuple[Path, dict[str, str]]) -> None:
    raw = audit_log[0].read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for payload in (raw, gzip.compress(raw)):
        proc = subprocess.run([sys.executable, "-m", "guardrails.cli.main", "audit", "-", "--json"], input=payload,
                              capture_output=True, cwd=ROOT, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert data["totals"]["decisions"] == 8 and data["sources"][0]["path"] == "-"


def test_missing_log_and_bad_times_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl: cannot read" in capsys.readouterr().err
    assert main(["audit", str(tmp_path), "--since", "yesterday"]) == 2
    assert "expected an ISO 8601 date" in capsys.readouterr().err
    assert main(["audit", str(tmp_path), "--since", "2025-05-02", "--until", "2025-05-01"]) == 2
    assert main(["audit", "-", "-"]) == 2


# -- filters ------------------------------------------------------------------------------------------


def test_since_until_and_app_filter(audit_log: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    log = str(audit_log[0])
    window = _cli_json(log, "--since", "2025-05-01T11:00Z", "--until", "2025-05-01T12:00:00+00:00", capsys=capsys)
    assert window["query"] == {"since": "2025-05-01T11:00:00Z", "until": "2025-05-01T12:00:00Z", "apps": None, "by": "hour"}
    assert list(window["by_time"]) == ["2025-05-01T11:00Z"] and window["totals"]["decisions"] == 3
    assert (window["totals"]["would_block"], window["totals"]["flagged"], window["totals"]["errors"]) == (1, 1, 1)
    assert window["lines"]["excluded"] == 7  # 5 decisions and the 2 reloads (12:10) outside the window
    assert window["reloads"]["ok"] == 0
    # --since is inclusive, --until exclusive; a time without an offset is UTC
    assert _cli_json(log, "--since", "2025-05-01T12:30", capsys=capsys)["totals"]["decisions"] == 1
    assert _cli_json(log, "--until", "2025-05-01T10:05", capsys=capsys)["totals"]["decisions"] == 0
    assert _cli_json(log, "--since", "2025-05-01T14:00+02:00", capsys=capsys)["totals"]["decisions"] == 2

    labs = _cli_json(log, "--app", "labs", capsys=capsys)
    assert list(labs["by_app"]) == ["labs"] and labs["totals"]["decisions"] == 1 and labs["errors"]["filter_errors"] == 1
    assert labs["reloads"]["ok"] == 0 and labs["query"]["apps"] == ["labs"]
    two = _cli_json(log, "--app", "labs", "--app", "support", capsys=capsys)
    assert two["totals"]["decisions"] == 7 and two["reloads"]["rejected"] == 1


# -- output ---------------------------------------------------------------------------------------------

SCHEMA_KEYS = ["schema", "query", "sources", "lines", "period", "totals", "by_action", "by_stage", "by_app", "by_time",
               "by_filter", "by_category", "policies", "reloads", "errors"]
TALLY_KEYS = ["decisions", "blocked", "would_block", "redacted", "would_redact", "flagged", "errors", "block_rate",
              "would_block_rate"]


def test_json_keys_are_stable(audit_log: tuple[Path, dict[str, str]], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    data = _cli_json(str(audit_log[0]), capsys=capsys)
    assert list(data) == SCHEMA_KEYS and data["schema"] == "guardrails.audit_summary/1"
    assert list(data["lines"]) == ["read", "malformed", "malformed_at", "excluded", "undated", "other_events"]
    assert list(data["totals"]) == [*TALLY_KEYS, "reloads_ok", "reloads_rejected", "filter_errors"]
    assert all(list(v) == TALLY_KEYS for group in ("by_app", "by_stage", "by_time") for v in data[group].values())
    assert list(data["by_filter"]["word"]) == ["violations", "block", "redact", "flag", "would_block", "would_redact",
                                               "would_flag", "errors"]
    assert list(data["policies"][0]) == ["app", "policy", "policy_hash", "policy_signer", *TALLY_KEYS, "first", "last"]
    assert list(data["reloads"]) == ["ok", "rejected", "by_app", "reasons", "rejections"]
    assert list(data["reloads"]["rejections"][0]) == ["app", "reason", "error", "count", "first", "last"]
    assert list(data["errors"]) == ["filter_errors", "decisions_with_errors", "by_filter"]
    # an empty log: the same keys, empty
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    nothing = _cli_json(str(empty), capsys=capsys)
    assert list(nothing) == SCHEMA_KEYS and nothing["totals"]["decisions"] == 0 and nothing["totals"]["block_rate"] is None
    assert nothing["by_app"] == {} and nothing["policies"] == [] and nothing["period"] == {"first": None, "last": None}


def test_text_report_has_aligned_tables_and_no_texts(audit_log: tuple[Path, dict[str, str]],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    log, info = audit_log
    assert main(["audit", str(log)]) == 0
    out = capsys.readouterr().out
    for title in ("Decisions", "Per app", "Per filter", "Per category", "Per hour (UTC)", "Policies by block rate",
                  "Policy reloads: 1 ok, 1 rejected", "Rejected reloads", "Filter errors: 1 in 1 decision(s)"):
        assert title in out, title
    assert "audit log summary: 1 log, 10 lines, 8 decisions, 2025-05-01T10:05:00Z .. 2025-05-01T12:30:00Z (UTC)" in out
    assert info["key_id"] in out and info["billing"][:19] in out
    assert not any(t in out for t in TEXTS)
    block = out.split("Per app\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len({len(line) for line in block[:2]}) == 1  # header and rule line up
    header = block[0]
    assert header.split() == ["app", "decisions", "blocked", "would", "block", "redacted", "would", "redact", "flagged",
                              "errors", "block", "rate", "would-block", "rate"]
    support = next(line for line in block if line.startswith("support"))
    assert support.split() == ["support", "6", "2", "1", "1", "0", "1", "0", "33.3%", "16.7%"]
    # numbers end where their column's header ends
    assert support.index("33.3%") + len("33.3%") == header.index("block rate") + len("block rate")
    assert main(["audit", str(log), "--top", "1"]) == 0
    assert "Top policies by block rate (per app; 3 more in --json)" in capsys.readouterr().out


def test_report_of_library_api_matches_cli(audit_log: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    log = str(audit_log[0])
    summary = summarize([log], since=parse_time("2025-05-01"), apps=["support"])
    assert main(["audit", log, "--since", "2025-05-01", "--app", "support"]) == 0
    assert capsys.readouterr().out == format_report(summary.to_dict())


def test_streams_in_constant_memory(tmp_path: Path) -> None:
    """Line by line, counters only: the peak memory of reading a 6 MB log stays far below its size."""
    line = json.dumps({"ts": 1746090000.0, "event": "decision", "request_id": "r" * 32, "app": "a", "endpoint": "e",
                       "stage": "input", "action": "block", "policy": "p", "policy_hash": "sha256:" + "0" * 64,
                       "latency_ms": 1.0, "violations": [{"filter": "f", "category": "c", "score": 1.0, "action": "block"}]})
    log = tmp_path / "big.jsonl"
    with log.open("w") as f:
        for _ in range(20_000):
            f.write(line + "\n")
    assert log.stat().st_size > 6_000_000
    tracemalloc.start()
    try:
        summary = summarize([str(log)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.total.decisions == 20_000 and len(summary.by_time) == 1 and len(summary.policies) == 1
    assert peak < 1_000_000, peak
