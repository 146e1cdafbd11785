"""The sidecar's reading of OpenAI messages: strict, then checked by the same engine path as the Python API.

Every piece of text the upstream could render into the prompt is read (``guardrails.conversation``):
string content, text-bearing parts (``text``, ``input_text``, ``output_text``, ``refusal``,
``thinking``, ``tool_reference``, bare strings), the message's ``name``, ``tool_call_id`` and
``task``, a role other than the standard ones, its reasoning (``reasoning_content``, ``reasoning``,
``thinking``, ``refusal``) and its tool calls' ids, names and arguments. Media parts (``image_url``,
``input_audio``, ...) are left as they are, in order. Any shape that is not understood is refused
with a 400: it is never forwarded unchecked. The engine checks the messages part by part and returns
them redacted per part (``Verdict.messages``); ``Parsed.apply`` puts that list in the request body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guardrails.conversation import ContentError, Part, parts_of
from guardrails.server._http import ApiError
from guardrails.types import Action, Message
from guardrails.verdict import Verdict

# Request fields that put text or tokens into the prompt that cannot be checked.
UNCHECKABLE_FIELDS = ("prompt_embeds", "chat_template")


@dataclass
class Parsed:
    """The request's messages (validated) and the texts the checks read in them."""

    checked: list[Message] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)

    @property
    def chars(self) -> int:
        return sum(len(p.text) for p in self.parts)

    def apply(self, verdict: Verdict) -> None:
        """Put the verdict's redacted messages into the request, in place (media parts and every other
        field as sent)."""
        if verdict.action is Action.REDACT and verdict.messages is not None:
            self.checked[:] = verdict.messages


def _bad(message: str, param: str = "messages") -> ApiError:
    return ApiError(400, message, param=param, code="invalid_content")


def parse_messages(messages: Any) -> Parsed:
    """Validate ``messages`` strictly; a 400 ApiError for any shape that is not understood."""
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' must be a non-empty list of message objects")
    try:
        parts = parts_of(messages, strict=True)
    except ContentError as exc:
        raise _bad(str(exc)) from None
    return Parsed(messages, parts)


def refuse_uncheckable(body: dict[str, Any]) -> None:
    """400 for request fields that feed the model text or embeddings no check can read."""
    for key in UNCHECKABLE_FIELDS:
        if body.get(key) is not None:
            raise _bad(f"'{key}' cannot be checked by the guardrails sidecar and is not accepted", param=key)
