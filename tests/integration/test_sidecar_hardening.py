"""Hostile clients and upstreams against a real sidecar (uvicorn on 127.0.0.1, real sockets, a scripted upstream):
content shapes, slow and idle connections, cost bounds, deadlines, broken streams, request ids, malformed JSON,
and what /readyz tells an unauthenticated caller."""

from __future__ import annotations

import json
import logging
import socket
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from guardrails.server import create_app
from guardrails.server.config import build_server_config
from tests.helpers.gate_filter import GateFilter
from tests.helpers.scripted_upstream import ScriptedUpstream, ServerThread, fresh_script, upstream  # noqa: F401 (fixtures)
from tests.helpers.waiting import wait_until

pytestmark = pytest.mark.integration

EMAIL = "jane.roe@example.org"
POLICY = """
version: 1
name: hardening
input:
  - filter: regex
    id: banned
    patterns: ["FORBIDDEN"]
    category: banned
    action: block
  - filter: regex
    id: email
    patterns: ["[a-z0-9._]+@[a-z0-9.]+[.][a-z]+"]
    category: email
    action: redact
output:
  - filter: regex
    id: banned_out
    patterns: ["FORBIDDEN"]
    category: banned
    action: block
"""
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}



@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hardening") / "policy.yaml"
    path.write_text(POLICY)
    return path


def _config(upstream: ServerThread, policy: Path, *, limits: dict[str, Any] | None = None, **top: Any) -> Any:
    return build_server_config({"upstream": upstream.url, "reload_interval_s": 0, "audit": {"path": "off"}, **top,
                                "apps": {"app": {"policy": str(policy), "limits": limits or {}}}})


@pytest.fixture(scope="module")
def sidecar(upstream: tuple[ScriptedUpstream, ServerThread], policy: Path) -> Iterator[ServerThread]:
    limits = {"max_messages": 50, "max_check_chars": 20_000, "max_response_bytes": 20_000, "max_event_bytes": 4096,
              "timeout_s": 2}
    with ServerThread(create_app(_config(upstream[1], policy, limits=limits))) as server:
        yield server


def _post(server: ServerThread, body: Any, path: str = "/v1/chat/completions", **kw: Any) -> httpx.Response:
    content = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return httpx.post(server.url + path, content=content, headers={"content-type": "application/json", **kw},
                      timeout=30)


def _chat(server: ServerThread, messages: list[Any], **extra: Any) -> httpx.Response:
    return _post(server, {"model": "m", "messages": messages, **extra})


def _sse(resp: httpx.Response) -> list[Any]:
    return [ln[6:] if ln[6:] == "[DONE]" else json.loads(ln[6:]) for ln in resp.iter_lines() if ln.startswith("data: ")]


def _stream(server: ServerThread) -> list[Any]:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30) as resp:
        assert resp.status_code == 200
        return _sse(resp)


def _assert_error(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) >= {"message", "type", "code"} and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err  # type: ignore[no-any-return]


# -- 1. content shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize("message", [
    {"role": "user", "content": ["a bare string part saying FORBIDDEN"]},
    {"role": "assistant", "content": [{"type": "refusal", "refusal": "FORBIDDEN refusal"}]},
    {"role": "assistant", "content": [{"type": "thinking", "thinking": "I think FORBIDDEN"}]},
    {"role": "user", "content": [{"type": "input_text", "text": "FORBIDDEN"}]},
    {"role": "assistant", "content": [{"type": "output_text", "text": "FORBIDDEN"}]},
    {"role": "user", "content": [{"type": "tool_reference", "name": "FORBIDDEN_tool"}]},
    {"role": "user", "content": [IMAGE | {"text": "a caption saying FORBIDDEN"}]},
    {"role": "assistant", "content": "fine", "reasoning_content": "FORBIDDEN plan"},
    {"role": "assistant", "content": None, "reasoning": "FORBIDDEN plan"},
    {"role": "user", "content": "fine", "name": "FORBIDDEN"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"q\": \"FORBIDDEN\"}"}}]},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"q": "FORBIDDEN"}}}]},
    {"role": "assistant", "content": None,  # JSON escapes: the upstream decodes them before rendering
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"q\": \"\\u0046ORBIDDEN\"}"}}]},
    {"role": "FORBIDDEN_role", "content": "a custom role is rendered too"},
    {"role": "tool", "content": "result", "tool_call_id": "FORBIDDEN"},
])
def test_every_text_bearing_shape_is_checked(sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread],
                                             message: dict[str, Any]) -> None:
    r = _chat(sidecar, [message])
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "content_filter"
    assert upstream[0].requests == []  # never forwarded


