"""The tool definitions of a chat request (``tools``, the deprecated ``functions``), read for the input check.

Chat templates render every definition (name, description, parameter schema) into the prompt, so a poisoned
description is an injection path like a tool's result. Each definition is read as its JSON text (non-ASCII
as written, so ``\\u`` escapes hide nothing) and all of them as one message of role ``tool`` (the untrusted
side: filters that read tool results read these too), one text part per definition. A redaction is written
back into the definition it falls in; one that leaves a definition's JSON unreadable is refused with a 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from guardrails.server._http import ApiError
from guardrails.types import Action, Message
from guardrails.verdict import Verdict

FIELDS = ("tools", "functions")


@dataclass
class ToolDefinitions:
    """Where each checked definition came from (field, index) and its JSON text."""

    places: list[tuple[str, int]]
    texts: list[str]

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)

    def message(self) -> Message:
        return {"role": "tool", "content": [{"type": "text", "text": t} for t in self.texts]}  # type: ignore[typeddict-item]

    def apply(self, body: dict[str, Any], verdict: Verdict) -> None:
        """Write the verdict's redacted definitions into ``body``, in place."""
        if verdict.action is not Action.REDACT or not verdict.messages:
            return
        parts = verdict.messages[0].get("content")
        if not isinstance(parts, list):
            return
        for (key, k), part in zip(self.places, parts):
            try:
                body[key][k] = json.loads(part["text"])
            except (ValueError, TypeError, KeyError):
                raise ApiError(400, f"a redaction in {key}[{k}] left its JSON unreadable; the request was not forwarded",
                               param=key, code="invalid_content") from None


def read_tool_definitions(body: dict[str, Any]) -> ToolDefinitions | None:
    """The request's tool definitions, or None when it has none; a 400 for a shape that is not a list of objects."""
    places: list[tuple[str, int]] = []
    texts: list[str] = []
    for key in FIELDS:
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
            raise ApiError(400, f"'{key}' must be a list of objects", param=key, code="invalid_content")
        for k, definition in enumerate(value):
            places.append((key, k))
            texts.append(json.dumps(definition, ensure_ascii=False))
    return ToolDefinitions(places, texts) if texts else None
