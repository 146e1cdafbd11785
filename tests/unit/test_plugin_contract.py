"""The filter contract as a plugin author meets it: every violation gets a message that names the class and
what it lacks, the engine applies thresholds and actions, and the plugin template's own tests pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from guardrails import Guard
from guardrails.errors import PolicyError
from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.policy import policy_schema
from guardrails.testing import assert_filter_contract, run_filter
from guardrails.types import Context, FilterResult, Finding, Span

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "examples" / "plugin-template"


# -- plugins that break the contract, each in one way ------------------------------------------------


class ProtocolOnly:
    """Follows the shape of a filter without deriving from BaseFilter."""

    name = "protocol_only"
    Config = FilterConfig
    cost = 0

    def __init__(self, config: FilterConfig) -> None:
        self.config = config

    def check(self, text: str, ctx: Context) -> FilterResult:
        return FilterResult.clean()


class NoCheck(BaseFilter):
    name = "no_check"


class BadCost(BaseFilter):
    name = "bad_cost"
    cost = 5

    def check(self, text: str, ctx: Context) -> FilterResult:
        return FilterResult.clean()


class BadConfig(BaseFilter):
    name = "bad_config"
    Config = dict  # type: ignore[assignment]

    def check(self, text: str, ctx: Context) -> FilterResult:
        return FilterResult.clean()


class WrongResult(BaseFilter):
    name = "wrong_result"
    cost = 0

    def check(self, text: str, ctx: Context) -> Any:
        return {"unsafe": True}


class ScoreOutOfRange(BaseFilter):
    name = "score_out_of_range"
    cost = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        return FilterResult((Finding("x", 7.0),), {"x": 7.0})


class SpanOutsideText(BaseFilter):
    name = "span_outside"
    cost = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        return FilterResult((Finding("x", 1.0, (Span(0, len(text) + 5, "X"),)),))


class NoSpans(BaseFilter):
    """Finds something but cannot say where: it must not be used to redact."""

    name = "no_spans"
    cost = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        return FilterResult((Finding("secret_topic", 1.0),)) if "topic" in text else FilterResult.clean()


class Scorer(BaseFilter):
    """Reports one finding whose score is the share of 'x' in the text; never reads a threshold."""

    name = "scorer"
    cost = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        score = text.count("x") / max(1, len(text))
        return FilterResult((Finding("xs", score, (Span(0, len(text), "XS"),)),), {"xs": score})


def ref(cls: type) -> str:
    return f"{__name__}:{cls.__qualname__}"


def load_error(cls: type) -> str:
    with pytest.raises(PolicyError) as info:
        Guard.from_policy({"name": "t", "input": [{"filter": ref(cls)}]})
    return str(info.value)


def test_a_protocol_shaped_class_is_refused_at_load_naming_what_it_lacks() -> None:
    message = load_error(ProtocolOnly)
    assert "ProtocolOnly' is not a guardrails filter: it does not subclass guardrails.filters.base.BaseFilter" in message
    assert "it lacks load, ensure_loaded, acheck, threshold_for, action_for" in message
    assert "input[0].filter" in message  # located like every policy error


@pytest.mark.parametrize(("cls", "says"), [
    (NoCheck, "it does not implement check(self, text, ctx) -> FilterResult"),
    (BadCost, "cost must be 0, 1 or 2, got 5"),
    (BadConfig, "Config must be a subclass of guardrails.filters.base.FilterConfig"),
])
def test_each_contract_violation_has_its_message(cls: type, says: str) -> None:
    message = load_error(cls)
    assert cls.__qualname__ in message and says in message
    with pytest.raises(AssertionError, match="breaks the filter contract"):
        assert_filter_contract(cls)


@pytest.mark.parametrize(("cls", "says"), [
    (WrongResult, "WrongResult.check returned dict, expected FilterResult"),
    (ScoreOutOfRange, "ScoreOutOfRange.check returned score 7.0 for 'x', expected a number between 0 and 1"),
    (SpanOutsideText, "SpanOutsideText.check returned span"),
])
@pytest.mark.parametrize("on_error", ["block", "allow"])
def test_a_result_that_breaks_the_contract_is_a_filter_error_that_follows_on_error(cls: type, says: str, on_error: str) -> None:
    verdict = run_filter(cls, "hello", on_error=on_error)
    assert verdict.allowed is (on_error == "allow")
    (violation,) = verdict.violations
    assert violation.category == "filter_error" and says in (violation.error or "")


def test_redact_without_spans_is_an_error_not_a_silent_no_op() -> None:
    verdict = run_filter(NoSpans, "the topic is here", action="redact")
    assert not verdict.allowed  # fail closed by default
    (violation,) = verdict.violations
    assert "action redact, but its 'secret_topic' finding has no spans" in (violation.error or "")
    assert run_filter(NoSpans, "nothing to see", action="redact").allowed  # no finding, nothing to redact


def test_the_policy_threshold_changes_a_plugins_verdict_without_the_plugin_reading_it() -> None:
    text = "xxxx and more"  # 4 of 13 characters: 0.31
    assert run_filter(Scorer, text).allowed  # default_threshold 0.5
    assert not run_filter(Scorer, text, threshold=0.3).allowed
    assert run_filter(Scorer, text, threshold=0.35).allowed
    flagged = run_filter(Scorer, text, threshold=0.3, action="flag")
    assert flagged.allowed and flagged.action.value == "flag"
    redacted = run_filter(Scorer, text, threshold=0.3, action="redact")
    assert redacted.text == "<XS>"


@pytest.mark.parametrize("bad", [True, 1.5, -0.1, "high"])
def test_one_threshold_type_rejects_bools_and_out_of_range_values(bad: Any) -> None:
    with pytest.raises(PolicyError, match="expected a number between 0 and 1"):
        Guard.from_policy({"name": "t", "input": [{"filter": ref(Scorer), "threshold": bad}]})
    with pytest.raises(PolicyError, match=r"thresholds\.EMAIL_ADDRESS.*expected a number between 0 and 1"):
        Guard.from_policy({"name": "t", "input": [{"filter": "pii", "thresholds": {"EMAIL_ADDRESS": bad}}]})
    with pytest.raises(PolicyError, match=r"thresholds\.toxic.*expected a number between 0 and 1"):
        Guard.from_policy({"name": "t", "input": [{"filter": "classifier", "model": "some/model",
                                                   "labels": {"toxic": "toxicity"}, "thresholds": {"toxic": bad}}]})


def test_schema_describes_plugin_filters() -> None:
    schema = policy_schema([ref(Scorer)])
    key = "filter_" + ref(Scorer).replace(".", "_").replace(":", "_")
    assert schema["$defs"][key]["properties"]["filter"] == {"const": ref(Scorer)}
    generic = schema["$defs"]["filter_plugin"]
    assert {"threshold", "action", "on_error"} <= set(generic["properties"]) and generic["additionalProperties"] is True


def test_plugin_template_tests_pass() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TEMPLATE / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TEMPLATE / "tests")],
                          capture_output=True, text=True, env=env, cwd=TEMPLATE, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "5 passed" in done.stdout


def test_plugin_template_registers_by_its_entry_point_name(tmp_path: Path) -> None:
    """What `pip install .` of the template writes (a dist-info with its entry point) lets a policy say
    `filter: shouting`, and the schema then lists the plugin's own keys."""
    dist = tmp_path / "guardrails_shouting-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: guardrails-shouting\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[guardrails.filters]\nshouting = guardrails_shouting.filter:ShoutingFilter\n")
    code = textwrap.dedent("""
        import json
        from guardrails import Guard
        from guardrails.policy import policy_schema
        guard = Guard.from_policy({"name": "t", "input": [{"filter": "shouting", "action": "flag"}]})
        verdict = guard.check_input("THIS IS NOT OK AT ALL")
        props = policy_schema()["$defs"]["filter_shouting"]["properties"]
        print(json.dumps({"action": verdict.action.value, "min_letters": "min_letters" in props}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TEMPLATE / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"action": "flag", "min_letters": True}
