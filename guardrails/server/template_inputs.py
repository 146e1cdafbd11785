"""What a chat request gives its template besides the messages, read for the input check.

Chat templates render more than ``messages`` into the prompt: tool definitions (``tools``, the deprecated
``functions``: names, descriptions, parameter schemas), RAG documents (``documents``, which vLLM hands to
templates that support them) and the values of ``chat_template_kwargs``. A poisoned tool description or a
pasted document is an injection path like a tool's result, so each of these is checked: an object as its JSON
text (non-ASCII as written, so ``\\u`` escapes hide nothing), a string as it is, all of them as one message of
role ``tool`` (the untrusted side: filters that read tool results read these too), one text part per item. A
redaction is written back into the item it falls in; one that leaves an object's JSON unreadable is refused
with a 400. Values holding no text (``enable_thinking: false``) are not read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from guardrails.server._http import ApiError
from guardrails.types import Action, Message
from guardrails.verdict import Verdict

LIST_FIELDS = ("tools", "functions", "documents")  # lists of objects, each item read on its own
KWARGS_FIELD = "chat_template_kwargs"  # an object: each value that holds text read on its own


@dataclass
class TemplateInputs:
    """Where each checked item came from (field, index or key), its text, and whether it is a plain string."""

    places: list[tuple[str, int | str]]
    texts: list[str]
    plain: list[bool]

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)

    @property
    def fields(self) -> str:
        """The request fields read, for the audit line (``tools``, ``documents,tools``, ...)."""
        return ",".join(sorted({field for field, _ in self.places}))

    def message(self) -> Message:
        return {"role": "tool", "content": [{"type": "text", "text": t} for t in self.texts]}  # type: ignore[typeddict-item]

    def apply(self, body: dict[str, Any], verdict: Verdict) -> None:
        """Write the verdict's redacted items into ``body``, in place."""
        if verdict.action is not Action.REDACT or not verdict.messages:
            return
        parts = verdict.messages[0].get("content")
        if not isinstance(parts, list):
            return
        for (field, where), plain, part in zip(self.places, self.plain, parts):
            text = part["text"]
            try:
                body[field][where] = text if plain else json.loads(text)
            except ValueError:
                raise ApiError(400, f"a redaction in {field}[{where!r}] left its JSON unreadable; the request was not "
                                    "forwarded", param=field, code="invalid_content") from None


def read_template_inputs(body: dict[str, Any]) -> TemplateInputs | None:
    """The request's template inputs, or None when it has none; a 400 for a shape that is not understood."""
    out = TemplateInputs([], [], [])
    for field in LIST_FIELDS:
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise ApiError(400, f"'{field}' must be a list of objects", param=field, code="invalid_content")
        for k, item in enumerate(value):
            _add(out, (field, k), item)
    kwargs = body.get(KWARGS_FIELD)
    if kwargs is not None:
        if not isinstance(kwargs, dict):
            raise ApiError(400, f"'{KWARGS_FIELD}' must be an object", param=KWARGS_FIELD, code="invalid_content")
        for name, value in kwargs.items():
            if _holds_text(value):
                _add(out, (KWARGS_FIELD, name), value)
    return out if out.texts else None


def _add(out: TemplateInputs, place: tuple[str, int | str], value: Any) -> None:
    out.places.append(place)
    out.plain.append(isinstance(value, str))
    out.texts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def _holds_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(isinstance(k, str) and k for k in value) or any(_holds_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_text(v) for v in value)
    return False
