"""The text a chat template renders from OpenAI messages: found strictly, checked, redactions written back in place.

Every piece of text the upstream could render into the prompt is collected: string content, text-bearing
parts (``text``, ``input_text``, ``output_text``, ``refusal``, ``thinking``, ``tool_reference``, bare strings),
the message's ``name``, ``tool_call_id`` and ``task``, a role other than the standard ones, its reasoning
(``reasoning_content``, ``reasoning``, ``thinking``, ``refusal``) and its tool calls' ids, names and arguments.
Media parts (``image_url``, ``input_audio``, ...) are left as they are. Any shape this module does not
understand is refused with a 400: it is never forwarded unchecked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from guardrails.server._http import ApiError, loads
from guardrails.spans import apply_spans
from guardrails.types import TEXT_PART_KEYS, Action, Message, Span
from guardrails.verdict import Verdict

# Parts without text of their own, passed through untouched (vLLM's and OpenAI's media parts).
MEDIA_PARTS = frozenset({"image_url", "input_image", "image_embeds", "audio_embeds", "audio_url", "input_audio",
                         "video_url"})
# Keys that identify a media part sent without a "type" (vLLM infers the type from them).
_MEDIA_KEYS = ("image_url", "image_embeds", "audio_embeds", "audio_url", "input_audio", "video_url")
# Message fields other than content that chat templates render as text.
_MESSAGE_TEXT_KEYS = ("name", "tool_call_id", "reasoning_content", "reasoning", "thinking", "refusal", "task")
# Roles every template knows; any other role string (vLLM accepts custom roles) is rendered, so it is checked.
STANDARD_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# Request fields that put text or tokens into the prompt that cannot be checked.
UNCHECKABLE_FIELDS = ("prompt_embeds", "chat_template")


@dataclass
class Piece:
    """One string the template renders, where it lives (``holder[key]``), and its offset in the checked text."""

    holder: Any
    key: Any
    text: str
    start: int = 0

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass
class Parsed:
    """Messages as the checks see them (one text per message) and where each text came from."""

    checked: list[Message] = field(default_factory=list)
    pieces: list[list[Piece]] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(len(m["content"]) for m in self.checked)

    def apply(self, verdict: Verdict) -> None:
        """Write the verdict's redactions back into the original pieces (media parts stay untouched)."""
        spans: dict[int, list[Span]] = {}
        for v in verdict.violations:
            if v.action is Action.REDACT and not v.monitor and v.message is not None and v.spans:
                spans.setdefault(v.message, []).extend(v.spans)
        for index, found in spans.items():
            for piece in self.pieces[index]:
                local = [Span(max(s.start, piece.start) - piece.start, min(s.end, piece.end) - piece.start, s.label,
                              s.replacement) for s in found if s.start < piece.end and s.end > piece.start]
                if local:
                    piece.holder[piece.key] = apply_spans(piece.text, local)


def _bad(message: str, param: str = "messages") -> ApiError:
    return ApiError(400, message, param=param, code="invalid_content")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{where} must be a string")
    return value


def _part(parts: list[Any], i: int, where: str, out: list[Piece]) -> None:
    part = parts[i]
    if isinstance(part, str):
        out.append(Piece(parts, i, part))
        return
    if not isinstance(part, dict):
        raise _bad(f"{where} must be a string or a content part object")
    kind = part.get("type")
    if kind is None:
        kind = next((k for k in _MEDIA_KEYS if k in part), None)
        if kind is None:
            raise _bad(f"{where} has no 'type'")
    if not isinstance(kind, str):
        raise _bad(f"{where}.type must be a string")
    if kind not in TEXT_PART_KEYS and kind not in MEDIA_PARTS:
        raise _bad(f"{where} has type {kind[:40]!r}, which the sidecar cannot check")
    # Every text-bearing key is read, whatever the type says the part is: a template might render any of them.
    for key in sorted({"text", "refusal", "thinking", TEXT_PART_KEYS.get(kind, "text")}):
        if part.get(key) is not None:
            out.append(Piece(part, key, _text(part[key], f"{where}.{key}")))


def _content(message: dict[str, Any], where: str, out: list[Piece]) -> None:
    content = message.get("content")
    if content is None:
        return
    if isinstance(content, str):
        out.append(Piece(message, "content", content))
    elif isinstance(content, list):
        for i in range(len(content)):
            _part(content, i, f"{where}.content[{i}]", out)
    else:
        raise _bad(f"{where}.content must be a string or a list of content parts")


def _tool_calls(message: dict[str, Any], where: str, out: list[Piece]) -> None:
    calls = message.get("tool_calls")
    if calls is None:
        return
    if not isinstance(calls, list):
        raise _bad(f"{where}.tool_calls must be a list")
    for i, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise _bad(f"{where}.tool_calls[{i}] must have a 'function' object")
        if call.get("id") is not None:
            out.append(Piece(call, "id", _text(call["id"], f"{where}.tool_calls[{i}].id")))
        if fn.get("name") is not None:
            out.append(Piece(fn, "name", _text(fn["name"], f"{where}.tool_calls[{i}].function.name")))
        args = fn.get("arguments")
        if isinstance(args, str):
            args = _json_or_text(args)  # vLLM parses JSON arguments: \u escapes must not hide their text
        elif not isinstance(args, (dict, list)) and args is not None:
            raise _bad(f"{where}.tool_calls[{i}].function.arguments must be a string or an object")
        if isinstance(args, str):
            out.append(Piece(fn, "arguments", args))
        elif args is not None:
            # Checked as JSON text; a redaction is written back as that (redacted) text.
            out.append(Piece(fn, "arguments", json.dumps(args, ensure_ascii=False)))


def _json_or_text(text: str) -> Any:
    """JSON given as text, parsed (as the upstream will parse it); text that is not JSON, as it is."""
    try:
        return loads(text)
    except ValueError:
        return text


def _message(message: Any, i: int) -> tuple[str, list[Piece]]:
    where = f"messages[{i}]"
    if not isinstance(message, dict):
        raise _bad(f"{where} must be a message object")
    role = message.get("role")
    if not isinstance(role, str):
        raise _bad(f"{where}.role must be a string")
    pieces: list[Piece] = [] if role in STANDARD_ROLES else [Piece(message, "role", role)]
    for key in _MESSAGE_TEXT_KEYS:
        if message.get(key) is not None:
            pieces.append(Piece(message, key, _text(message[key], f"{where}.{key}")))
    _content(message, where, pieces)
    _tool_calls(message, where, pieces)
    return role, pieces


def parse_messages(messages: Any) -> Parsed:
    """Collect every renderable text of ``messages``; a 400 ApiError for any shape that is not understood."""
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty list of message objects")
    parsed = Parsed()
    for i, message in enumerate(messages):
        role, pieces = _message(message, i)
        offset = 0
        for piece in pieces:
            piece.start = offset
            offset = piece.end + 1  # pieces are joined by a newline, as vLLM joins text parts
        parsed.checked.append(Message(role=role, content="\n".join(p.text for p in pieces)))
        parsed.pieces.append(pieces)
    return parsed


def refuse_uncheckable(body: dict[str, Any]) -> None:
    """400 for request fields that feed the model text or embeddings no check can read."""
    for key in UNCHECKABLE_FIELDS:
        if body.get(key) is not None:
            raise _bad(f"'{key}' cannot be checked by the guardrails sidecar and is not accepted", param=key)
