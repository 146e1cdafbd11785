"""The sidecar's OpenAI bodies, byte for byte: key order included, as clients have always received them.

The expected bytes were recorded from the sidecar before its builders were gathered in
``guardrails.server.openai_bodies``; a change here is a change of the wire format.
"""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")

from starlette.responses import JSONResponse  # noqa: E402

from guardrails.server import openai_bodies as bodies  # noqa: E402
from guardrails.server._http import ApiError  # noqa: E402
from guardrails.server.protocol import _error_bytes  # noqa: E402

REFUSAL = "I can't help with that request."


def _json(body: dict[str, object]) -> str:
    return bytes(JSONResponse(body).body).decode()


def test_refusal_chat_completion_bytes() -> None:
    body = bodies.refusal(bodies.completion_id(True, "guardrails-rid1"), chat=True, created=1700000000, model="m", text=REFUSAL)
    assert _json(body) == (
        '{"id":"chatcmpl-guardrails-rid1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,'
        '"message":{"role":"assistant","content":"I can\'t help with that request."},"logprobs":null,"finish_reason":"content_filter"}],'
        '"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}'
    )


def test_refusal_text_completion_bytes() -> None:
    body = bodies.refusal(bodies.completion_id(False, "guardrails-rid1"), chat=False, created=1700000000, model="m", text="call a friend")
    assert _json(body) == (
        '{"id":"cmpl-guardrails-rid1","object":"text_completion","created":1700000000,"model":"m","choices":[{"index":0,'
        '"text":"call a friend","logprobs":null,"finish_reason":"content_filter"}],'
        '"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}'
    )


def test_refusal_stream_chat_bytes() -> None:
    events = b"".join(bodies.refusal_events("chatcmpl-guardrails-rid1", chat=True, created=1700000000, model="m", text="call a friend"))
    assert events.decode() == (
        'data: {"id":"chatcmpl-guardrails-rid1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":'
        '[{"index":0,"delta":{"role":"assistant","content":"call a friend"},"logprobs":null,"finish_reason":null}]}\n\n'
        'data: {"id":"chatcmpl-guardrails-rid1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":'
        '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"content_filter"}]}\n\n'
        "data: [DONE]\n\n"
    )


def test_refusal_stream_text_bytes() -> None:
    events = b"".join(bodies.refusal_events("cmpl-guardrails-rid1", chat=False, created=1700000000, model="m", text="call a friend"))
    assert events.decode() == (
        'data: {"id":"cmpl-guardrails-rid1","object":"text_completion","created":1700000000,"model":"m","choices":'
        '[{"index":0,"text":"call a friend","logprobs":null,"finish_reason":null}]}\n\n'
        'data: {"id":"cmpl-guardrails-rid1","object":"text_completion","created":1700000000,"model":"m","choices":'
        '[{"index":0,"text":"","logprobs":null,"finish_reason":"content_filter"}]}\n\n'
        "data: [DONE]\n\n"
    )


def test_closing_choices_of_a_passed_through_stream_keep_their_key_order() -> None:
    upstream = {"id": "up", "object": "chat.completion.chunk", "created": 1, "model": "m", "system_fingerprint": "fp"}
    cut = bodies.chunk_event(upstream, [bodies.closing_choice(0, "content_filter", {"content": "call a friend"}, chat=True)])
    assert cut.decode() == (
        'data: {"id":"up","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp","choices":'
        '[{"index":0,"logprobs":null,"finish_reason":"content_filter","delta":{"content":"call a friend"}}]}\n\n'
    )
    tail = bodies.closing_choice(0, None, {"content": "answer text", "reasoning_content": "think think "}, chat=True)
    assert bodies.chunk_event(upstream, [tail]).decode().endswith(
        '"choices":[{"index":0,"logprobs":null,"finish_reason":null,"delta":{"content":"answer text","reasoning_content":"think think "}}]}\n\n')
    text_cut = bodies.closing_choice(0, "content_filter", {}, chat=False)
    assert _json(text_cut) == '{"index":0,"logprobs":null,"finish_reason":"content_filter","text":""}'


def test_backend_chunks_and_completion_bytes() -> None:
    head = bodies.envelope("chatcmpl-u", chat=True, created=1700000000, model="tiny")
    assert bodies.chunk_event(head, [bodies.chunk_choice("", None, chat=True, role=True)]).decode() == (
        'data: {"id":"chatcmpl-u","object":"chat.completion.chunk","created":1700000000,"model":"tiny","choices":'
        '[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
    )
    assert _json(bodies.chunk_choice("Hel", None, chat=True)) == '{"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null}'
    assert _json(bodies.chunk_choice(None, "stop", chat=True)) == '{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}'
    body = bodies.completion("cmpl-u", chat=False, created=1700000000, model="tiny",
                             choices=[bodies.choice("gen text", "stop", chat=False)], usage=bodies.usage(3, 2))
    assert _json(body) == (
        '{"id":"cmpl-u","object":"text_completion","created":1700000000,"model":"tiny","choices":[{"index":0,"text":"gen text",'
        '"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}'
    )
    assert _json(bodies.model_list(["tiny"], owned_by="guardrails-local")) == (
        '{"object":"list","data":[{"id":"tiny","object":"model","created":0,"owned_by":"guardrails-local"}]}')


def test_error_bodies_bytes() -> None:
    assert bytes(ApiError(400, "bad", code="c", param="p").response().body).decode() == (
        '{"error":{"message":"bad","type":"invalid_request_error","param":"p","code":"c"}}')
    event = bodies.error_event(ApiError(502, "cut", type="upstream_error", code="upstream_stream_truncated").body())
    assert event.decode() == (
        'data: {"error":{"message":"cut","type":"upstream_error","param":null,"code":"upstream_stream_truncated"}}\n\n')
    assert _error_bytes(408, "Request Timeout", "too slow", "request_timeout").decode() == (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: 109\r\nconnection: close\r\n\r\n"
        '{"error": {"message": "too slow", "type": "invalid_request_error", "param": null, "code": "request_timeout"}}'
    )


def test_refusal_of_n_choices_and_the_usage_chunk_bytes() -> None:
    body = bodies.refusal("chatcmpl-r", chat=True, created=1, model="m", text="no", n=2)
    assert [c["index"] for c in body["choices"]] == [0, 1]
    events = b"".join(bodies.refusal_events("cmpl-r", chat=False, created=1, model="m", text="no", n=2, include_usage=True))
    assert events.decode() == (
        'data: {"id":"cmpl-r","object":"text_completion","created":1,"model":"m","choices":'
        '[{"index":0,"text":"no","logprobs":null,"finish_reason":null},{"index":1,"text":"no","logprobs":null,"finish_reason":null}]}\n\n'
        'data: {"id":"cmpl-r","object":"text_completion","created":1,"model":"m","choices":'
        '[{"index":0,"text":"","logprobs":null,"finish_reason":"content_filter"},'
        '{"index":1,"text":"","logprobs":null,"finish_reason":"content_filter"}]}\n\n'
        'data: {"id":"cmpl-r","object":"text_completion","created":1,"model":"m","choices":[],'
        '"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}\n\n'
        "data: [DONE]\n\n"
    )
