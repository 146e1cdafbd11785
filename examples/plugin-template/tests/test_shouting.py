"""The template's own tests, written with the helpers guardrails exports for plugin authors."""

from __future__ import annotations

import pytest

from guardrails.testing import assert_filter_contract, run_filter
from guardrails_shouting import ShoutingFilter


def test_follows_the_filter_contract() -> None:
    assert_filter_contract(ShoutingFilter)


def test_shouting_is_blocked_and_calm_text_allowed() -> None:
    assert not run_filter(ShoutingFilter, "WHY DOES NOBODY ANSWER MY EMAILS?").allowed
    assert run_filter(ShoutingFilter, "Why does nobody answer my emails?").allowed


def test_the_policy_threshold_decides_without_the_filter_reading_it() -> None:
    text = "PLEASE CALL ME back today."  # 12 of 21 letters upper case: 0.571
    assert run_filter(ShoutingFilter, text).allowed  # default_threshold 0.8
    assert not run_filter(ShoutingFilter, text, threshold=0.5).allowed


def test_redact_replaces_only_the_shouted_sentence() -> None:
    verdict = run_filter(ShoutingFilter, "Hello there. STOP SENDING ME THESE LETTERS!", action="redact")
    assert verdict.allowed
    assert verdict.text == "Hello there. <shouting>"


def test_own_keys_are_validated_like_any_policy_key() -> None:
    from guardrails.errors import PolicyError

    with pytest.raises(PolicyError, match="min_letters"):
        run_filter(ShoutingFilter, "x", min_letters=0)