@pytest.mark.parametrize(("messages", "why"), [
    ([{"role": "user", "content": {"type": "text", "text": "an object, not a list"}}], "content must be"),
    ([{"role": "user", "content": [{"type": "text", "text": ["a", "list"]}]}], "must be a string"),
    ([{"role": "user", "content": [{"type": "mystery", "data": "?"}]}], "cannot check"),
    ([{"role": "user", "content": [{"type": "file", "file": {"file_data": "JVBERi0="}}]}], "cannot check"),
    ([{"role": "user", "content": [{"text": "no type"}]}], "no 'type'"),
    ([{"role": "user", "content": [42]}], "content part"),
    ([{"role": 7, "content": "hi"}], "role"),
    ([{"role": "user", "content": "hi", "reasoning_content": {"nested": "x"}}], "must be a string"),
    ([{"role": "assistant", "tool_calls": [{"function": "f"}]}], "'function' object"),
    (["just a string"], "message object"),
])
def test_content_that_cannot_be_understood_is_refused_with_400(sidecar: ServerThread,
                                                               upstream: tuple[ScriptedUpstream, ServerThread],
                                                               messages: list[Any], why: str) -> None:
    err = _assert_error(_chat(sidecar, messages), 400, "invalid_content")
    assert why in err["message"]
    assert upstream[0].requests == []


def test_embeddings_and_request_templates_are_refused(sidecar: ServerThread,
                                                      upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    _assert_error(_chat(sidecar, [{"role": "user", "content": "hi"}], prompt_embeds="AAAA"), 400, "invalid_content")
    _assert_error(_chat(sidecar, [{"role": "user", "content": "hi"}], chat_template="{{ 'FORBIDDEN' }}"), 400)
    _assert_error(_post(sidecar, {"model": "m", "prompt": "hi", "prompt_embeds": "AAAA"}, "/v1/completions"), 400)
    assert upstream[0].requests == []


def test_redaction_is_written_back_in_place_and_media_parts_stay_untouched(
        sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": f"mail {EMAIL} please"}, IMAGE, f"or {EMAIL}"]},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": f"not to {EMAIL}"}],
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "send", "arguments": f"{{\"to\": \"{EMAIL}\"}}"}}]},
    ]
    r = _chat(sidecar, messages)
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "stop"
    sent = upstream[0].requests[0]["messages"]
    assert sent[0]["content"] == [{"type": "text", "text": "mail <EMAIL> please"}, IMAGE, "or <EMAIL>"]
    assert sent[1]["content"] == [{"type": "refusal", "refusal": "not to <EMAIL>"}]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "send", "arguments": "{\"to\": \"<EMAIL>\"}"}
    assert EMAIL not in json.dumps(upstream[0].requests[0])


# -- 3. connection timeouts -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_sidecar(upstream: tuple[ScriptedUpstream, ServerThread], policy: Path) -> Iterator[ServerThread]:
    config = _config(upstream[1], policy, limits={"max_concurrency": 1},
                     timeouts={"headers_s": 0.5, "body_s": 0.5, "idle_s": 0.5})
    with ServerThread(create_app(config)) as server:
        yield server


