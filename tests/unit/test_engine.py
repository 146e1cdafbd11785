"""The Guard engine: actions, ordering and early stop, redaction, errors, chat input, async."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Iterator

import pytest

from guardrails import Action, Context, Guard, Stage
from tests.helpers.fakes import HoldingFilter, KeywordFilter

KW = "tests.helpers.fakes:KeywordFilter"
CRASH = "tests.helpers.fakes:CrashingFilter"
HOLD = "tests.helpers.fakes:HoldingFilter"


def guard(input_filters: list[dict[str, Any]], output_filters: list[dict[str, Any]] | None = None, **top: Any) -> Guard:
    return Guard.from_policy({"name": "t", "input": input_filters, "output": output_filters or [], **top})


@pytest.mark.parametrize(
    ("action", "allowed", "text"),
    [("block", False, "say zap now"), ("redact", True, "say <KEYWORD> now"), ("flag", True, "say zap now")],
)
def test_check_each_action_gives_verdict(action: str, allowed: bool, text: str) -> None:
    v = guard([{"filter": KW, "word": "zap", "action": action}]).check_input("say zap now")
    assert v.allowed is allowed
    assert v.action is Action(action)
    assert v.text == text
    assert v.violations[0].spans[0].start == 4 and v.violations[0].spans[0].end == 7


def test_check_clean_text_allows_and_reports_scores() -> None:
    v = guard([{"filter": KW, "word": "zap"}]).check_input("nothing here")
    assert v.allowed and v.action is Action.ALLOW and v.violations == ()
    assert v.scores == {KW: {"keyword": 0.0}}
    assert v.text == "nothing here"


def test_check_threshold_above_score_allows() -> None:
    v = guard([{"filter": KW, "word": "zap", "score": 0.6, "threshold": 0.7}]).check_input("zap")
    assert v.allowed and not v.violations
    assert v.scores[KW]["keyword"] == 0.6


def test_check_strongest_action_wins() -> None:
    g = guard([
        {"filter": KW, "id": "f", "word": "a", "action": "flag"},
        {"filter": KW, "id": "r", "word": "b", "action": "redact", "label": "B"},
    ])
    v = g.check_input("a b")
    assert v.action is Action.REDACT and v.allowed and v.text == "a <B>"
    assert {x.filter for x in v.violations} == {"f", "r"}


def test_check_cheap_filters_run_first_and_block_stops_early() -> None:
    KeywordFilter.calls.clear()
    g = guard([
        {"filter": KW, "id": "model", "word": "zap"},  # cost 2
        {"filter": "regex", "patterns": ["zap"]},  # cost 0: runs first
    ])
    assert [b.id for b in g.filters("input")] == ["regex", "model"]
    v = g.check_input("zap")
    assert not v.allowed
    assert [x.filter for x in v.violations] == ["regex"]
    assert KeywordFilter.calls == []  # the expensive filter never ran


def test_check_overlapping_redactions_merge() -> None:
    g = guard([
        {"filter": KW, "id": "a", "word": "4111 1111", "action": "redact", "label": "CARD"},
        {"filter": KW, "id": "b", "word": "1111 1111 1111", "action": "redact", "label": "NUMBER"},
    ])
    v = g.check_input("pay 4111 1111 1111 1111 today")
    # Spans [4,13) and [9,23) overlap: one redaction, named after the wider span.
    assert v.text == "pay <NUMBER> today"


def test_check_crashing_filter_fails_closed_by_default() -> None:
    v = guard([{"filter": CRASH}]).check_input("secret text 123")
    assert not v.allowed
    err = v.violations[0]
    assert err.category == "filter_error" and err.action is Action.BLOCK
    assert err.error == "RuntimeError"
    assert "secret text" not in v.to_json().replace('"text": "secret text 123"', "")


def test_check_crashing_filter_on_error_allow_passes_and_reports() -> None:
    v = guard([{"filter": CRASH, "on_error": "allow"}]).check_input("hello")
    assert v.allowed and v.action is Action.ALLOW
    assert v.errors and v.errors[0].error == "RuntimeError"


def test_check_policy_level_on_error_allow_applies() -> None:
    assert guard([{"filter": CRASH}], on_error="allow").check_input("x").allowed


@pytest.fixture
def holding() -> Iterator[None]:
    """HoldingFilter checks end only by the engine's timeout; released when the test is over."""
    HoldingFilter.reset()
    yield
    HoldingFilter.release.set()


def test_check_timeout_follows_on_error(holding: None) -> None:
    slow = {"filter": HOLD, "timeout_ms": 30}
    v = guard([slow]).check_input("zap")
    assert not v.allowed and v.violations[0].error == "timeout after 30 ms"
    v = guard([{**slow, "on_error": "allow"}]).check_input("zap")
    assert v.allowed and v.violations[0].error == "timeout after 30 ms"


def test_check_chat_messages_redacts_each_message() -> None:
    g = guard([{"filter": KW, "word": "zap", "action": "redact"}])
    msgs = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "zap it"}]
    v = g.check_input(msgs)
    assert v.messages == [{"role": "system", "content": "be nice"}, {"role": "user", "content": "<KEYWORD> it"}]
    assert v.text == "<KEYWORD> it"
    assert v.violations[0].message == 1
    assert msgs[1]["content"] == "zap it"  # the caller's list is not modified


def test_check_output_restores_vault_placeholders() -> None:
    g = guard([], [{"filter": "regex", "patterns": ["nothing-matches-this"]}])
    ctx = Context()
    ctx.vault["<EMAIL_ADDRESS_1>"] = "ada@example.com"
    v = g.check_output("Write to <EMAIL_ADDRESS_1> today.", ctx=ctx)
    assert v.text == "Write to ada@example.com today."
    assert v.stage is Stage.OUTPUT


def test_acheck_matches_sync_check() -> None:
    g = guard([{"filter": KW, "word": "zap", "action": "redact"}, {"filter": "secrets"}])
    text = "zap AKIAIOSFODNN7EXAMPLE"
    sync = g.check_input(text)
    async_ = asyncio.run(g.acheck_input(text))
    assert async_.text == sync.text and async_.action is sync.action
    assert [v.to_dict() for v in async_.violations] == [v.to_dict() for v in sync.violations]


def test_acheck_timeout_follows_on_error(holding: None) -> None:
    g = guard([{"filter": HOLD, "timeout_ms": 30}])

    async def check() -> Any:
        try:
            return await g.acheck_input("zap")
        finally:
            HoldingFilter.release.set()  # asyncio.run waits for the worker thread still inside the check

    v = asyncio.run(check())
    assert not v.allowed and v.violations[0].error == "timeout after 30 ms"


def test_verdict_json_has_design_fields() -> None:
    v = guard([{"filter": KW, "word": "zap"}]).check_input("zap")
    data = json.loads(v.to_json())
    assert {"allowed", "action", "stage", "text", "violations", "policy", "policy_hash", "latency_ms"} <= set(data)
    assert data["violations"][0] == {
        "filter": KW, "category": "keyword", "score": 0.9, "action": "block",
        "spans": [{"start": 0, "end": 3, "label": "KEYWORD"}],
    }
    assert data["policy"] == "t" and data["policy_hash"].startswith("sha256:")


def test_verdict_log_has_no_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="guardrails")
    guard([{"filter": KW, "word": "zap", "action": "redact"}]).check_input("zap my-private-words")
    assert caplog.records
    assert all("my-private-words" not in r.getMessage() for r in caplog.records)
