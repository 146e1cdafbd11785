"""Policy loading: good files, each kind of bad file with its exact error, extends, hashing, schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrails import Guard, PolicyError, load_policy, policy_schema
from guardrails.policy import builtin_policies, policy_from_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policies"


@pytest.fixture(autouse=True)
def _in_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    # Errors name files relative to the working directory.
    monkeypatch.chdir(FIXTURES)


BAD = {
    "bad_threshold_line7.yaml": "bad_threshold_line7.yaml:7: input[1].threshold: expected a number between 0 and 1, got 'high'",
    "bad_unknown_filter.yaml": "bad_unknown_filter.yaml:4: input[0].filter: unknown filter 'deny_lst'; known: ",
    "bad_unknown_key.yaml": "bad_unknown_key.yaml:6: output[0].pattern: unknown key (did you mean 'patterns'?); expected one of: ",
    "bad_action.yaml": "bad_action.yaml:6: input[0].action: expected one of block, flag, redact for filter 'regex', got 'explode'",
    "bad_on_error.yaml": "bad_on_error.yaml:3: on_error: expected 'block' or 'allow', got 'maybe'",
    "bad_regex.yaml": "bad_regex.yaml:7: input[0].patterns[1]: not a valid regular expression for the linear-time engine RE2 (invalid escape sequence: \\1; backreferences and lookaround are not supported): '(a+)\\\\1'",
    "bad_yaml.yaml": "bad_yaml.yaml:6: invalid YAML: expected ',' or ']', but got '<stream end>'",
    "bad_missing_env.yaml": "bad_missing_env.yaml:3: refusal: environment variable GUARDRAILS_TEST_SURELY_UNSET_VAR is not set",
    "bad_duplicate_id.yaml": "bad_duplicate_id.yaml:6: input[1]: duplicate filter id 'regex' (also input[0]); give one of them an 'id'",
    "bad_version.yaml": "bad_version.yaml:1: version: expected 1, got 2",
    "bad_extends_missing.yaml": "bad_extends_missing.yaml:3: extends: no_such_parent.yaml: policy file not found",
    "bad_in_parent_child.yaml": "bad_threshold_line7.yaml:7: input[1].threshold: expected a number between 0 and 1",
    "cycle_a.yaml": "cycle_b.yaml: extends: cycle detected: cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_load_policy_bad_file_names_file_line_and_key(name: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(name)
    assert str(info.value).startswith(BAD[name]), str(info.value)


def test_load_policy_unknown_filter_suggests_close_name() -> None:
    with pytest.raises(PolicyError, match=r"did you mean 'deny_list'\?"):
        load_policy("bad_unknown_filter.yaml")


def test_load_policy_several_problems_reports_all() -> None:
    data = {"name": "x", "on_error": "maybe", "input": [{"filter": "regex"}, {"filter": "nope"}]}
    with pytest.raises(PolicyError) as info:
        policy_from_dict(data)
    assert len(info.value.problems) == 3
    assert any("input[0].patterns: required key is missing" in p for p in info.value.problems)


def test_load_policy_missing_file_fails() -> None:
    with pytest.raises(PolicyError, match="nope.yaml: policy file not found"):
        load_policy("nope.yaml")


def test_load_policy_unknown_builtin_name_lists_builtins() -> None:
    with pytest.raises(PolicyError, match="no built-in policy of that name; built-in: .*default"):
        load_policy("no-such-builtin")


def test_builtin_default_policy_loads_and_runs() -> None:
    assert "default" in builtin_policies()
    policy = load_policy("default")
    assert policy.name == "default" and policy.on_error == "block"
    verdict = Guard(policy).check_input("What is the capital of France?")
    assert verdict.allowed and verdict.action.value == "allow"


def test_extends_merges_lists_by_filter_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_BOT_NAME", "Ada")
    parent = load_policy("default")
    child = load_policy("good_app.yaml")
    parent_ids = [f.id for f in parent.input]
    child_ids = [f.id for f in child.input]
    # Parent order kept, the overridden entry stays in place, new entries appended.
    assert child_ids[: len(parent_ids)] == parent_ids
    assert child_ids[-1] == "deny_list"
    secrets = next(f for f in child.input if f.id == "secrets")
    assert secrets.action == "block"
    assert [f.id for f in child.output] == [f.id for f in parent.output]
    assert child.refusal == "Sorry, Ada can't help with that."
    assert child.name == "support-bot"


def test_extends_child_can_override_one_key_and_disable_an_entry(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text((FIXTURES / "base_parent.yaml").read_text())
    (tmp_path / "child.yaml").write_text(
        "name: child\nextends: parent.yaml\ninput:\n  - id: words\n    action: block\n  - filter: deny_list\n    enabled: false\n"
    )
    policy = load_policy(tmp_path / "child.yaml")
    assert [f.id for f in policy.input] == ["words"]
    words = policy.input[0]
    assert words.action == "block" and words.patterns == ["alpha"]  # type: ignore[attr-defined]
    assert [f.id for f in policy.output] == ["secrets"]


def test_env_interpolation_default_used_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORT_BOT_NAME", raising=False)
    assert load_policy("good_app.yaml").refusal == "Sorry, the bot can't help with that."


def test_policy_hash_stable_across_key_order_and_comments(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("name: p\ninput:\n  - filter: regex\n    patterns: [x]\n    action: flag\n")
    b.write_text("# same policy\ninput:\n  - action: flag\n    patterns: [x]\n    filter: regex\nname: p\n")
    assert load_policy(a).hash == load_policy(b).hash
    assert load_policy(a).hash.startswith("sha256:")
    c = tmp_path / "c.yaml"
    c.write_text("name: p\ninput:\n  - filter: regex\n    patterns: [x]\n    action: block\n")
    assert load_policy(c).hash != load_policy(a).hash


def test_module_class_filter_loads_from_policy() -> None:
    policy = policy_from_dict({"name": "x", "input": [{"filter": "tests.helpers.fakes:KeywordFilter", "word": "zap"}]})
    assert policy.input[0].id == "tests.helpers.fakes:KeywordFilter"
    assert not Guard(policy).check_input("a zap b").allowed


def test_module_class_filter_missing_module_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"input\[0\].filter: cannot import 'nosuchpkg.mod:X'"):
        policy_from_dict({"name": "x", "input": [{"filter": "nosuchpkg.mod:X"}]})


def test_policy_schema_lists_every_filter_and_its_keys() -> None:
    schema = policy_schema()
    assert schema["properties"]["version"]["const"] == 1
    defs = schema["$defs"]
    assert "filter_regex" in defs and "patterns" in defs["filter_regex"]["properties"]
    assert "filter_deny_list" in defs
    names = [b["if"]["properties"]["filter"].get("const") for b in schema["properties"]["input"]["items"]["allOf"]]
    assert {"regex", "deny_list", "secrets", "length"} <= set(names)
    assert schema["$defs"]["filter_plugin"]["additionalProperties"] is True  # any package.module:ClassName
    from guardrails.taxonomy import CATEGORIES

    assert {c["const"] for c in schema["$defs"]["category"]["oneOf"]} == set(CATEGORIES)  # each with its description
