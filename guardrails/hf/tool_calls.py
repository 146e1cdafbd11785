"""Tool calls in a wrapped model's answer: found in the generated text, checked as OpenAI tool calls.

When a chat was rendered with ``apply_chat_template(..., tools=[...])``, a model may answer with tool
calls written in its own format. These formats are read (the first that matches):

- Hermes / Qwen 2.5 / Qwen 3: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, one block per call;
- Mistral: ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]``;
- Llama 3.1 / 3.2 JSON tool calling: the whole answer is ``{"name": ..., "parameters": {...}}`` (or
  ``"arguments"``), optionally after ``<|python_tag|>``, or a list of such objects.

Each call becomes ``{"id", "type": "function", "function": {"name", "arguments": JSON text}}`` in an
assistant message whose content is the text outside the calls, and the output stage checks that
message (``Engine.check_output``): the output filters read the names and arguments as they read the
sidecar's tool calls (``tool_calls`` filter: deny / allow lists, argument size). A redacted argument is
written back into the answer in the model's format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from guardrails.types import Action
from guardrails.verdict import Verdict

_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_MISTRAL = "[TOOL_CALLS]"
_PYTHON_TAG = "<|python_tag|>"


@dataclass(frozen=True)
class FoundCall:
    """One tool call in the answer text: ``text[start:end]`` is its JSON object."""

    start: int
    end: int
    name: str
    arguments: Any
    key: str  # "arguments" or "parameters": how the model wrote it


def find_tool_calls(text: str) -> list[FoundCall]:
    """The tool calls written in ``text`` (empty: none, or not in a known format)."""
    found = [c for m in _HERMES.finditer(text) for c in _objects(text, m.start(1), m.end(1))]
    if found:
        return found
    at = text.find(_MISTRAL)
    if at >= 0:
        return _objects(text, at + len(_MISTRAL), len(text))
    body = text.strip()
    if body.startswith(_PYTHON_TAG):
        body = body[len(_PYTHON_TAG):].strip()
    if body.startswith(("{", "[")):
        start = text.index(body)
        return _objects(text, start, start + len(body))
    return []


def message_of(text: str, calls: list[FoundCall]) -> dict[str, Any]:
    """The answer as an OpenAI assistant message: the text outside the calls and the calls."""
    content, pos = [], 0
    for c in calls:
        content.append(text[pos:c.start])
        pos = c.end
    content.append(text[pos:])
    outside = _HERMES.sub("", "".join(content)).replace(_MISTRAL, "").replace(_PYTHON_TAG, "").strip(" \n[],")
    return {"role": "assistant", "content": outside or None,
            "tool_calls": [{"id": f"call_{i}", "type": "function",
                            "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
                           for i, c in enumerate(calls)]}


def write_calls(text: str, calls: list[FoundCall], message: dict[str, Any]) -> str:
    """``text`` with each call's JSON replaced by the (redacted) call of ``message``, in the model's format."""
    out, pos = [], 0
    for c, call in zip(calls, message.get("tool_calls") or []):
        fn = call["function"]
        try:
            args = json.loads(fn["arguments"])
        except (ValueError, TypeError):
            args = fn["arguments"]
        out.append(text[pos:c.start])
        out.append(json.dumps({"name": fn["name"], c.key: args}, ensure_ascii=False))
        pos = c.end
    out.append(text[pos:])
    return "".join(out)


def _objects(text: str, start: int, end: int) -> list[FoundCall]:
    """The JSON call objects in ``text[start:end]``: one object, or a list of them."""
    chunk = text[start:end]
    lead = len(chunk) - len(chunk.lstrip())
    try:
        value, used = json.JSONDecoder().raw_decode(chunk.lstrip())
    except ValueError:
        return []
    first = start + lead
    items = value if isinstance(value, list) else [value]
    if not items or not all(_is_call(v) for v in items):
        return []
    if not isinstance(value, list):
        return [_call(value, first, first + used)]
    # A list: locate each object inside it by decoding them one after another.
    out, pos = [], first + 1
    decoder = json.JSONDecoder()
    for item in items:
        while text[pos] in " \n\t\r,":
            pos += 1
        _, length = decoder.raw_decode(text, pos)
        out.append(_call(item, pos, length))
        pos = length
    return out


def _is_call(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("name"), str) and (
        "arguments" in value or "parameters" in value)


def _call(value: dict[str, Any], start: int, end: int) -> FoundCall:
    key = "arguments" if "arguments" in value else "parameters"
    return FoundCall(start, end, value["name"], value[key], key)


def combined(text_verdict: Verdict | None, calls_verdict: Verdict) -> Verdict:
    """One verdict for an answer checked as text and then as tool calls: both checks' violations and
    scores, the stronger action; the text of the first, the message of the second."""
    if text_verdict is None:
        return calls_verdict
    action = Action.strongest([text_verdict.action, calls_verdict.action])
    scores = {f: dict(s) for f, s in text_verdict.scores.items()}
    for f, s in calls_verdict.scores.items():
        into = scores.setdefault(f, {})
        for c, v in s.items():
            into[c] = max(v, into.get(c, 0.0))
    return replace(text_verdict, allowed=not action.blocks, action=action, scores=scores,
                   violations=text_verdict.violations + calls_verdict.violations, messages=calls_verdict.messages,
                   response=text_verdict.response if text_verdict.response is not None else calls_verdict.response,
                   would_action=Action.strongest([text_verdict.would_action, calls_verdict.would_action]),
                   latency_ms=text_verdict.latency_ms + calls_verdict.latency_ms)
