"""Per-category policy settings: one vocabulary, thresholds / off / actions, respond messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from guardrails import Guard
from guardrails.categories import CategoryRule, parse_categories
from guardrails.errors import PolicyError
from guardrails.policy import load_policy, policy_from_dict, policy_schema
from guardrails.taxonomy import CATEGORIES, HAZARDS, hazard_of_code


def test_parse_category_settings() -> None:
    rules = parse_categories({"self_harm": {"threshold": 0.4, "action": "respond"}, "sexual_content": False, "hate": 0.7,
                              "jailbreak": "off", "toxicity": {"action": "flag"}}, CATEGORIES)
    assert rules == {"self_harm": CategoryRule(threshold=0.4, action="respond"), "sexual_content": CategoryRule(action="off"),
                     "hate": CategoryRule(threshold=0.7), "jailbreak": CategoryRule(action="off"),
                     "toxicity": CategoryRule(action="flag")}


@pytest.mark.parametrize("value, message", [
    ({"self_harn": 0.5}, "unknown category 'self_harn' (did you mean 'self_harm'?)"),
    ({"hate": True}, "hate: expected a number between 0 and 1, got True"),
    ({"hate": 1.5}, "hate: expected a number between 0 and 1, got 1.5"),
    ({"hate": {"action": "redact"}}, "hate: Input should be 'block', 'flag', 'respond' or 'off'"),
    ({"hate": {"treshold": 0.5}}, "hate: Extra inputs are not permitted"),
    ([], "expected a mapping of category"),
])
def test_bad_category_settings_say_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=None) as err:
        parse_categories(value, CATEGORIES)
    assert message in str(err.value)


def test_llama_guard_codes_map_to_the_vocabulary() -> None:
    assert hazard_of_code("S11") == "self_harm" and hazard_of_code("s1") == "violent_crimes"
    assert hazard_of_code("S014") == "code_interpreter_abuse" and hazard_of_code("S15") is None
    assert len(HAZARDS) == 14


def test_category_errors_in_a_policy_are_located(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\nname: p\ninput:\n  - filter: builtin\n    categories: {harmful_response: 0.5}\n")
    with pytest.raises(PolicyError, match=r"p.yaml:5: input\[0\].categories: .*unknown input category 'harmful_response'"):
        load_policy(path)
    path.write_text("version: 1\nname: p\ninput:\n  - filter: builtin\n    categories:\n      self_harm: {action: respond}\n")
    with pytest.raises(PolicyError, match=r"p.yaml:6: input\[0\].categories.self_harm: action respond needs a message"):
        load_policy(path)


def test_respond_message_follows_the_locale() -> None:
    policy = policy_from_dict({"name": "m", "responses": {"self_harm": {"default": "Help is near.", "de": "Hilfe ist nah.",
                                                                         "pt-BR": "Ajuda."}}})
    assert policy.response_for("self_harm", "de-AT") == "Hilfe ist nah."
    assert policy.response_for("self_harm", "pt-BR") == "Ajuda."
    assert policy.response_for("self_harm", "fr") == "Help is near."
    assert policy.response_for("hate") == policy.refusal
    with pytest.raises(PolicyError, match="unknown category 'self-harm'"):
        policy_from_dict({"name": "m", "responses": {"self-harm": "x"}})


def test_extends_changes_one_category_and_keeps_the_rest(tmp_path: Path) -> None:
    base = load_policy("default")
    adult = load_policy("adult-platform")
    (b_in,) = [c for c in base.input if c.filter == "builtin"]
    (a_in,) = [c for c in adult.input if c.filter == "builtin"]
    assert a_in.categories["sexual_content"].off  # type: ignore[attr-defined]
    assert {k: v for k, v in a_in.categories.items() if k != "sexual_content"} == {  # type: ignore[attr-defined]
        k: v for k, v in b_in.categories.items() if k != "sexual_content"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["default", "adult-platform", "children", "mental-health", "support-bot", "patterns-only"])
def test_shipped_policies_load_and_check(name: str) -> None:
    guard = Guard.from_policy(name)
    assert guard.check_input("What's a good name for a goldfish?").allowed


def test_policy_schema_lists_the_category_names() -> None:
    out = subprocess.run([sys.executable, "-m", "guardrails.cli.main", "policy", "schema"], capture_output=True, text=True)
    assert out.returncode == 0
    schema = json.loads(out.stdout)
    names = schema["$defs"]["filter_builtin"]["properties"]["categories"]["propertyNames"]["enum"]
    assert {"self_harm", "sexual_content", "prompt_injection", "harmful_response"} <= set(names)
    assert set(schema["properties"]["responses"]["propertyNames"]["enum"]) == set(CATEGORIES)
