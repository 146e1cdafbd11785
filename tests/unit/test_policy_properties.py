"""Property-based checks of policy loading: whatever a policy file or dict holds, loading either gives
a Policy or a PolicyError whose lines name a location; never another exception, never a hang."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardrails.errors import PolicyError
from guardrails.policy import load_policy, policy_from_dict

FILTERS = ["regex", "deny_list", "secrets", "length", "pii", "builtin", "nope", "x:Y", ""]
KEYS = ["filter", "id", "action", "threshold", "patterns", "words", "max_chars", "categories", "enabled",
        "on_error", "timeout_ms", "entities", "recognizers", "allow_list", "allow_list_match", "case_sensitive"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["block", "redact", "flag", "(a|aa)+$", "${HOME}", "${NOPE}"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                      max_leaves=12)
entries = st.one_of(
    st.fixed_dictionaries({"filter": st.sampled_from(FILTERS)}, optional={k: values for k in KEYS[1:]}),
    values,
)
policies = st.fixed_dictionaries(
    {}, optional={"version": st.sampled_from([1, 2, "1", None]), "name": scalars,
                  "input": st.one_of(st.lists(entries, max_size=4), values),
                  "output": st.one_of(st.lists(entries, max_size=4), values),
                  "on_error": scalars, "refusal": scalars, "extends": st.sampled_from(["default", "../x.yaml", "/etc/passwd", 3]),
                  "surprise": values},
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _outcome_is_clean(load: Any) -> None:
    try:
        load()
    except PolicyError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@SETTINGS
@given(policies)
def test_any_policy_dict_loads_or_gives_a_policy_error(data: dict[str, Any]) -> None:
    _outcome_is_clean(lambda: policy_from_dict(data, trust_plugins=False))


@SETTINGS
@given(policies)
def test_any_policy_file_loads_or_gives_a_located_error(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _outcome_is_clean(lambda: load_policy(path, trust_plugins=False))


@SETTINGS
@given(st.lists(st.sampled_from([*"ab:-[]{}&*!|>'\"#\n %$", "!!python/object ", "&a ", "*a", "<<", "input", "\n  - "]),
                max_size=80).map("".join))
def test_any_yaml_text_loads_or_gives_a_policy_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    _outcome_is_clean(lambda: load_policy(path, trust_plugins=False))


@pytest.mark.parametrize("word", ["a1", "x9y", "2024", "ünïcödé5", "a b 3", "秘密7"])
def test_any_deny_list_entry_matches_itself(word: str) -> None:
    from guardrails import Guard

    guard = Guard.from_policy({"name": "t", "input": [{"filter": "deny_list", "words": [word]}]})
    assert not guard.check_input(word).allowed
    assert not guard.check_input(f"look: {word}!").allowed


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12))
def test_deny_list_entry_found_in_its_own_text(word: str) -> None:
    """An entry always matches a text that is exactly that entry (once it has a letter or digit)."""
    from guardrails import Guard

    if not any(c.isalnum() for c in word):
        return
    guard = Guard.from_policy({"name": "t", "input": [{"filter": "deny_list", "words": [word]}]})
    assert not guard.check_input(word).allowed, word
