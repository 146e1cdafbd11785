"""Helpers for testing a filter the way the engine runs it (for plugin authors; see docs/plugins.md).

    from guardrails.testing import assert_filter_contract, run_filter

    def test_contract():
        assert_filter_contract(MyFilter)

    def test_blocks_above_threshold():
        verdict = run_filter(MyFilter, "some text", threshold=0.3)
        assert not verdict.allowed
"""

from __future__ import annotations

from typing import Any, Sequence

from guardrails.filters.base import contract_problems
from guardrails.types import Context, Message, Stage
from guardrails.verdict import Verdict

__all__ = ["assert_filter_contract", "filter_reference", "guard_for", "run_filter"]


def filter_reference(filter_cls: type | str) -> str:
    """The ``package.module:ClassName`` a policy uses to name ``filter_cls`` (a registered name or a
    reference string is returned as it is)."""
    if isinstance(filter_cls, str):
        return filter_cls
    return f"{filter_cls.__module__}:{filter_cls.__qualname__}"


def assert_filter_contract(filter_cls: type) -> None:
    """Fail with every way ``filter_cls`` breaks the filter contract (the registry's own check)."""
    problems = contract_problems(filter_cls)
    assert not problems, f"{filter_reference(filter_cls)} breaks the filter contract: " + "; ".join(problems)


def guard_for(filter_cls: type | str, *, stage: Stage | str = Stage.INPUT, **entry: Any) -> Any:
    """A ``Guard`` whose policy runs only this filter on ``stage``, with ``entry`` as its policy keys
    (``threshold=0.3``, ``action="redact"``, the filter's own keys). Loading goes through the same
    validation as a policy file, so a bad key fails here as it would for a deployer."""
    from guardrails import Guard  # the facade lives above the engine; imported when a test asks for it

    spec = {"filter": filter_reference(filter_cls), **entry}
    return Guard.from_policy({"name": "test", Stage(stage).value: [spec]}, trust_plugins=True)


def run_filter(filter_cls: type | str, content: str | Sequence[Message], *, stage: Stage | str = Stage.INPUT,
               prompt: str | None = None, ctx: Context | None = None, **entry: Any) -> Verdict:
    """Check ``content`` with only this filter in the policy (see ``guard_for``) and return the verdict."""
    guard = guard_for(filter_cls, stage=stage, **entry)
    if Stage(stage) is Stage.OUTPUT:
        assert isinstance(content, str), "the output stage checks a text"
        return guard.check_output(content, prompt=prompt, ctx=ctx)  # type: ignore[no-any-return]
    return guard.check_input(content, ctx=ctx)  # type: ignore[no-any-return]
