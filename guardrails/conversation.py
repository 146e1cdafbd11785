"""Chat messages as the checks see them: every text a chat template renders, with where it lives.

A conversation (OpenAI chat messages) is cut into ``Part``s: one per piece of text, each with its
message index, the message's role, its path inside the message (``content``, ``content[2].text``,
``tool_calls[0].function.arguments``, ``tool_calls[0].function.name``, ``name``, ...) and its kind
(``PART_KINDS``), which a filter's ``parts`` key selects. Filters check parts one by one; redactions
are written back per part (``write_back``), so media parts (images, audio) and every other field stay
as sent, in order. The engine (``check(messages)``) and the sidecar (``guardrails.server.messages``)
both read messages through this module: one implementation.

Tool-call arguments given as JSON text are checked as the JSON an upstream will parse (``\\u`` escapes
decoded): ``{"to": "\\u0061da@example.com"}`` is read as ``{"to": "ada@example.com"}``; a fragment that
is not JSON yet (a streamed answer) is checked as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from guardrails.errors import GuardrailsError
from guardrails.spans import apply_spans
from guardrails.types import TEXT_PART_KEYS, Span, content_text

# What a filter's ``parts`` key may name.
CONTENT = "content"  # message text: string content, text parts, refusal, reasoning
TOOL_ARGUMENTS = "tool_arguments"  # tool_calls[k].function.arguments
TOOL_NAMES = "tool_names"  # tool_calls[k].function.name
METADATA = "metadata"  # the message's name, tool_call_id, task, a tool call's id, a custom role
PART_KINDS = (CONTENT, TOOL_ARGUMENTS, TOOL_NAMES, METADATA)

# What a filter's ``roles`` key may name; other roles are read as one of these (ROLE_GROUPS).
ROLES = ("user", "tool", "system", "assistant")
ROLE_GROUPS = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant",
               "tool": "tool", "function": "tool"}

# Parts without text of their own, passed through untouched (vLLM's and OpenAI's media parts).
MEDIA_PARTS = frozenset({"image_url", "input_image", "image_embeds", "audio_embeds", "audio_url", "input_audio",
                         "video_url"})
# Keys that identify a media part sent without a "type" (vLLM infers the type from them).
_MEDIA_KEYS = ("image_url", "image_embeds", "audio_embeds", "audio_url", "input_audio", "video_url")
# Message fields other than content that chat templates render as text, and their kind.
_MESSAGE_TEXT_KEYS = {"name": METADATA, "tool_call_id": METADATA, "reasoning_content": CONTENT, "reasoning": CONTENT,
                      "thinking": CONTENT, "refusal": CONTENT, "task": METADATA}
# Roles every template knows; any other role string (vLLM accepts custom roles) is rendered, so it is checked.
STANDARD_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class ContentError(GuardrailsError, ValueError):
    """A message shape that cannot be read strictly (the sidecar answers it with a 400)."""


def role_group(role: str | None) -> str:
    """The ``roles`` name a message role counts as: developer is system, function is tool, and any
    other (custom) role is read as user, the untrusted side."""
    return ROLE_GROUPS.get(role or "user", "user")


@dataclass(frozen=True)
class Part:
    """One piece of text of a conversation: ``messages[message]`` at ``path``, of kind ``kind``."""

    message: int
    role: str
    path: str
    kind: str
    text: str

    @property
    def group(self) -> str:
        return role_group(self.role)


def parts_of(messages: Sequence[Mapping[str, Any]], *, strict: bool = False) -> list[Part]:
    """Every text a chat template could render from ``messages``, in order.

    ``strict`` (the sidecar): a shape this module does not understand raises ``ContentError`` rather
    than being skipped, so nothing is forwarded unchecked. Otherwise (the Python API) unknown parts
    are read as text where they hold any and skipped where they hold none."""
    out: list[Part] = []
    for i, message in enumerate(messages):
        out.extend(_message(message, i, strict))
    return out


def message_parts(parts: Sequence[Part], index: int) -> list[Part]:
    return [p for p in parts if p.message == index]


def write_back(messages: Sequence[Mapping[str, Any]], parts: Sequence[Part],
               redactions: Mapping[tuple[int, str], list[Span]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with each part's spans replaced (``apply_spans``). Only the containers on
    the way to a changed part are copied: every other part (images, audio) is the object given."""
    return rewrite(messages, parts, lambda part: apply_spans(part.text, redactions.get((part.message, part.path)) or []))


def rewrite(messages: Sequence[Mapping[str, Any]], parts: Sequence[Part], change: Any) -> list[dict[str, Any]]:
    """A copy of ``messages`` with ``change(part) -> text`` written into every part it changes."""
    out = [m if isinstance(m, dict) else dict(m) for m in messages]
    for part in parts:
        new = change(part)
        if new != part.text:
            out[part.message] = _set(out[part.message], _steps(part.path), new)
    return out


# -- reading ------------------------------------------------------------------------------------


def _fail(strict: bool, message: str) -> None:
    if strict:
        raise ContentError(message)


