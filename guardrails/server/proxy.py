"""The OpenAI-compatible proxy: check input, forward upstream, moderate the answer (also while it streams)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx
from starlette.requests import Request
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response, StreamingResponse

from guardrails.server import sse
from guardrails.server._http import ApiError, read_json
from guardrails.server.state import AppState, GuardHandle, Sidecar
from guardrails.streaming import OutputStream
from guardrails.types import Action, Context, Message, message_text
from guardrails.verdict import Verdict

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


@dataclass(frozen=True)
class Kind:
    """What differs between /chat/completions and /completions."""

    endpoint: str
    path: str
    object: str
    chunk_object: str
    chat: bool
    # Generated-text fields, each moderated on its own; the first is the answer. Reasoning models
    # (vLLM's reasoning parsers) add their thinking as reasoning_content / reasoning.
    text_keys: tuple[str, ...]


CHAT = Kind("chat.completions", "/chat/completions", "chat.completion", "chat.completion.chunk", True,
            ("content", "reasoning_content", "reasoning"))
COMPLETIONS = Kind("completions", "/completions", "text_completion", "text_completion", False, ("text",))


def text_size(content: str | list[Any]) -> int:
    """Characters a check will read: a text, or the text parts of chat messages."""
    if isinstance(content, str):
        return len(content)
    return sum(len(message_text(m)) for m in content if isinstance(m, dict))


def request_id_of(request: Request) -> str:
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


async def completions(sc: Sidecar, request: Request, kind: Kind) -> Response:
    """Handle one (chat) completion request end to end."""
    rid = request_id_of(request)
    headers = {"x-request-id": rid}
    app = sc.authenticate(request.headers.get("authorization"))
    request.state.app = app.name
    app.acquire()
    released = False
    try:
        body = await read_json(request, app.config.limits.max_body_bytes)
        _apply_limits(body, app)
        stream = bool(body.get("stream"))
        handle = app.handle  # this request keeps this policy even if a reload swaps it meanwhile
        ctx = Context(request_id=rid, metadata={"app": app.name, "filter_timings": []})

        verdict = await _check_input(sc, app, handle, body, ctx, kind)
        if verdict is not None and not verdict.allowed:
            return _blocked(handle, app, body, kind, stream, rid, headers, stage="input")

        if stream:
            response = await _forward_stream(sc, app, handle, body, ctx, kind, headers)
            released = isinstance(response, StreamingResponse)  # then the stream releases the slot when it ends
            return response
        return await _forward(sc, app, handle, body, ctx, kind, headers)
    except ApiError as err:
        return err.response(headers)
    finally:
        if not released:
            app.release()


# -- input --------------------------------------------------------------------------------------


def _apply_limits(body: dict[str, Any], app: AppState) -> None:
    cap = app.config.limits.max_tokens
    if cap is None:
        return
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value > cap):
            raise ApiError(400, f"{key} must be an integer of at most {cap} for this app", param=key, code="invalid_value")
    if body.get("max_tokens") is None and body.get("max_completion_tokens") is None:
        body["max_tokens"] = cap


async def _check_input(sc: Sidecar, app: AppState, handle: GuardHandle, body: dict[str, Any], ctx: Context,
                       kind: Kind) -> Verdict | None:
    guard = handle.guard
    if kind.chat:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise ApiError(400, "'messages' must be a non-empty list of message objects", param="messages")
        verdict = await sc.run(handle, guard.check_input, messages, ctx=ctx, size=text_size(messages))
        sc.record(app, verdict, ctx, kind.endpoint)
        if verdict.allowed and verdict.action is Action.REDACT and verdict.messages is not None:
            body["messages"] = verdict.messages
        return verdict
    prompt = body.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        # Token-id prompts cannot be checked: refuse them rather than let them pass unseen.
        raise ApiError(400, "'prompt' must be a string or a list of strings", param="prompt")
    worst: Verdict | None = None
    redacted = []
    for p in prompts:
        verdict = await sc.run(handle, guard.check_input, p, ctx=ctx, size=len(p))
        sc.record(app, verdict, ctx, kind.endpoint)
        redacted.append(verdict.text)
        if worst is None or verdict.action.rank > worst.action.rank:
            worst = verdict
        if not verdict.allowed:
            return verdict
    if worst is not None and worst.action is Action.REDACT:
        body["prompt"] = redacted[0] if isinstance(prompt, str) else redacted
    return worst


# -- blocked answers ----------------------------------------------------------------------------


def _blocked(handle: GuardHandle, app: AppState, body: dict[str, Any], kind: Kind, stream: bool, rid: str,
             headers: dict[str, str], stage: str) -> Response:
    if app.config.block_style == "error":
        return _block_error(stage, rid).response(headers)
    refusal = handle.guard.refusal
    model = body.get("model") if isinstance(body.get("model"), str) else "guardrails"
    cid = f"{'chatcmpl' if kind.chat else 'cmpl'}-guardrails-{rid}"
    created = int(time.time())
    if not stream:
        if kind.chat:
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": refusal},
                                      "logprobs": None, "finish_reason": "content_filter"}
        else:
            choice = {"index": 0, "text": refusal, "logprobs": None, "finish_reason": "content_filter"}
        data = {"id": cid, "object": kind.object, "created": created, "model": model, "choices": [choice],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}
        return JSONResponse(data, headers=headers)

    def chunk(piece: str | None, finish: str | None) -> bytes:
        if kind.chat:
            delta = {"role": "assistant", "content": piece} if piece is not None else {}
            c: dict[str, Any] = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        else:
            c = {"index": 0, "text": piece or "", "logprobs": None, "finish_reason": finish}
        return sse.event({"id": cid, "object": kind.chunk_object, "created": created, "model": model, "choices": [c]})

    async def events() -> AsyncIterator[bytes]:
        yield chunk(refusal, None)
        yield chunk(None, "content_filter")
        yield sse.DONE_EVENT

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _block_error(stage: str, rid: str) -> ApiError:
    what = "request" if stage == "input" else "response"
    return ApiError(400, f"The {what} was blocked by the content policy (request id {rid}).", code="content_filter",
                    param="messages" if stage == "input" else None)


# -- upstream -----------------------------------------------------------------------------------


def _upstream_error(sc: Sidecar, app: AppState, exc: Exception, timeout_s: float) -> ApiError:
    if isinstance(exc, httpx.TimeoutException) or isinstance(exc, TimeoutError):
        sc.metrics.upstream_errors.labels(app.name, "timeout").inc()
        return ApiError(504, f"The upstream model server did not answer in time ({timeout_s:g} s).", type="upstream_error",
                        code="upstream_timeout")
    sc.metrics.upstream_errors.labels(app.name, "unreachable").inc()
    return ApiError(502, f"The upstream model server could not be reached or dropped the connection ({type(exc).__name__}).", type="upstream_error",
                    code="upstream_unreachable")


def _error_from_status(sc: Sidecar, app: AppState, status: int, content: bytes) -> Response:
    """Pass an upstream 4xx through (it is about the request); turn a 5xx into a 502."""
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if 400 <= status < 500:
        if isinstance(data, dict) and isinstance(data.get("error"), (dict, str)):
            return JSONResponse(data, status_code=status)
        return ApiError(status, f"The upstream model server rejected the request (HTTP {status}).",
                        code="upstream_rejected").response()
    sc.metrics.upstream_errors.labels(app.name, f"http_{status}").inc()
    return ApiError(502, f"The upstream model server failed (HTTP {status}).", type="upstream_error",
                    code="upstream_error").response()


async def _forward(sc: Sidecar, app: AppState, handle: GuardHandle, body: dict[str, Any], ctx: Context, kind: Kind,
                   headers: dict[str, str]) -> Response:
    assert sc.client is not None
    timeout_s = app.config.limits.timeout_s
    start = time.perf_counter()
    try:
        resp = await sc.client.post(app.upstream + kind.path, json=body, headers=sc.upstream_headers(ctx.request_id),
                                    timeout=_timeout(sc, timeout_s))
    except (httpx.HTTPError, OSError) as exc:
        raise _upstream_error(sc, app, exc, timeout_s) from None
    sc.metrics.child(sc.metrics.upstream_latency, app.name, kind.endpoint).observe(time.perf_counter() - start)
    if resp.status_code >= 400:
        out = _error_from_status(sc, app, resp.status_code, resp.content)
        out.headers.update(headers)
        return out
    try:
        data = resp.json()
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        sc.metrics.upstream_errors.labels(app.name, "bad_response").inc()
        raise ApiError(502, "The upstream model server sent an answer that is not an OpenAI completion.",
                       type="upstream_error", code="upstream_bad_response")
    guard = handle.guard
    for choice in data["choices"]:
        if not isinstance(choice, dict):
            continue
        holder = choice.get("message") if kind.chat else choice
        if not isinstance(holder, dict):
            continue
        for key in kind.text_keys:
            if not isinstance(holder.get(key), str):
                continue  # e.g. a tool call with no text: passed through untouched
            verdict = await sc.run(handle, guard.check_output, holder[key], ctx=ctx, size=len(holder[key]))
            sc.record(app, verdict, ctx, kind.endpoint, field=key)
            if not verdict.allowed:
                if app.config.block_style == "error":
                    raise _block_error("output", ctx.request_id)
                for other in kind.text_keys[1:]:
                    if other in holder:
                        holder[other] = None  # blocked reasoning is dropped with the answer
                holder[kind.text_keys[0]] = guard.refusal
                choice["finish_reason"] = "content_filter"
                choice["logprobs"] = None
                break
            if verdict.text != holder[key]:
                holder[key] = verdict.text
                choice["logprobs"] = None  # token logprobs would spell out what was redacted
    return JSONResponse(data, headers=headers)


def _timeout(sc: Sidecar, total_s: float) -> httpx.Timeout:
    opts = sc.config.upstream_options
    return httpx.Timeout(min(opts.read_timeout_s, total_s), connect=min(opts.connect_timeout_s, total_s))


async def _forward_stream(sc: Sidecar, app: AppState, handle: GuardHandle, body: dict[str, Any], ctx: Context, kind: Kind,
                          headers: dict[str, str]) -> Response:
    assert sc.client is not None
    timeout_s = app.config.limits.timeout_s
    start = time.perf_counter()
    request = sc.client.build_request("POST", app.upstream + kind.path, json=body,
                                      headers=sc.upstream_headers(ctx.request_id), timeout=_timeout(sc, timeout_s))
    try:
        resp = await sc.client.send(request, stream=True)
    except (httpx.HTTPError, OSError) as exc:
        raise _upstream_error(sc, app, exc, timeout_s) from None
    sc.metrics.child(sc.metrics.upstream_latency, app.name, kind.endpoint).observe(time.perf_counter() - start)
    if resp.status_code >= 400:
        try:
            content = await resp.aread()
        except httpx.HTTPError:
            content = b""
        finally:
            await resp.aclose()
        out = _error_from_status(sc, app, resp.status_code, content)
        out.headers.update(headers)
        return out
    moderator = _StreamModerator(sc, app, handle, ctx, kind, body, resp, deadline=start + timeout_s)
    # The background task also runs when the client left before the body started.
    return StreamingResponse(moderator.run(), media_type="text/event-stream", headers=headers,
                             background=BackgroundTask(moderator.close))


class _StreamModerator:
    """Re-emits an upstream SSE stream, each choice's text fields passed through their own OutputStream."""

    def __init__(self, sc: Sidecar, app: AppState, handle: GuardHandle, ctx: Context, kind: Kind, body: dict[str, Any],
                 resp: httpx.Response, deadline: float) -> None:
        self.sc, self.app, self.handle, self.ctx, self.kind = sc, app, handle, ctx, kind
        self.resp = resp
        self.deadline = deadline
        self.closed = False
        self.streams: dict[tuple[int, str], OutputStream] = {}
        self.recorded: set[tuple[int, str]] = set()
        self.template: dict[str, Any] = {"id": f"guardrails-{ctx.request_id}", "object": kind.chunk_object,
                                         "created": int(time.time()), "model": body.get("model", "")}

    def _stream(self, slot: tuple[int, str]) -> OutputStream:
        st = self.streams.get(slot)
        if st is None:
            cfg = self.sc.config
            st = self.handle.guard.stream(ctx=self.ctx, hold_chars=cfg.stream_hold_chars, check_every=cfg.stream_check_every)
            self.streams[slot] = st
        return st

    async def _push(self, st: OutputStream, text: str) -> str:
        out = await self.sc.run(self.handle, st.push, text, size=len(text) + st.context_chars)
        self.sc.flush_timings(self.app, "output", self.ctx)
        return out

    async def _finish(self, slot: tuple[int, str], st: OutputStream) -> str:
        out = await self.sc.run(self.handle, st.finish, size=len(st.text))
        self._record(slot, st)
        return out

    def _record(self, slot: tuple[int, str], st: OutputStream) -> None:
        if slot in self.recorded or st.verdict is None:
            return
        self.recorded.add(slot)
        self.sc.record(self.app, st.verdict, self.ctx, self.kind.endpoint, stream=True, checks=st.checks, field=slot[1])

    def _chunk(self, choices: list[dict[str, Any]]) -> bytes:
        return sse.event({**self.template, "choices": choices})

    def _cut(self) -> bytes:
        choices = []
        for index in sorted({i for i, _ in self.streams}) or [0]:
            c: dict[str, Any] = {"index": index, "logprobs": None, "finish_reason": "content_filter"}
            if self.kind.chat:
                c["delta"] = {}
            else:
                c["text"] = ""
            choices.append(c)
        return self._chunk(choices)

    async def run(self) -> AsyncIterator[bytes]:
        try:
            async for item in self._moderate(self.resp):
                yield item
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the upstream response (which aborts generation there) and free the app's slot; idempotent."""
        if not self.closed:
            self.closed = True
            self.app.release()
        # Idempotent; called again by the background task when a client disconnect cancelled the first call.
        await self.resp.aclose()

    async def _choice(self, choice: dict[str, Any]) -> dict[str, Any] | None | bool:
        """The moderated choice to emit, None to hold it back, or False when a block is certain."""
        kind = self.kind
        index = choice.get("index", 0) if isinstance(choice.get("index", 0), int) else 0
        holder = choice.get("delta") if kind.chat else choice
        holder = holder if isinstance(holder, dict) else {}
        emits: dict[str, str] = {}
        had_text = False
        for key in kind.text_keys:
            piece = holder.get(key)
            if isinstance(piece, str) and piece:
                had_text = True
                st = self._stream((index, key))
                emits[key] = await self._push(st, piece)
                if st.blocked:
                    self._record((index, key), st)
                    return False
        finish = choice.get("finish_reason")
        if finish is not None:
            for slot, st in list(self.streams.items()):
                if slot[0] == index and not st.finished:
                    emits[slot[1]] = emits.get(slot[1], "") + await self._finish(slot, st)
                    if st.blocked:
                        return False
        out = dict(choice)
        out["logprobs"] = None  # token logprobs would reveal held or redacted text
        if kind.chat:
            delta = dict(holder)
            for key in kind.text_keys:
                if key in delta and delta[key] is not None or emits.get(key):
                    delta[key] = emits.get(key, "")
            others = any(k not in kind.text_keys and v is not None for k, v in delta.items())
            if not any(emits.values()) and not others and finish is None and had_text:
                return None  # held back for now
            out["delta"] = delta
        else:
            text = emits.get("text", "")
            if not text and finish is None and had_text:
                return None
            out["text"] = text
        return out

    async def _moderate(self, resp: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for data in sse.iter_events(resp.aiter_lines()):
                if time.perf_counter() > self.deadline:
                    raise TimeoutError
                if data.strip() == sse.DONE:
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    logger.warning("request %s: dropped an upstream event that is not JSON", self.ctx.request_id)
                    continue
                if not isinstance(chunk, dict):
                    continue
                for key in ("id", "created", "model", "system_fingerprint"):
                    if key in chunk:
                        self.template[key] = chunk[key]
                if "error" in chunk and not chunk.get("choices"):
                    yield sse.event(chunk)
                    yield sse.DONE_EVENT
                    return
                out_choices = []
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict):
                        continue
                    out = await self._choice(choice)
                    if out is False:
                        yield self._cut()
                        yield sse.DONE_EVENT
                        return
                    if out:
                        out_choices.append(out)
                if out_choices or not chunk.get("choices"):
                    yield sse.event({**chunk, "choices": out_choices})
            # End of stream without a finish_reason for some choice: release what is still held.
            tail: dict[int, dict[str, Any]] = {}
            for slot, st in sorted(self.streams.items()):
                if st.finished:
                    continue
                rest = await self._finish(slot, st)
                if st.blocked:
                    yield self._cut()
                    yield sse.DONE_EVENT
                    return
                if rest:
                    c = tail.setdefault(slot[0], {"index": slot[0], "logprobs": None, "finish_reason": None})
                    if self.kind.chat:
                        c.setdefault("delta", {})[slot[1]] = rest
                    else:
                        c["text"] = rest
            if tail:
                yield self._chunk(list(tail.values()))
            yield sse.DONE_EVENT
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            err = _upstream_error(self.sc, self.app, exc, self.app.config.limits.timeout_s)
            logger.warning("request %s: upstream stream failed: %s", self.ctx.request_id, err.code)
            yield sse.event(err.body())
            yield sse.DONE_EVENT


