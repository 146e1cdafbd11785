"""The OpenAI-shaped bodies the sidecar and its local backend answer: completions, stream chunks, the refusal
of a blocked request, the closing chunk of a stream cut by a check, model lists and errors.

Every body is built here and nowhere else. Each builder writes its keys in one fixed order: the order is
part of the bytes clients have always received (``tests/unit/test_openai_bodies.py`` pins them).
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from guardrails.server import sse

CHAT_OBJECT = "chat.completion"
CHAT_CHUNK_OBJECT = "chat.completion.chunk"
TEXT_OBJECT = "text_completion"  # a completion and each of its stream chunks
CONTENT_FILTER = "content_filter"


def completion_id(chat: bool, suffix: str) -> str:
    """``chatcmpl-...`` for chat completions, ``cmpl-...`` for text completions."""
    return f"{'chatcmpl' if chat else 'cmpl'}-{suffix}"


def object_of(chat: bool, *, chunk: bool = False) -> str:
    if not chat:
        return TEXT_OBJECT
    return CHAT_CHUNK_OBJECT if chunk else CHAT_OBJECT


# -- whole answers ----------------------------------------------------------------------------------


def choice(text: str, finish: str | None, *, chat: bool, index: int = 0) -> dict[str, Any]:
    """One choice of a whole answer: the assistant message (chat) or the text (completions)."""
    if chat:
        return {"index": index, "message": {"role": "assistant", "content": text}, "logprobs": None, "finish_reason": finish}
    return {"index": index, "text": text, "logprobs": None, "finish_reason": finish}


def usage(prompt_tokens: int = 0, completion_tokens: int = 0) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion(cid: str, *, chat: bool, created: int, model: str, choices: list[dict[str, Any]],
               usage: Mapping[str, int]) -> dict[str, Any]:
    """A (chat) completion body."""
    return {"id": cid, "object": object_of(chat), "created": created, "model": model, "choices": choices,
            "usage": dict(usage)}


# -- stream chunks ----------------------------------------------------------------------------------


def envelope(cid: str, *, chat: bool, created: int, model: Any) -> dict[str, Any]:
    """The fields every chunk of one stream repeats (before its choices)."""
    return {"id": cid, "object": object_of(chat, chunk=True), "created": created, "model": model}


def chunk_event(head: Mapping[str, Any], choices: list[dict[str, Any]]) -> bytes:
    """One SSE event: a chunk with ``head``'s fields (an envelope, or an upstream chunk) and ``choices``."""
    return sse.event({**head, "choices": choices})


def chunk_choice(text: str | None, finish: str | None, *, chat: bool, index: int = 0, role: bool = False) -> dict[str, Any]:
    """One choice of a chunk we generate: ``text`` as the delta's content (chat: None is an empty delta;
    ``role`` adds the assistant role) or as the choice's text (completions: None is "")."""
    if chat:
        delta: dict[str, Any] = {} if text is None else ({"role": "assistant", "content": text} if role else {"content": text})
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {"index": index, "text": text or "", "logprobs": None, "finish_reason": finish}


def closing_choice(index: int, finish: str | None, fields: Mapping[str, Any], *, chat: bool) -> dict[str, Any]:
    """A choice the moderator writes itself in a passed-through stream: the text it still held (``fields``
    maps a text key, e.g. ``content`` / ``reasoning_content`` / ``text``, to its text) at the end of the
    stream, or the cut of a blocked stream (``finish`` content_filter)."""
    out: dict[str, Any] = {"index": index, "logprobs": None, "finish_reason": finish}
    if chat:
        out["delta"] = dict(fields)
    else:
        out["text"] = fields.get("text", "")
    return out


# -- refusals ---------------------------------------------------------------------------------------


def refusal(cid: str, *, chat: bool, created: int, model: str, text: str, n: int = 1) -> dict[str, Any]:
    """The answer to a blocked request: ``n`` choices (one per choice asked for), each ``text`` (the policy's
    refusal or the category's message) with finish_reason content_filter, and no token use."""
    return completion(cid, chat=chat, created=created, model=model,
                      choices=[choice(text, CONTENT_FILTER, chat=chat, index=i) for i in range(n)], usage=usage())


def refusal_events(cid: str, *, chat: bool, created: int, model: str, text: str, n: int = 1,
                   include_usage: bool = False) -> Iterator[bytes]:
    """The streamed answer to a blocked request: the text of each of the ``n`` choices, their content_filter
    finish, the usage chunk (no token use) when the client asked for it, ``[DONE]``."""
    head = envelope(cid, chat=chat, created=created, model=model)
    yield chunk_event(head, [chunk_choice(text, None, chat=chat, index=i, role=True) for i in range(n)])
    yield chunk_event(head, [chunk_choice(None, CONTENT_FILTER, chat=chat, index=i) for i in range(n)])
    if include_usage:
        yield usage_event(head, usage())
    yield sse.DONE_EVENT


def usage_event(head: Mapping[str, Any], counts: Mapping[str, Any]) -> bytes:
    """The last chunk of a stream whose client asked for ``stream_options.include_usage``: no choices, the usage."""
    return sse.event({**head, "choices": [], "usage": dict(counts)})


# -- other bodies -----------------------------------------------------------------------------------


def model_list(names: list[str], *, owned_by: str) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": owned_by} for name in names]}


def error(message: str, *, type: str = "invalid_request_error", param: str | None = None,
          code: str | None = None) -> dict[str, Any]:
    """An OpenAI error body: ``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_event(body: Mapping[str, Any]) -> bytes:
    """An error body sent as a stream's event (once the stream's 200 is out)."""
    return sse.event(body)