def _message(message: Any, i: int, strict: bool) -> list[Part]:
    where = f"messages[{i}]"
    if not isinstance(message, Mapping):
        _fail(strict, f"{where} must be a message object")
        return []
    role = message.get("role", "user")
    if not isinstance(role, str):
        _fail(strict, f"{where}.role must be a string")
        role = "user"
    out: list[Part] = []

    def add(path: str, kind: str, value: Any) -> None:
        if isinstance(value, str):
            out.append(Part(i, role, path, kind, value))
        elif strict:
            raise ContentError(f"{where}.{path} must be a string")
        elif value is not None:
            out.append(Part(i, role, path, kind, content_text(value)))

    if role not in STANDARD_ROLES:
        out.append(Part(i, role, "role", METADATA, role))
    for key, kind in _MESSAGE_TEXT_KEYS.items():
        if message.get(key) is not None:
            add(key, kind, message[key])
    _content(message.get("content"), where, strict, add)
    _tool_calls(message.get("tool_calls"), where, strict, add)
    if message.get("function_call") is not None:  # the deprecated single call: templates render it too
        _function(message["function_call"], f"{where}.function_call", "function_call", strict, add)
    return out


def _content(content: Any, where: str, strict: bool, add: Any) -> None:
    if content is None:
        return
    if isinstance(content, str):
        add("content", CONTENT, content)
        return
    if not isinstance(content, list):
        _fail(strict, f"{where}.content must be a string or a list of content parts")
        text = content_text(content)
        if text:
            add("content", CONTENT, text)
        return
    for k, part in enumerate(content):
        path = f"content[{k}]"
        if isinstance(part, str):
            add(path, CONTENT, part)
            continue
        if not isinstance(part, dict):
            _fail(strict, f"{where}.{path} must be a string or a content part object")
            if part is not None:
                add(path, CONTENT, str(part))
            continue
        kind = part.get("type")
        if kind is None:
            kind = next((key for key in _MEDIA_KEYS if key in part), None)
            if kind is None:
                _fail(strict, f"{where}.{path} has no 'type'")
        if kind is not None and not isinstance(kind, str):
            _fail(strict, f"{where}.{path}.type must be a string")
            kind = None
        if strict and kind not in TEXT_PART_KEYS and kind not in MEDIA_PARTS:
            raise ContentError(f"{where}.{path} has type {str(kind)[:40]!r}, which the sidecar cannot check")
        # Every text-bearing key is read, whatever the type says the part is: a template might render any of them.
        keys = {"text", "refusal", "thinking"}
        if isinstance(kind, str) and kind in TEXT_PART_KEYS:
            keys.add(TEXT_PART_KEYS[kind])
        for key in sorted(keys):
            if part.get(key) is not None:
                add(f"{path}.{key}", CONTENT, part[key])


def _tool_calls(calls: Any, where: str, strict: bool, add: Any) -> None:
    if calls is None:
        return
    if not isinstance(calls, list):
        _fail(strict, f"{where}.tool_calls must be a list")
        return
    for k, call in enumerate(calls):
        path = f"tool_calls[{k}]"
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            _fail(strict, f"{where}.{path} must have a 'function' object")
            continue
        if call.get("id") is not None:
            add(f"{path}.id", METADATA, call["id"])
        _function(fn, f"{where}.{path}.function", f"{path}.function", strict, add)


def _function(fn: Any, where: str, path: str, strict: bool, add: Any) -> None:
    """A called function's name and arguments (``tool_calls[k].function`` or the legacy ``function_call``)."""
    if not isinstance(fn, dict):
        _fail(strict, f"{where} must be an object")
        return
    if fn.get("name") is not None:
        add(f"{path}.name", TOOL_NAMES, fn["name"])
    args = fn.get("arguments")
    if args is None:
        return
    if isinstance(args, str):
        args = _json_or_text(args)  # the upstream parses JSON arguments: \u escapes must not hide their text
    elif not isinstance(args, (dict, list)):
        _fail(strict, f"{where}.arguments must be a string or an object")
        args = str(args)
    add(f"{path}.arguments", TOOL_ARGUMENTS, args if isinstance(args, str) else json.dumps(args, ensure_ascii=False))


def _json_or_text(text: str) -> Any:
    """JSON given as text, parsed (as the upstream will parse it), when that changes what it reads;
    text that is not JSON (e.g. a streamed fragment), as it is."""
    if "\\u" not in text:
        return text  # nothing an upstream's parser would decode differently
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (dict, list)) else text


# -- writing ------------------------------------------------------------------------------------


def _set(holder: Any, steps: list[str | int], text: str) -> Any:
    """A shallow copy of ``holder`` with ``text`` written at ``steps`` (as ``parts_of`` named the path)."""
    copy_: Any = list(holder) if isinstance(holder, list) else dict(holder)
    head = steps[0]
    if len(steps) > 1:
        copy_[head] = _set(holder[head], steps[1:], text)
        return copy_
    if head == "arguments" and not isinstance(holder.get(head), str):
        try:  # arguments given as an object stay an object when the redacted text is still JSON
            copy_[head] = json.loads(text)
            return copy_
        except ValueError:
            pass
    copy_[head] = text
    return copy_


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for name in path.split("."):
        while "[" in name:
            head, _, rest = name.partition("[")
            if head:
                steps.append(head)
            index, _, name = rest.partition("]")
            steps.append(int(index))
        if name:
            steps.append(name)
    return steps