async def models(sc: Sidecar, request: Request) -> Response:
    """GET /v1/models, passed through from the app's upstream."""
    rid = request_id_of(request)
    app = sc.authenticate(request.headers.get("authorization"))
    request.state.app = app.name
    assert sc.client is not None
    try:
        resp = await sc.client.get(app.upstream + "/models", headers=sc.upstream_headers(rid),
                                   timeout=_timeout(sc, app.config.limits.timeout_s))
    except (httpx.HTTPError, OSError) as exc:
        return _upstream_error(sc, app, exc, app.config.limits.timeout_s).response({"x-request-id": rid})
    if resp.status_code >= 400:
        return _error_from_status(sc, app, resp.status_code, resp.content)
    return Response(resp.content, status_code=resp.status_code, media_type="application/json",
                    headers={"x-request-id": rid})


async def guard_check(sc: Sidecar, request: Request) -> Response:
    """POST /v1/guard/check: ``{"text"|"messages", "stage"}`` -> the Verdict JSON of the app's policy."""
    rid = request_id_of(request)
    app = sc.authenticate(request.headers.get("authorization"))
    request.state.app = app.name
    body = await read_json(request, app.config.limits.max_body_bytes)
    stage = body.get("stage", "input")
    if stage not in ("input", "output"):
        raise ApiError(400, "'stage' must be 'input' or 'output'", param="stage")
    content: str | list[Message]
    if isinstance(body.get("text"), str):
        content = body["text"]
    elif isinstance(body.get("messages"), list) and body["messages"] and all(isinstance(m, dict) for m in body["messages"]):
        content = body["messages"]
    else:
        raise ApiError(400, "give 'text' (a string) or 'messages' (a non-empty list of message objects)")
    handle = app.handle
    ctx = Context(request_id=rid, metadata={"app": app.name, "filter_timings": []})
    verdict = await sc.run(handle, handle.guard.check, content, stage, ctx=ctx, size=text_size(content))
    sc.record(app, verdict, ctx, "guard.check")
    return JSONResponse(verdict.to_dict(), headers={"x-request-id": rid})
