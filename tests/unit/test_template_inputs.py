"""What the sidecar reads besides the messages (``tools``, ``functions``, ``documents``, ``chat_template_kwargs``):
one ``tool`` message, one part per item, redactions written back into the item they fall in, unreadable results
and unknown shapes refused."""

from __future__ import annotations

import json

import pytest

from guardrails import Guard
from guardrails.server._http import ApiError
from guardrails.server.template_inputs import apply_template_inputs, read_template_inputs
from guardrails.types import Action

EMAIL = "jane.roe@example.org"


def _fn(name: str, description: str) -> dict[str, object]:
    return {"name": name, "description": description, "parameters": {"type": "object", "properties": {}}}


def test_items_are_read_in_order_and_redactions_go_back_where_they_fall() -> None:
    body = {"tools": [{"type": "function", "function": _fn("a", "plain")},
                      {"type": "function", "function": _fn("b", f"mail {EMAIL}")}],
            "functions": [_fn("c", f"cc {EMAIL}")],
            "documents": [{"title": "memo", "text": f"Contact {EMAIL} for access."}],
            "chat_template_kwargs": {"enable_thinking": False, "persona": f"Write as {EMAIL}", "extra": {"k": 1}}}
    inputs = read_template_inputs(body)
    assert inputs is not None and inputs.places == [("tools", 0), ("tools", 1), ("functions", 0), ("documents", 0),
                                                    ("chat_template_kwargs", "persona"), ("chat_template_kwargs", "extra")]
    assert inputs.fields == "chat_template_kwargs,documents,functions,tools"
    assert [json.loads(t) for t in inputs.texts[:4]] == [*body["tools"], *body["functions"], *body["documents"]]
    assert inputs.texts[4] == f"Write as {EMAIL}"  # a string value is read as it is, not as JSON
    verdict = Guard.from_policy({"name": "p", "input": [{"filter": "pii", "entities": ["EMAIL_ADDRESS"]}]}).check_input(
        [inputs.message()])
    assert verdict.action is Action.REDACT
    apply_template_inputs(inputs, body, verdict)
    assert body["tools"][0]["function"]["description"] == "plain"
    assert body["tools"][1]["function"]["description"] == "mail <EMAIL_ADDRESS>"
    assert body["functions"][0]["description"] == "cc <EMAIL_ADDRESS>"
    assert body["documents"][0] == {"title": "memo", "text": "Contact <EMAIL_ADDRESS> for access."}
    assert body["chat_template_kwargs"] == {"enable_thinking": False, "persona": "Write as <EMAIL_ADDRESS>", "extra": {"k": 1}}
    assert read_template_inputs({"messages": []}) is None and read_template_inputs({"tools": []}) is None
    assert read_template_inputs({"chat_template_kwargs": {"enable_thinking": True}}) is None


def test_a_redaction_that_breaks_the_json_is_refused_and_bad_shapes_are_400() -> None:
    body = {"tools": [{"type": "function", "function": _fn("a", "secret plan")}]}
    inputs = read_template_inputs(body)
    assert inputs is not None
    guard = Guard.from_policy({"name": "p", "input": [{"filter": "regex", "patterns": ['"description"'], "action": "redact"}]})
    with pytest.raises(ApiError) as err:
        apply_template_inputs(inputs, body, guard.check_input([inputs.message()]))
    assert err.value.status == 400 and "tools[0]" in str(err.value)
    assert body["tools"][0]["function"]["description"] == "secret plan"
    for bad in ({"tools": "x"}, {"tools": [1]}, {"functions": {"name": "x"}}, {"documents": ["text"]},
                {"chat_template_kwargs": "x"}):
        with pytest.raises(ApiError) as err:
            read_template_inputs(bad)
        assert err.value.status == 400 and err.value.param == next(iter(bad))
