"""The sidecar's reading of tool definitions (``tools``, ``functions``): one ``tool`` message, one part per
definition, redactions written back into the definition they fall in, unreadable results refused."""

from __future__ import annotations

import json

import pytest

from guardrails import Guard
from guardrails.server._http import ApiError
from guardrails.server.tool_definitions import read_tool_definitions
from guardrails.types import Action

EMAIL = "jane.roe@example.org"


def _fn(name: str, description: str) -> dict[str, object]:
    return {"name": name, "description": description, "parameters": {"type": "object", "properties": {}}}


def test_definitions_are_read_in_order_and_redactions_go_back_where_they_fall() -> None:
    body = {"tools": [{"type": "function", "function": _fn("a", "plain")},
                      {"type": "function", "function": _fn("b", f"mail {EMAIL}")}],
            "functions": [_fn("c", f"cc {EMAIL}")]}
    definitions = read_tool_definitions(body)
    assert definitions is not None and definitions.places == [("tools", 0), ("tools", 1), ("functions", 0)]
    assert [json.loads(t) for t in definitions.texts] == [*body["tools"], *body["functions"]]
    verdict = Guard.from_policy({"name": "p", "input": [{"filter": "pii", "entities": ["EMAIL_ADDRESS"]}]}).check_input(
        [definitions.message()])
    assert verdict.action is Action.REDACT
    definitions.apply(body, verdict)
    assert body["tools"][0]["function"]["description"] == "plain"
    assert body["tools"][1]["function"]["description"] == "mail <EMAIL_ADDRESS>"
    assert body["functions"][0]["description"] == "cc <EMAIL_ADDRESS>"
    assert read_tool_definitions({"messages": []}) is None and read_tool_definitions({"tools": []}) is None


def test_a_redaction_that_breaks_the_json_is_refused_and_bad_shapes_are_400() -> None:
    body = {"tools": [{"type": "function", "function": _fn("a", "secret plan")}]}
    definitions = read_tool_definitions(body)
    assert definitions is not None
    guard = Guard.from_policy({"name": "p", "input": [{"filter": "regex", "patterns": ['"description"'], "action": "redact"}]})
    with pytest.raises(ApiError) as err:
        definitions.apply(body, guard.check_input([definitions.message()]))
    assert err.value.status == 400 and "tools[0]" in str(err.value)
    assert body["tools"][0]["function"]["description"] == "secret plan"  # nothing half-written
    for bad in ({"tools": "x"}, {"tools": [1]}, {"functions": {"name": "x"}}):
        with pytest.raises(ApiError):
            read_tool_definitions(bad)
