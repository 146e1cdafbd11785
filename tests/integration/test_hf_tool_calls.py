"""guard.wrap on a tiny Llama: an answer that is a tool call (the chat was rendered with tools=) is checked as one."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from guardrails import Guard  # noqa: E402
from tests.helpers.forced import ForcedAnswer, one_torch_thread  # noqa: E402,F401  (one_torch_thread: an autouse fixture)
from tests.helpers.tiny_models import build_tiny_llama, load_causal_lm  # noqa: E402

pytestmark = pytest.mark.integration

REFUSAL = "Refused by policy."
TOOLS = [{"type": "function", "function": {"name": "delete_repository", "description": "Delete a repository",
                                           "parameters": {"type": "object", "properties": {"repo": {"type": "string"}}}}}]
CHAT = [{"role": "user", "content": "Clean up my old repositories."}]


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    return load_causal_lm(build_tiny_llama(tmp_path_factory.mktemp("llama")))


def guard() -> Guard:
    return Guard.from_policy({"version": 1, "name": "tools", "refusal": REFUSAL,
                              "output": [{"filter": "tool_calls", "deny": ["delete_*"]},
                                         {"filter": "pii", "action": "redact"}]})


def generate(llama: tuple[Any, Any], answer: str, **template: Any) -> tuple[str, Any]:
    model, tok = llama
    ids = tok.encode(answer, add_special_tokens=False)
    if tok.decode(ids) != answer:
        pytest.skip("the tiny tokenizer does not round-trip this answer")
    guarded = guard().wrap(model, tok)
    enc = guarded.apply_chat_template(CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True, **template)
    out = guarded.generate(**enc, max_new_tokens=len(ids) + 2, do_sample=False,
                           logits_processor=[ForcedAnswer(ids, tok.eos_token_id)])
    return tok.decode(out[0][enc["input_ids"].shape[1]:], skip_special_tokens=True), guarded.last_verdicts


def test_denied_tool_call_is_refused(llama: tuple[Any, Any]) -> None:
    call = '<tool_call>{"name": "delete_repository", "arguments": {"repo": "core"}}</tool_call>'
    text, verdicts = generate(llama, call, tools=TOOLS)
    assert text == REFUSAL
    hit = verdicts.outputs[0].violations[-1]
    assert verdicts.outputs[0].blocked and (hit.category, hit.part) == ("denied_tool", "tool_calls[0].function.name")


def test_tool_call_arguments_redacted_in_the_models_format(llama: tuple[Any, Any]) -> None:
    call = '[TOOL_CALLS] [{"name": "send_email", "arguments": {"to": "jane.roe@example.org"}}]'
    text, verdicts = generate(llama, call, tools=TOOLS)
    assert "jane.roe@example.org" not in text and text.startswith("[TOOL_CALLS]")
    assert json.loads(text[len("[TOOL_CALLS]"):])[0]["name"] == "send_email"
    assert verdicts.outputs[0].allowed


def test_without_tools_the_answer_is_only_text(llama: tuple[Any, Any]) -> None:
    call = '<tool_call>{"name": "delete_repository", "arguments": {"repo": "core"}}</tool_call>'
    text, verdicts = generate(llama, call)
    assert text == call and verdicts.outputs[0].allowed
