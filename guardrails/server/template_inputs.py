"""What a chat request gives its template besides the messages, read for the input check
(guardrails.template_inputs says how each item is read).

The request fields: ``tools`` and the deprecated ``functions``, ``documents`` (which vLLM hands to templates that
support them) and the values of ``chat_template_kwargs``. A redaction is written back into the item it falls in; one
that leaves an object's JSON unreadable is refused with a 400; a field of another shape is a 400 naming it.
"""

from __future__ import annotations

from typing import Any

from guardrails.server._http import ApiError
from guardrails.template_inputs import LIST_FIELDS, TemplateInputs, UnreadableRedaction, holds_text
from guardrails.verdict import Verdict

KWARGS_FIELD = "chat_template_kwargs"  # an object: each value that holds text read on its own


def apply_template_inputs(inputs: TemplateInputs, body: dict[str, Any], verdict: Verdict) -> None:
    """Write the verdict's redacted items into ``body`` (in place); a 400 when a redaction broke an item's JSON."""
    try:
        changes = list(inputs.redacted(verdict))  # all or nothing: the body is left as sent when one item fails
    except UnreadableRedaction as exc:
        raise ApiError(400, f"{exc}; the request was not forwarded", param=exc.place[0], code="invalid_content") from None
    for (name, where), value in changes:
        body[name][where] = value


def read_template_inputs(body: dict[str, Any]) -> TemplateInputs | None:
    """The request's template inputs, or None when it has none; a 400 for a shape that is not understood."""
    out = TemplateInputs()
    for name in LIST_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise ApiError(400, f"'{name}' must be a list of objects", param=name, code="invalid_content")
        for k, item in enumerate(value):
            out.add((name, k), item)
    kwargs = body.get(KWARGS_FIELD)
    if kwargs is not None:
        if not isinstance(kwargs, dict):
            raise ApiError(400, f"'{KWARGS_FIELD}' must be an object", param=KWARGS_FIELD, code="invalid_content")
        for name, value in kwargs.items():
            if holds_text(value):
                out.add((KWARGS_FIELD, name), value)
    return out if out.texts else None
