"""A small OpenAI-compatible server whose answers a test scripts exactly, and a uvicorn-in-a-thread runner."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator, Iterator

import pytest

import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse


@dataclass
class Script:
    """What the upstream answers next (every request, until changed)."""

    text: str = "Hello from the scripted upstream."
    chunks: list[str] | None = None  # streamed pieces; default: the text split after each space
    tool_calls: list[dict[str, Any]] | None = None
    # Streamed: each tool call's arguments sent in these fragments (the call's head, with "", first).
    tool_argument_chunks: list[str] | None = None
    texts: list[str] | None = None  # one answer per choice (n = len(texts)); streamed interleaved, word by word
    finish_reason: str = "stop"
    status: int = 200
    error: dict[str, Any] | None = None  # body sent with a non-200 status
    delay_s: float = 0.0  # before the response starts
    chunk_delay_s: float = 0.0  # between streamed chunks
    fail_after_chunks: int | None = None  # drop the connection mid-stream after this many chunks
    echo: str | None = None  # answer this prefix + the last message (or prompt) instead of ``text``
    reasoning: str | None = None  # chat: a reasoning model's thinking (reasoning_content), sent before the answer
    raw: list[bytes] | None = None  # send these body pieces verbatim (chunk_delay_s apart), whatever was asked
    raw_type: str = "text/event-stream"
    # Wait until the test sets this event (at most 60 s): before the response starts, or, with
    # hold_after_chunks, in a streamed answer after that many text pieces. A held upstream has certainly
    # not answered (or finished) before the test says so, whatever the scheduling.
    hold: threading.Event | None = None
    hold_after_chunks: int | None = None

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return _words(self.text)


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]]


USAGE = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


@dataclass
class ScriptedUpstream:
    """Records every request it gets; answers as ``script`` says."""

    script: Script = field(default_factory=Script)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    streams_started: int = 0
    streams_completed: int = 0
    streams_cancelled: int = 0
    raw_cancelled: int = 0  # raw answers whose reader went away before the last piece

    def reset(self, **script: Any) -> None:
        self.script = Script(**script)
        self.requests.clear()
        self.headers.clear()
        self.streams_started = self.streams_completed = self.streams_cancelled = self.raw_cancelled = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        async def completion(request: Request, chat: bool) -> Response:
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            s = self.script
            if s.delay_s:
                await asyncio.sleep(s.delay_s)
            if s.hold is not None and s.hold_after_chunks is None:
                await asyncio.to_thread(s.hold.wait, 60)
            if s.status != 200:
                return JSONResponse(s.error or {"error": {"message": "scripted failure"}}, status_code=s.status)
            if s.raw is not None:
                return StreamingResponse(self._raw(s), media_type=s.raw_type)
            model = body.get("model", "scripted")
            if s.echo is not None:
                last = body["messages"][-1]["content"] if chat else body["prompt"]
                s = replace(s, text=s.echo + str(last), chunks=None)
            if body.get("stream"):
                usage = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage")
                return StreamingResponse(self._stream(s, chat, model, bool(usage)), media_type="text/event-stream")
            if s.texts is not None:
                key = "message" if chat else "text"
                choices = [{"index": i, key: {"role": "assistant", "content": t} if chat else t, "logprobs": None,
                            "finish_reason": s.finish_reason} for i, t in enumerate(s.texts)]
                return JSONResponse({"id": "up-1", "object": "chat.completion" if chat else "text_completion",
                                     "created": 1, "model": model, "choices": choices, "usage": USAGE})
            if chat:
                message: dict[str, Any] = {"role": "assistant", "content": s.text}
                if s.tool_calls is not None:
                    message = {"role": "assistant", "content": None, "tool_calls": s.tool_calls}
                if s.reasoning is not None:
                    message["reasoning_content"] = s.reasoning
                choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None, "finish_reason": s.finish_reason}
            else:
                choice = {"index": 0, "text": s.text, "logprobs": None, "finish_reason": s.finish_reason}
            return JSONResponse({
                "id": "up-1", "object": "chat.completion" if chat else "text_completion", "created": int(time.time()),
                "model": model, "choices": [choice],
                "usage": USAGE,
            })

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            return await completion(request, chat=True)

        @app.post("/v1/completions")
        async def completions(request: Request) -> Response:
            return await completion(request, chat=False)

        @app.get("/v1/models")
        async def models() -> Response:
            return JSONResponse({"object": "list", "data": [{"id": "scripted-model", "object": "model", "owned_by": "tests"}]})

        return app

    async def _raw(self, s: Script) -> AsyncIterator[bytes]:
        assert s.raw is not None
        try:
            for piece in s.raw:
                if s.chunk_delay_s:
                    await asyncio.sleep(s.chunk_delay_s)
                yield piece
        except (asyncio.CancelledError, GeneratorExit):
            if s is self.script:  # an earlier test's answer cancelled late (under load) is not this test's
                self.raw_cancelled += 1
            raise

    async def _stream(self, s: Script, chat: bool, model: str, usage: bool = False) -> AsyncIterator[bytes]:
        self.streams_started += 1
        obj = "chat.completion.chunk" if chat else "text_completion"

        def event(choice: dict[str, Any]) -> bytes:
            data = {"id": "up-stream", "object": obj, "created": 1, "model": model, "choices": [choice]}
            return f"data: {json.dumps(data)}\n\n".encode()

        try:
            if s.texts is not None:
                async for piece in self._choices(s, chat, event):
                    yield piece
                if usage:
                    data = {"id": "up-stream", "object": obj, "created": 1, "model": model, "choices": [], "usage": USAGE}
                    yield f"data: {json.dumps(data)}\n\n".encode()
                yield b"data: [DONE]\n\n"
                self.streams_completed += 1
                return
            if chat:
                yield event({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None})
            if chat and s.reasoning is not None:
                for word in s.reasoning.split(" "):
                    yield event({"index": 0, "delta": {"reasoning_content": word + " "}, "finish_reason": None})
            if chat and s.tool_calls is not None:
                for i, call in enumerate(s.tool_calls):
                    if s.tool_argument_chunks is None:
                        yield event({"index": 0, "delta": {"tool_calls": [{"index": i, **call}]}, "finish_reason": None})
                        continue
                    head = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
                    yield event({"index": 0, "delta": {"tool_calls": [{"index": i, **head}]}, "finish_reason": None})
                    for fragment in s.tool_argument_chunks:
                        if s.chunk_delay_s:
                            await asyncio.sleep(s.chunk_delay_s)
                        yield event({"index": 0, "delta": {"tool_calls": [{"index": i, "function": {"arguments": fragment}}]},
                                     "finish_reason": None})
            for n, piece in enumerate(s.pieces()):
                if s.fail_after_chunks is not None and n >= s.fail_after_chunks:
                    raise ConnectionResetError("scripted mid-stream failure")
                if s.hold is not None and n == s.hold_after_chunks:
                    await asyncio.to_thread(s.hold.wait, 60)
                if s.chunk_delay_s:
                    await asyncio.sleep(s.chunk_delay_s)
                choice = {"index": 0, "delta": {"content": piece}} if chat else {"index": 0, "text": piece}
                yield event({**choice, "finish_reason": None})
            last = {"index": 0, "delta": {}} if chat else {"index": 0, "text": ""}
            yield event({**last, "finish_reason": "tool_calls" if s.tool_calls else s.finish_reason})
            if usage:
                data = {"id": "up-stream", "object": obj, "created": 1, "model": model, "choices": [], "usage": USAGE}
                yield f"data: {json.dumps(data)}\n\n".encode()
            yield b"data: [DONE]\n\n"
            self.streams_completed += 1
        except (asyncio.CancelledError, GeneratorExit):
            self.streams_cancelled += 1
            raise


    async def _choices(self, s: Script, chat: bool, event: Any) -> AsyncIterator[bytes]:
        """Every choice of ``s.texts``, word by word, interleaved (one choice per chunk, as vLLM sends them)."""
        assert s.texts is not None
        pieces = [_words(t) for t in s.texts]
        if chat:
            for i in range(len(pieces)):
                yield event({"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None})
        for n in range(max(len(p) for p in pieces)):
            if s.hold is not None and n == s.hold_after_chunks:
                await asyncio.to_thread(s.hold.wait, 60)
            for i, words in enumerate(pieces):
                if n < len(words):
                    if s.chunk_delay_s:
                        await asyncio.sleep(s.chunk_delay_s)
                    yield event({"index": i, **({"delta": {"content": words[n]}} if chat else {"text": words[n]}),
                                 "finish_reason": None})
        for i in range(len(pieces)):
            yield event({"index": i, **({"delta": {}} if chat else {"text": ""}), "finish_reason": s.finish_reason})


class ServerThread:
    """Runs an ASGI app with uvicorn on 127.0.0.1 (a free port) in a thread; a context manager.

    A sidecar app is served as ``guardrails serve`` serves it (its connection timeouts applied), unless
    ``plain`` asks for uvicorn's own defaults, as a third-party server would run it.
    """

    def __init__(self, app: Any, *, port: int = 0, host: str = "127.0.0.1", plain: bool = False, **options: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))  # host: "0.0.0.0" for a client in a container
        self.port = self.sock.getsockname()[1]
        sidecar = getattr(getattr(app, "state", None), "sidecar", None)
        if sidecar is not None and not plain:
            from guardrails.server.protocol import uvicorn_options

            options = {**uvicorn_options(sidecar.config), **options}
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5, **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# Fixtures for sidecar test modules: `from tests.helpers.scripted_upstream import fresh_script, upstream`.
@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[ScriptedUpstream, ServerThread]]:
    """One scripted upstream on a real server per test module."""
    scripted = ScriptedUpstream()
    with ServerThread(scripted.app()) as server:
        yield scripted, server


@pytest.fixture(autouse=True)
def fresh_script(upstream: tuple[ScriptedUpstream, ServerThread]) -> None:
    """Every test of a module that imports this starts from the default script."""
    upstream[0].reset()