def _connect(server: ServerThread) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket timeout is a generous 30 s)."""
    out = b""
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return out
        if not data:
            return out
        out += data


def _trickle(sock: socket.socket, data: bytes, stop: threading.Event) -> threading.Thread:
    """Send ``data`` one byte every 50 ms from a thread (a slowloris client), until stopped or the socket fails."""

    def run() -> None:
        for b in data:
            if stop.wait(0.05):
                return
            try:
                sock.send(bytes([b]))
            except OSError:
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _status_and_body(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_idle_connection_is_closed(slow_sidecar: ServerThread) -> None:
    with _connect(slow_sidecar) as sock:
        assert _read_all(sock) == b""  # nothing ever sent: closed by the server, silently


def test_stray_line_breaks_do_not_keep_an_idle_connection_open(slow_sidecar: ServerThread) -> None:
    stop = threading.Event()
    with _connect(slow_sidecar) as sock:
        _trickle(sock, b"\r\n" * 10_000, stop)  # bytes that never start a request
        raw = _read_all(sock)
        stop.set()
    assert raw == b""


def test_keep_alive_connection_is_closed_when_idle(slow_sidecar: ServerThread) -> None:
    with _connect(slow_sidecar) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        raw = _read_all(sock)  # the answer, then the close once the connection has been idle
    assert raw.startswith(b"HTTP/1.1 200") and raw.endswith(b'{"status":"ok"}')


def test_slowloris_headers_get_408_and_close(slow_sidecar: ServerThread) -> None:
    stop = threading.Event()
    with _connect(slow_sidecar) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        _trickle(sock, b"x-slow: " + b"a" * 10_000, stop)
        raw = _read_all(sock)
        stop.set()
    status, body = _status_and_body(raw)
    assert status == 408 and body["error"]["code"] == "request_timeout" and "headers" in body["error"]["message"]


def test_slow_body_gets_408_and_close(slow_sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 500}]}).encode()
    stop = threading.Event()
    with _connect(slow_sidecar) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(payload))
        _trickle(sock, payload, stop)
        raw = _read_all(sock)
        stop.set()
    status, body = _status_and_body(raw)
    assert status == 408 and body["error"]["code"] == "request_timeout" and "body" in body["error"]["message"]
    assert upstream[0].requests == []


def test_oversized_request_head_gets_431(slow_sidecar: ServerThread) -> None:
    with _connect(slow_sidecar) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n")
        status, body = _status_and_body(_read_all(sock))
    assert status == 431 and body["error"]["code"] == "request_too_large"


def test_client_still_sending_its_body_holds_no_concurrency_slot(slow_sidecar: ServerThread) -> None:
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "slow"}]}).encode()
    with _connect(slow_sidecar) as slow:
        slow.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
                     b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(payload))
        # uvicorn sends 100 Continue when the app starts reading the body: the slow request is now in the app.
        assert slow.recv(100).startswith(b"HTTP/1.1 100")
        slow.sendall(payload[:10])
        other = httpx.post(slow_sidecar.url + "/v1/chat/completions", timeout=30,
                           json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert other.status_code == 200  # max_concurrency is 1, and the slow client does not hold it
        status, body = _status_and_body(_read_all(slow))
    assert status == 408


def test_body_deadline_also_holds_under_plain_uvicorn(upstream: tuple[ScriptedUpstream, ServerThread],
                                                      policy: Path) -> None:
    # Served by uvicorn's own protocol (as a third-party ASGI server would): the app enforces timeouts.body_s.
    config = _config(upstream[1], policy, timeouts={"body_s": 0.5})
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 200}]}).encode()
    stop = threading.Event()
    with ServerThread(create_app(config), plain=True) as server, _connect(server) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(payload))
        _trickle(sock, payload, stop)
        head = b""
        while b"\r\n\r\n" not in head or not head.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            head += data
        stop.set()
    status, body = _status_and_body(head)
    assert status == 408 and body["error"]["code"] == "request_timeout"


# -- 4. cost bounds -------------------------------------------------------------------------------


def test_too_many_messages_or_too_much_text_gets_413(sidecar: ServerThread,
                                                     upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    many = [{"role": "user", "content": "hi"}] * 51
    err = _assert_error(_chat(sidecar, many), 413, "too_many_messages")
    assert "51" in err["message"] and "50" in err["message"]
    _assert_error(_chat(sidecar, [{"role": "user", "content": "x" * 20_001}]), 413, "input_too_large")
    _assert_error(_post(sidecar, {"model": "m", "prompt": ["x"] * 51}, "/v1/completions"), 413, "too_many_messages")
    _assert_error(_post(sidecar, {"text": "x" * 20_001}, "/v1/guard/check"), 413, "input_too_large")
    assert upstream[0].requests == []
    assert _chat(sidecar, [{"role": "user", "content": "hi"}] * 50).status_code == 200


def _metric(server: ServerThread, line: str) -> float:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    return next((float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(line)), 0.0)


def test_heavy_checks_run_in_threads_one_at_a_time_while_the_loop_keeps_serving(
        upstream: tuple[ScriptedUpstream, ServerThread], tmp_path: Path) -> None:
    policy = tmp_path / "gate.yaml"
    policy.write_text("version: 1\nname: gate\ninput:\n  - filter: tests.helpers.gate_filter:GateFilter\n"
                      "    min_chars: 25000\n")
    config = _config(upstream[1], policy, limits={"max_check_chars": 100_000}, max_heavy_checks=1,
                     allow_plugins=["tests.helpers"])
    GateFilter.reset()
    statuses: list[int] = []
    with ServerThread(create_app(config)) as server:
        def heavy() -> None:
            statuses.append(_chat(server, [{"role": "user", "content": "y" * 30_000}]).status_code)

        threads = [threading.Thread(target=heavy) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: _metric(server, 'guardrails_heavy_checks{state="running"}') == 1
                  and _metric(server, 'guardrails_heavy_checks{state="waiting"}') == 2)
            # One heavy check is stuck in a worker thread, two wait for their turn: small requests still pass.
            for _ in range(3):
                assert _chat(server, [{"role": "user", "content": "small"}]).status_code == 200
            assert GateFilter.inside == 1
        finally:
            GateFilter.gate.set()
            for t in threads:
                t.join(timeout=60)
    assert statuses == [200, 200, 200] and GateFilter.most_inside == 1


# -- 5. deadlines and broken upstream answers -----------------------------------------------------


def _completion(text: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}]}).encode()


def _event(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def test_trickling_upstream_is_cut_at_the_whole_answer_deadline(sidecar: ServerThread,
                                                                upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    body = _completion("slow " * 200)
    # One byte every 50 ms: each read is quick (no read timeout fires), the whole answer would take minutes.
    upstream[0].reset(raw=[bytes([b]) for b in body], raw_type="application/json", chunk_delay_s=0.05)
    _assert_error(_chat(sidecar, [{"role": "user", "content": "hi"}]), 504, "upstream_timeout")
    upstream[0].reset(raw=[bytes([b]) for b in _event({"content": "x " * 500})], chunk_delay_s=0.05)
    chunks = _stream(sidecar)
    assert chunks[-1] == "[DONE]" and chunks[-2]["error"]["code"] == "upstream_timeout"


def test_client_leaving_a_non_streaming_request_cancels_the_upstream(
        sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    upstream[0].reset(raw=[b"{"] + [b" "] * 1000 + [b"}"], raw_type="application/json", chunk_delay_s=0.05)
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    with _connect(sidecar) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(payload) + payload)
        wait_until(lambda: len(upstream[0].requests) == 1)
    wait_until(lambda: upstream[0].raw_cancelled == 1)  # the sidecar closed its upstream connection


@pytest.mark.parametrize(("raw", "code"), [
    ([_event({"content": "Hello "}), b'data: {"id": "x", "choices": [{"index": 0, "del'], "upstream_stream_truncated"),
    ([_event({"content": "Hello "}), _event({"content": "world"})], "upstream_stream_truncated"),
    ([_event({"content": "Hello "}), b"data: " + b"A" * 5000 + b"\n\n"], "upstream_event_too_large"),
    ([_event({"content": "Hello "}), b"data: " + b"B" * 5000], "upstream_event_too_large"),
])
def test_broken_upstream_streams_end_with_an_error_event(sidecar: ServerThread,
                                                         upstream: tuple[ScriptedUpstream, ServerThread],
                                                         caplog: pytest.LogCaptureFixture, raw: list[bytes],
                                                         code: str) -> None:
    upstream[0].reset(raw=raw)
    with caplog.at_level(logging.WARNING, logger="guardrails.server.proxy"):
        chunks = _stream(sidecar)
    assert chunks[-1] == "[DONE]"
    assert chunks[-2]["error"]["code"] == code and chunks[-2]["error"]["type"] == "upstream_error"
    assert "world" not in json.dumps(chunks)  # held text of an unfinished answer is not released
    assert any(code in r.getMessage() for r in caplog.records)


def test_complete_upstream_streams_end_cleanly(sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    upstream[0].reset(raw=[_event({"content": "Hello world."}), _event({}, finish="stop")])  # no [DONE]
    chunks = _stream(sidecar)
    assert chunks[-1] == "[DONE]" and not any("error" in c for c in chunks[:-1])
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1] if c["choices"]) == "Hello world."


def test_upstream_error_event_is_not_relayed_verbatim(sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    leak = "Traceback: /srv/models/secret-path.py line 3, token=abc123"
    error = {"error": {"message": leak, "type": "InternalServerError", "code": 500}}
    upstream[0].reset(raw=[_event({"content": "Hi "}), b"data: " + json.dumps(error).encode() + b"\n\n"])
    with caplog.at_level(logging.WARNING, logger="guardrails.server.proxy"):
        chunks = _stream(sidecar)
    assert chunks[-1] == "[DONE]" and chunks[-2]["error"]["code"] == "upstream_stream_error"
    assert "secret-path" not in json.dumps(chunks) and "Traceback" not in json.dumps(chunks)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "InternalServerError" in logged and "secret-path" not in logged


def test_oversized_or_malformed_upstream_answers_get_502(sidecar: ServerThread,
                                                         upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    upstream[0].reset(raw=[_completion("z" * 30_000)], raw_type="application/json")
    _assert_error(_chat(sidecar, [{"role": "user", "content": "hi"}]), 502, "upstream_response_too_large")
    upstream[0].reset(raw=[b'{"choices": [{"message": {"content": NaN}}]}'], raw_type="application/json")
    _assert_error(_chat(sidecar, [{"role": "user", "content": "hi"}]), 502, "upstream_bad_response")
    upstream[0].reset(raw=[b"[" * 5000 + b"]" * 5000], raw_type="application/json")
    _assert_error(_chat(sidecar, [{"role": "user", "content": "hi"}]), 502, "upstream_bad_response")


# -- 6. request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "kept"), [
    ("req-2024-abc-17", True),
    ("a1b2c3d4e5f6", True),
    ("4111111111111111", False),  # all digits, and a card number
    ("4111-1111-1111-1111", False),  # digits split by separators still make a run
    ("order_5551234567", False),
    ("abc", False),  # too short
    ("x" * 65, False),
    ("id with spaces", False),
])
def test_only_safe_request_ids_are_kept(sidecar: ServerThread, given: str, kept: bool) -> None:
    r = httpx.post(sidecar.url + "/v1/guard/check", json={"text": "hi"}, headers={"x-request-id": given}, timeout=10)
    assert r.status_code == 200
    assert (r.headers["x-request-id"] == given) is kept
    if not kept:
        assert len(r.headers["x-request-id"]) == 32


# -- 7. malformed numbers and nesting --------------------------------------------------------------


@pytest.mark.parametrize(("raw", "why"), [
    (b'{"model": "m", "temperature": NaN, "messages": [{"role": "user", "content": "hi"}]}', "NaN"),
    (b'{"model": "m", "temperature": Infinity, "messages": [{"role": "user", "content": "hi"}]}', "Infinity"),
    (b'{"model": "m", "temperature": -Infinity, "messages": [{"role": "user", "content": "hi"}]}', "Infinity"),
    (b'{"model": "m", "temperature": 1e999, "messages": [{"role": "user", "content": "hi"}]}', "finite"),
    (b'{"model": "m", "seed": 123456789012345678901234567890, "messages": [{"role": "user", "content": "hi"}]}', "64 bits"),
    (b'{"model": "m", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "deeper"),
])
def test_malformed_numbers_and_nesting_get_400(sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread],
                                               raw: bytes, why: str) -> None:
    err = _assert_error(_post(sidecar, raw), 400, "invalid_json")
    assert why in err["message"]
    assert upstream[0].requests == []


# -- 8. readiness ---------------------------------------------------------------------------------


def test_readyz_reports_readiness_only(sidecar: ServerThread, upstream: tuple[ScriptedUpstream, ServerThread],
                                       policy: Path, caplog: pytest.LogCaptureFixture) -> None:
    wait_until(lambda: httpx.get(sidecar.url + "/readyz", timeout=10).status_code == 200)
    ready = httpx.get(sidecar.url + "/readyz", timeout=10)
    assert ready.json() == {"status": "ready", "models_loaded": True, "apps": {"app": "ok"}}
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    config = build_server_config({"upstream": dead, "reload_interval_s": 0, "audit": {"path": "off"},
                                  "apps": {"app": {"policy": str(policy)}}})
    with caplog.at_level(logging.WARNING, logger="guardrails.server.app"), ServerThread(create_app(config)) as server:
        r = httpx.get(server.url + "/readyz", timeout=10)
    assert r.status_code == 503 and r.json()["apps"] == {"app": "not_ok"} and set(r.json()) == {"status", "models_loaded", "apps"}
    for secret in ("hardening", "sha256", "127.0.0.1", "unreachable", str(policy)):
        assert secret not in r.text
    assert any("unreachable" in rec.getMessage() for rec in caplog.records)  # the details go to the log
