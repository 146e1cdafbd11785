"""The OpenAI-compatible proxy: check input, forward upstream, moderate the answer (also while it streams)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Iterator, TypeVar

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from guardrails.server import openai_bodies as bodies
from guardrails.server import sse
from guardrails.server._http import ApiError, loads, read_json
from guardrails.server.messages import parse_messages, refuse_uncheckable
from guardrails.server.state import AppState, GuardHandle, Sidecar, check_units
from guardrails.server.template_inputs import apply_template_inputs, read_template_inputs
from guardrails.streaming import OutputStream
from guardrails.tool_stream import ToolArgumentsStream, check_tool_call, checked_call
from guardrails.types import Action, Context, Message, Stage
from guardrails.verdict import Verdict

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A client's X-Request-Id is logged and echoed only when it cannot hold a card, phone or account number.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_DIGIT_RUN = re.compile(r"[0-9]{6}")
_SEPARATORS = re.compile(r"[._-]")
# What of an upstream's error event is logged: its type, when it looks like an identifier.
_ERROR_TYPE = re.compile(r"[A-Za-z0-9_.]{1,64}")
# What of a non-SSE streaming answer is logged: its media type, when it looks like one.
_MEDIA_TYPE = re.compile(r"[a-z0-9.+-]{1,64}/[a-z0-9.+-]{1,64}")
# The most choices (``n``) one request may ask for, as OpenAI's API allows.
MAX_CHOICES = 128


@dataclass(frozen=True)
class Kind:
    """What differs between /chat/completions and /completions."""

    endpoint: str
    path: str
    chat: bool  # the bodies' object names follow from it (see openai_bodies)
    # Generated-text fields, each moderated on its own; the first is the answer. Reasoning models
    # (vLLM's reasoning parsers) add their thinking as reasoning_content / reasoning.
    text_keys: tuple[str, ...]


CHAT = Kind("chat.completions", "/chat/completions", True, ("content", "reasoning_content", "reasoning"))
COMPLETIONS = Kind("completions", "/completions", False, ("text",))


def request_id_of(request: Request) -> str:
    """The client's X-Request-Id when it is a safe token (8-64 of [A-Za-z0-9._-], no run of 6 or more digits
    even across separators, not all digits), else a fresh one: a client id is logged, so it must not carry PII."""
    given = request.headers.get("x-request-id")
    if given and _REQUEST_ID.fullmatch(given) and not given.isdigit() and not _DIGIT_RUN.search(_SEPARATORS.sub("", given)):
        return given
    return uuid.uuid4().hex


_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")


def locale_of(request: Request) -> str | None:
    """The client's preferred language (first tag of ``Accept-Language``): picks a category's
    ``respond`` message. Anything that is not a plain language tag is ignored."""
    first = (request.headers.get("accept-language") or "").split(",")[0].split(";")[0].strip()
    return first if _LOCALE.fullmatch(first) else None


async def completions(sc: Sidecar, request: Request, kind: Kind) -> Response:
    """Handle one (chat) completion request end to end."""
    rid = request_id_of(request)
    headers = {"x-request-id": rid}
    app = sc.authenticate(request.headers.get("authorization"))
    request.state.app = app.name
    try:
        body = await read_json(request, app.config.limits.max_body_bytes, sc.config.timeouts.body_s)
        app.acquire()  # only once the body is in: a client slow to send it holds no slot
    except ApiError as err:
        return err.response(headers)
    released = False
    try:
        _apply_limits(body, app)
        stream = bool(body.get("stream"))
        if "stream" in body:
            body["stream"] = stream  # the upstream and the sidecar agree on whether this is a stream
        handle = app.handle  # this request keeps this policy even if a reload swaps it meanwhile
        ctx = Context(request_id=rid, locale=locale_of(request), filter_times=[], metadata={"app": app.name})

        verdict = await _check_input(sc, app, handle, body, ctx, kind)
        if verdict is not None and not verdict.allowed:
            return _blocked(handle, app, body, kind, stream, rid, headers, verdict)

        if stream:
            response = await _forward_stream(sc, app, handle, body, ctx, kind, headers, request)
            released = isinstance(response, StreamingResponse)  # then the stream releases the slot when it ends
            return response
        return await _forward(sc, app, handle, body, ctx, kind, headers, request)
    except ApiError as err:
        return err.response(headers)
    finally:
        if not released:
            app.release()


# -- input --------------------------------------------------------------------------------------


def choices_asked(body: dict[str, Any]) -> int:
    """The request's ``n`` (1 when absent); a 400 unless it is an integer from 1 to MAX_CHOICES."""
    n = body.get("n")
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHOICES:
        raise ApiError(400, f"'n' must be an integer from 1 to {MAX_CHOICES}", param="n", code="invalid_value")
    return n


def usage_asked(body: dict[str, Any]) -> bool:
    """Whether a streaming client asked for the final usage chunk (``stream_options.include_usage``)."""
    options = body.get("stream_options")
    return bool(body.get("stream")) and isinstance(options, dict) and options.get("include_usage") is True


def _apply_limits(body: dict[str, Any], app: AppState) -> None:
    choices_asked(body)
    cap = app.config.limits.max_tokens
    if cap is None:
        return
    for key in ("max_tokens", "max_completion_tokens"):
        value = body.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value > cap):
            raise ApiError(400, f"{key} must be an integer of at most {cap} for this app", param=key, code="invalid_value")
    if body.get("max_tokens") is None and body.get("max_completion_tokens") is None:
        body["max_tokens"] = cap


def _bound_input(app: AppState, count: int, chars: int, param: str) -> None:
    """413 for more messages (or prompts) or more text to check than the app's limits allow."""
    limits = app.config.limits
    what = "messages" if param == "messages" else "prompts"
    if count > limits.max_messages:
        raise ApiError(413, f"too many {what} in one request ({count}; this app accepts at most {limits.max_messages})",
                       param=param, code="too_many_messages")
    if chars > limits.max_check_chars:
        raise ApiError(413, f"too much text in one request ({chars} characters; this app checks at most "
                            f"{limits.max_check_chars})", param=param, code="input_too_large")


def _prompts(body: dict[str, Any]) -> list[str]:
    prompt = body.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        # Token-id prompts cannot be checked: refuse them rather than let them pass unseen.
        raise ApiError(400, "'prompt' must be a string or a list of strings", param="prompt")
    return prompts


async def _check_input(sc: Sidecar, app: AppState, handle: GuardHandle, body: dict[str, Any], ctx: Context,
                       kind: Kind) -> Verdict | None:
    guard = handle.guard
    refuse_uncheckable(body)
    if kind.chat:
        messages = body.get("messages")
        _bound_input(app, len(messages) if isinstance(messages, list) else 0, 0, "messages")  # before any parsing
        parsed = parse_messages(messages)
        extras = read_template_inputs(body)  # tools, documents, chat_template_kwargs: rendered too
        _bound_input(app, len(parsed.checked), parsed.chars + (extras.chars if extras else 0), "messages")
        verdict = await sc.run(handle, guard.check_input, parsed.checked, ctx=ctx,
                               size=check_units(parsed.chars, len(parsed.checked)))
        sc.record(app, verdict, ctx, kind.endpoint)
        if verdict.allowed and extras is not None:
            extra = await sc.run(handle, guard.check_input, [extras.message()], ctx=ctx, size=check_units(extras.chars, 1))
            sc.record(app, extra, ctx, kind.endpoint, field=extras.fields)
            if not extra.allowed:
                return extra
            apply_template_inputs(extras, body, extra)
        if verdict.allowed and verdict.action is Action.REDACT:
            parsed.apply(verdict)  # in place: media parts and every other field stay as sent
        return verdict
    prompts = _prompts(body)
    _bound_input(app, len(prompts), sum(len(p) for p in prompts), "prompt")
    worst: Verdict | None = None
    redacted = []
    for p in prompts:
        verdict = await sc.run(handle, guard.check_input, p, ctx=ctx, size=check_units(len(p), 1))
        sc.record(app, verdict, ctx, kind.endpoint)
        redacted.append(verdict.text)
        if worst is None or verdict.action.rank > worst.action.rank:
            worst = verdict
        if not verdict.allowed:
            return verdict
    if worst is not None and worst.action is Action.REDACT:
        body["prompt"] = redacted[0] if isinstance(body.get("prompt"), str) else redacted
    return worst


# -- blocked answers ----------------------------------------------------------------------------


def _blocked(handle: GuardHandle, app: AppState, body: dict[str, Any], kind: Kind, stream: bool, rid: str,
             headers: dict[str, str], verdict: Verdict) -> Response:
    """The answer to a blocked prompt: the policy's refusal, or the category's message (action respond), once per
    choice the client asked for (``n``; times the prompts of a /completions list), with the usage chunk when asked."""
    if app.config.block_style == "error" and verdict.response is None:
        return _block_error("input", rid).response(headers)
    model: str = body["model"] if isinstance(body.get("model"), str) else "guardrails"
    cid, created, text = bodies.completion_id(kind.chat, f"guardrails-{rid}"), int(time.time()), handle.guard.reply(verdict)
    prompt = body.get("prompt")
    n = choices_asked(body) * (len(prompt) if not kind.chat and isinstance(prompt, list) else 1)
    if not stream:
        return JSONResponse(bodies.refusal(cid, chat=kind.chat, created=created, model=model, text=text, n=n),
                            headers=headers)

    async def events() -> AsyncIterator[bytes]:
        for event in bodies.refusal_events(cid, chat=kind.chat, created=created, model=model, text=text, n=n,
                                           include_usage=usage_asked(body)):
            yield event

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _block_error(stage: str, rid: str) -> ApiError:
    what = "request" if stage == "input" else "response"
    # OpenAI's code for what its safety system rejects. LiteLLM maps it to ContentPolicyViolationError by the
    # error's text: the code with openai SDKs that print the body, this phrase with those that print the message.
    return ApiError(400, f"The request was rejected as a result of the safety system: the {what} was blocked by "
                    f"the content policy (request id {rid}).", code="content_policy_violation",
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


def _stream_error(sc: Sidecar, app: AppState, code: str, message: str) -> bytes:
    sc.metrics.upstream_errors.labels(app.name, code.removeprefix("upstream_")).inc()
    return bodies.error_event(ApiError(502, message, type="upstream_error", code=code).body())


def _error_from_status(sc: Sidecar, app: AppState, status: int, content: bytes) -> Response:
    """Pass an upstream 4xx through (it is about the request); turn a 5xx into a 502."""
    try:
        data = loads(content)
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


async def _client_gone(request: Request) -> None:
    """Return once the client has disconnected (its body was already read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _bounded(sc: Sidecar, app: AppState, request: Request, work: Awaitable[T], rid: str) -> T:
    """Await ``work`` within the app's ``limits.timeout_s`` (504 after), cancelling it when the client leaves
    (499). Cancelling closes the upstream connection, which makes vLLM abort the generation."""
    timeout_s = app.config.limits.timeout_s
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        done, _ = await asyncio.wait({task, gone}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, gone):
            t.cancel()
        await asyncio.gather(task, gone, return_exceptions=True)
    if task in done:
        try:
            return task.result()
        except (httpx.HTTPError, OSError) as exc:
            raise _upstream_error(sc, app, exc, timeout_s) from None
    if gone in done:
        logger.info("request %s: the client disconnected; the upstream request was cancelled", rid)
        raise ApiError(499, "The client closed the connection.", code="client_disconnected")
    raise _upstream_error(sc, app, TimeoutError(), timeout_s)


async def _read_capped(sc: Sidecar, app: AppState, resp: httpx.Response) -> bytes:
    """The whole upstream body, at most ``limits.max_response_bytes`` (a 502 beyond, never unbounded buffering)."""
    limit = app.config.limits.max_response_bytes
    declared = resp.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0
    chunks: list[bytes] = []
    if size <= limit:
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
    if size > limit:
        sc.metrics.upstream_errors.labels(app.name, "too_large").inc()
        logger.warning("upstream answer for app %s is larger than max_response_bytes (%d)", app.name, limit)
        raise ApiError(502, f"The upstream model server sent an answer larger than {limit} bytes.",
                       type="upstream_error", code="upstream_response_too_large")
    return b"".join(chunks)


async def _exchange(sc: Sidecar, app: AppState, request: Request, method: str, path: str, rid: str,
                    body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    """One whole upstream exchange (status and bounded body) under the app's deadline, cancelled if the client leaves."""

    async def whole() -> tuple[int, bytes]:
        assert sc.client is not None
        req = sc.client.build_request(method, app.upstream + path, json=body, headers=sc.upstream_headers(rid),
                                      timeout=_timeout(sc, app.config.limits.timeout_s))
        resp = await sc.client.send(req, stream=True)
        try:
            return resp.status_code, await _read_capped(sc, app, resp)
        finally:
            await resp.aclose()

    return await _bounded(sc, app, request, whole(), rid)


async def _forward(sc: Sidecar, app: AppState, handle: GuardHandle, body: dict[str, Any], ctx: Context, kind: Kind,
                   headers: dict[str, str], request: Request) -> Response:
    start = time.perf_counter()
    status, content = await _exchange(sc, app, request, "POST", kind.path, ctx.request_id, body)
    sc.metrics.child(sc.metrics.upstream_latency, app.name, kind.endpoint).observe(time.perf_counter() - start)
    if status >= 400:
        out = _error_from_status(sc, app, status, content)
        out.headers.update(headers)
        return out
    try:
        data = loads(content)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        sc.metrics.upstream_errors.labels(app.name, "bad_response").inc()
        raise ApiError(502, "The upstream model server sent an answer that is not an OpenAI completion.",
                       type="upstream_error", code="upstream_bad_response")
    for choice in data["choices"]:
        if isinstance(choice, dict):
            await _judge_choice(sc, app, handle, ctx, kind, choice)
    return JSONResponse(data, headers=headers)


async def _judge_choice(sc: Sidecar, app: AppState, handle: GuardHandle, ctx: Context, kind: Kind,
                        choice: dict[str, Any]) -> None:
    """Check one choice of a whole answer on its own: each text field, then its tool calls; a block replaces
    the choice with the refusal (finish_reason content_filter), a redaction rewrites the text or the arguments."""
    guard = handle.guard
    holder = choice.get("message") if kind.chat else choice
    if not isinstance(holder, dict):
        return
    for key in kind.text_keys:
        if not isinstance(holder.get(key), str):
            continue  # e.g. a tool call with no text
        verdict = await sc.run(handle, guard.check_output, holder[key], ctx=ctx, size=len(holder[key]))
        sc.record(app, verdict, ctx, kind.endpoint, field=key)
        if not verdict.allowed:
            _refuse_choice(app, handle, kind, choice, holder, verdict, ctx.request_id)
            return
        if verdict.text != holder[key]:
            holder[key] = verdict.text
            choice["logprobs"] = None  # token logprobs would spell out what was redacted
    calls = _tool_calls_of(holder) if kind.chat else None
    if not calls:
        return
    message = {"role": "assistant", "content": "", "tool_calls": [call for _, call in calls]}
    size = sum(len(c["function"]["name"]) + len(c["function"]["arguments"]) for _, c in calls)
    verdict = await sc.run(handle, guard.check, [message], Stage.OUTPUT, ctx=ctx, size=check_units(size, len(calls)))
    sc.record(app, verdict, ctx, kind.endpoint, field="tool_calls")
    if not verdict.allowed:
        _refuse_choice(app, handle, kind, choice, holder, verdict, ctx.request_id)
        return
    # Redactions, and placeholders of action pseudonymize restored to the user's own values.
    checked = (verdict.messages or [{}])[0].get("tool_calls")
    if not isinstance(checked, list) or len(checked) != len(calls):
        return
    for (original, _), redacted in zip(calls, checked):
        fn = redacted.get("function") if isinstance(redacted, dict) else None
        if isinstance(fn, dict):
            for field in ("name", "arguments"):
                if isinstance(fn.get(field), str) and fn[field] != _call_text(original["function"].get(field)):
                    original["function"][field] = fn[field]
                    choice["logprobs"] = None


def _call_text(value: Any) -> str:
    """A tool call's name or arguments as the checks read it: JSON arguments given as an object, as JSON text."""
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _tool_calls_of(holder: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each function call of a whole answer's message, with its checked form (name and arguments as text)."""
    calls = holder.get("tool_calls")
    out = []
    for call in calls if isinstance(calls, list) else []:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            checked = {"type": "function",
                       "function": {"name": _call_text(fn.get("name")), "arguments": _call_text(fn.get("arguments"))}}
            out.append((call, checked))
    return out


def _refuse_choice(app: AppState, handle: GuardHandle, kind: Kind, choice: dict[str, Any], holder: dict[str, Any],
                   verdict: Verdict, rid: str) -> None:
    """Replace a blocked choice by the refusal (or the category's message); ``block_style: error`` answers 400."""
    if app.config.block_style == "error" and verdict.response is None:
        raise _block_error("output", rid)
    for other in kind.text_keys[1:]:
        if other in holder:
            holder[other] = None  # blocked reasoning is dropped with the answer
    holder.pop("tool_calls", None)  # and so are its tool calls
    holder[kind.text_keys[0]] = handle.guard.reply(verdict)
    choice["finish_reason"] = "content_filter"
    choice["logprobs"] = None


def _timeout(sc: Sidecar, total_s: float) -> httpx.Timeout:
    opts = sc.config.upstream_options
    return httpx.Timeout(min(opts.read_timeout_s, total_s), connect=min(opts.connect_timeout_s, total_s))


async def _forward_stream(sc: Sidecar, app: AppState, handle: GuardHandle, body: dict[str, Any], ctx: Context, kind: Kind,
                          headers: dict[str, str], request: Request) -> Response:
    assert sc.client is not None
    timeout_s = app.config.limits.timeout_s
    start = time.perf_counter()
    deadline = asyncio.get_running_loop().time() + timeout_s
    upstream_request = sc.client.build_request("POST", app.upstream + kind.path, json=body,
                                               headers=sc.upstream_headers(ctx.request_id),
                                               timeout=_timeout(sc, timeout_s))
    resp = await _bounded(sc, app, request, sc.client.send(upstream_request, stream=True), ctx.request_id)
    sc.metrics.child(sc.metrics.upstream_latency, app.name, kind.endpoint).observe(time.perf_counter() - start)
    if resp.status_code >= 400:
        try:
            content = await _bounded(sc, app, request, _read_capped(sc, app, resp), ctx.request_id)
        except ApiError as err:
            if err.code == "client_disconnected":
                raise
            content = b""
        finally:
            await resp.aclose()
        out = _error_from_status(sc, app, resp.status_code, content)
        out.headers.update(headers)
        return out
    media = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "text/event-stream":
        await resp.aclose()  # its body is never read: it may hold anything
        logger.warning("request %s: the upstream answered a streaming request with HTTP %d and content type %s, "
                       "not an event stream", ctx.request_id, resp.status_code,
                       media if _MEDIA_TYPE.fullmatch(media) else "unknown")
        error = _stream_error(sc, app, "upstream_not_sse", "The upstream model server did not answer with an event stream.")

        async def failed() -> AsyncIterator[bytes]:
            yield error
            yield sse.DONE_EVENT

        return StreamingResponse(failed(), media_type="text/event-stream", headers=headers,
                                 background=BackgroundTask(app.release))
    moderator = _StreamModerator(sc, app, handle, ctx, kind, body, resp, deadline=deadline)
    # The background task also runs when the client left before the body started.
    return StreamingResponse(moderator.run(), media_type="text/event-stream", headers=headers,
                             background=BackgroundTask(moderator.close))


def _index(choice: dict[str, Any]) -> int:
    index = choice.get("index", 0)
    return index if isinstance(index, int) and not isinstance(index, bool) else 0


def _arguments_key(k: int) -> str:
    """The slot name of tool call ``k``'s arguments (also the audit record's ``field``)."""
    return f"tool_calls[{k}].function.arguments"


@dataclass
class _ToolCall:
    """One streamed tool call of one choice: the fields of its first fragment (id, type), its name as it
    arrived, and whether its head (id, type, name) went out."""

    k: int
    head: dict[str, Any]
    name: str = ""
    announced: bool = False


def _add_fragment(fragments: dict[int, dict[str, Any]], call: _ToolCall, name: str | None, arguments: str) -> None:
    """Queue what of tool call ``call`` goes out in this chunk: its head once its name is checked, then the
    arguments released so far (nothing while they are held)."""
    if not call.announced and name is None and not arguments:
        return
    out = fragments.setdefault(call.k, {"index": call.k})
    fn = out.setdefault("function", {})
    if not call.announced:
        out.update({key: value for key, value in call.head.items() if key not in out})
        call.announced = True
    if name is not None:
        fn["name"] = fn.get("name", "") + name
    fn["arguments"] = fn.get("arguments", "") + arguments
    out["function"] = out.pop("function")  # index, id, type, then function: the order OpenAI writes


class _StreamModerator:
    """Re-emits an upstream SSE stream, each choice's text fields and tool calls' arguments passed through their
    own OutputStream. A block cuts only its choice; the stream ends early once every choice is cut."""

    def __init__(self, sc: Sidecar, app: AppState, handle: GuardHandle, ctx: Context, kind: Kind, body: dict[str, Any],
                 resp: httpx.Response, deadline: float) -> None:
        self.sc, self.app, self.handle, self.ctx, self.kind = sc, app, handle, ctx, kind
        self.resp = resp
        self.deadline = deadline  # on the event loop's clock
        self.closed = False
        self.streams: dict[tuple[int, str], OutputStream] = {}  # (choice, text key or a tool call's arguments)
        self.calls: dict[tuple[int, str], _ToolCall] = {}  # the same slots, for tool calls
        self.recorded: set[tuple[int, str]] = set()
        self.seen: set[int] = set()  # choice indexes the upstream sent
        self.finished: set[int] = set()  # ... and those it gave a finish_reason
        self.cut: set[int] = set()  # ... and those a check cut
        prompt = body.get("prompt")
        self.choices = choices_asked(body) * (len(prompt) if not kind.chat and isinstance(prompt, list) else 1)
        self.include_usage = usage_asked(body)
        self.usage: Any = None  # the latest usage the upstream sent
        self.usage_chunk: dict[str, Any] | None = None  # the upstream's own usage chunk, sent last
        self.template = bodies.envelope(f"guardrails-{ctx.request_id}", chat=kind.chat, created=int(time.time()),
                                        model=body.get("model", ""))

    def _options(self) -> dict[str, Any]:
        cfg = self.sc.config  # its stream_* override the app policy's `stream:` (guardrails.streaming)
        return {"hold_chars": cfg.stream_hold_chars, "check_every": cfg.stream_check_every}

    def _stream(self, slot: tuple[int, str]) -> OutputStream:
        st = self.streams.get(slot)
        if st is None:
            call = self.calls.get(slot)
            if call is not None:
                st = ToolArgumentsStream(self.handle.guard, call.name, ctx=self.ctx, **self._options())
            else:
                st = self.handle.guard.stream(ctx=self.ctx, **self._options())
            self.streams[slot] = st
        return st

    async def _push(self, st: OutputStream, text: str) -> str:
        out = await self.sc.run(self.handle, st.push, text, size=len(text) + st.window_chars)
        self.sc.flush_timings(self.app, "output", self.ctx)
        return out

    async def _finish(self, slot: tuple[int, str], st: OutputStream) -> str:
        out = await self.sc.run(self.handle, st.finish, size=st.length)
        self._record(slot, st)
        return out

    def _record(self, slot: tuple[int, str], st: OutputStream) -> None:
        if slot in self.recorded or st.verdict is None:
            return
        self.recorded.add(slot)
        self.sc.record(self.app, st.verdict, self.ctx, self.kind.endpoint, stream=True, checks=st.checks, field=slot[1])

    def _chunk(self, choices: list[dict[str, Any]]) -> bytes:
        return bodies.chunk_event(self.template, choices)

    def _cut_choice(self, index: int, verdict: Verdict) -> dict[str, Any]:
        """The last event of a choice that turned bad: finish_reason content_filter, with the category's
        message as the final text when the block's action is respond."""
        self.cut.add(index)
        fields = {self.kind.text_keys[0]: verdict.response} if verdict.response else {}
        return bodies.closing_choice(index, bodies.CONTENT_FILTER, fields, chat=self.kind.chat)

    def _all_cut(self) -> bool:
        return bool(self.cut) and self.cut >= self.seen | set(range(self.choices))

    def _end(self) -> Iterator[bytes]:
        """The usage chunk (the upstream's, or one built from the latest usage it sent, zeros when none), when the
        upstream sent one or the client asked for it; then ``[DONE]``."""
        if self.usage_chunk is not None:
            yield bodies.chunk_event(self.usage_chunk, [])
        elif self.include_usage:
            usage = self.usage if isinstance(self.usage, dict) else bodies.usage()
            yield bodies.usage_event(self.template, usage)
        yield sse.DONE_EVENT

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

    async def _choice(self, choice: dict[str, Any]) -> dict[str, Any] | Verdict | None:
        """The moderated choice to emit, None to hold it back, or the blocking verdict when a block is certain."""
        kind = self.kind
        index = _index(choice)
        holder = choice.get("delta") if kind.chat else choice
        holder = holder if isinstance(holder, dict) else {}
        emits: dict[str, str] = {}
        fragments: dict[int, dict[str, Any]] = {}  # tool call index -> what of it goes out now
        had_text = False
        for key in kind.text_keys:
            piece = holder.get(key)
            if isinstance(piece, str) and piece:
                had_text = True
                st = self._stream((index, key))
                emits[key] = await self._push(st, piece)
                if st.blocked:
                    self._record((index, key), st)
                    return st.verdict
        calls = holder.get("tool_calls") if kind.chat else None
        if isinstance(calls, list):
            had_text = True
            for fragment in calls:
                blocked = await self._tool_fragment(index, fragment, fragments)
                if blocked is not None:
                    return blocked
        finish = choice.get("finish_reason")
        if finish is not None:
            for slot, st in list(self.streams.items()):
                if slot[0] == index and not st.finished:
                    rest = await self._finish(slot, st)
                    if st.blocked:
                        return st.verdict
                    call = self.calls.get(slot)
                    if call is not None:
                        _add_fragment(fragments, call, None, rest)
                    else:
                        emits[slot[1]] = emits.get(slot[1], "") + rest
        out = dict(choice)
        out["logprobs"] = None  # token logprobs would reveal held or redacted text
        if kind.chat:
            delta = dict(holder)
            for key in kind.text_keys:
                if key in delta and delta[key] is not None or emits.get(key):
                    delta[key] = emits.get(key, "")
            delta.pop("tool_calls", None)
            if fragments:
                delta["tool_calls"] = [fragments[k] for k in sorted(fragments)]
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

    async def _tool_fragment(self, index: int, fragment: Any, fragments: dict[int, dict[str, Any]]) -> Verdict | None:
        """Check one streamed tool-call fragment of choice ``index``: its name as soon as it arrives, its arguments
        as they grow; queue what may go out. Returns the blocking verdict, if any."""
        if not isinstance(fragment, dict):
            return None  # no client could use it
        k = _index(fragment)
        slot = (index, _arguments_key(k))
        call = self.calls.get(slot)
        if call is None:
            call = self.calls[slot] = _ToolCall(k, {key: fragment[key] for key in ("id", "type") if key in fragment})
        fn = fragment.get("function")
        fn = fn if isinstance(fn, dict) else {}
        name, checked_name = fn.get("name"), None
        if isinstance(name, str) and name:
            call.name += name
            verdict = await self.sc.run(self.handle, check_tool_call, self.handle.guard, call.name, ctx=self.ctx,
                                        size=len(call.name))
            self.sc.record(self.app, verdict, self.ctx, self.kind.endpoint, stream=True,
                           field=f"tool_calls[{k}].function.name")
            if not verdict.allowed:
                return verdict
            redacted = checked_call(verdict)
            checked_name = redacted[0] if redacted is not None and redacted[0] != call.name else name
        arguments, released = fn.get("arguments"), ""
        if isinstance(arguments, str) and arguments:
            st = self._stream(slot)
            released = await self._push(st, arguments)
            if st.blocked:
                self._record(slot, st)
                return st.verdict
        _add_fragment(fragments, call, checked_name, released)
        return None

    def _events(self, resp: httpx.Response) -> AsyncIterator[str]:
        limit = self.app.config.limits.max_event_bytes
        return sse.iter_events(sse.iter_lines(sse.until(resp.aiter_bytes(), self.deadline), limit), limit)

    def _upstream_error_event(self, chunk: dict[str, Any]) -> bytes:
        """A generic error event for an upstream's own: its message may hold internal details; only its type is logged."""
        err = chunk.get("error")
        kind = err.get("type") if isinstance(err, dict) else None
        safe = kind if isinstance(kind, str) and _ERROR_TYPE.fullmatch(kind) else "unknown"
        logger.warning("request %s: the upstream sent an error event (type %s)", self.ctx.request_id, safe)
        return _stream_error(self.sc, self.app, "upstream_stream_error",
                             "The upstream model server failed while generating the answer.")

    def _complete(self, done: bool) -> bool:
        """Whether the upstream ended its stream properly: ``[DONE]``, or a finish_reason for every choice."""
        return done or bool(self.seen) and self.seen <= self.finished

    async def _moderate(self, resp: httpx.Response) -> AsyncIterator[bytes]:
        done = False
        chunks = 0
        try:
            async for data in self._events(resp):
                if data.strip() == sse.DONE:
                    done = True
                    break
                if not data.strip():
                    continue  # an empty event (a keep-alive)
                try:
                    chunk = loads(data)
                except ValueError:
                    raise sse.BadEvent("an upstream event is not JSON") from None
                if not isinstance(chunk, dict):
                    raise sse.BadEvent("an upstream event is not a JSON object")
                chunks += 1
                if "error" in chunk:
                    yield self._upstream_error_event(chunk)
                    yield sse.DONE_EVENT
                    return
                for key in ("id", "created", "model", "system_fingerprint"):
                    if key in chunk:
                        self.template[key] = chunk[key]
                if chunk.get("usage") is not None:
                    self.usage = chunk["usage"]
                if not chunk.get("choices") and isinstance(chunk.get("usage"), dict):
                    self.usage_chunk = chunk  # sent at the end, after anything still held is released
                    continue
                out_choices: list[dict[str, Any]] = []
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict):
                        continue
                    index = _index(choice)
                    self.seen.add(index)
                    if choice.get("finish_reason") is not None:
                        self.finished.add(index)
                    if index in self.cut:
                        continue  # the rest of a cut choice is dropped
                    out = await self._choice(choice)
                    if isinstance(out, Verdict):
                        out_choices.append(self._cut_choice(index, out))
                    elif out:
                        out_choices.append(out)
                if out_choices or not chunk.get("choices"):
                    yield bodies.chunk_event(chunk, out_choices)
                if self._all_cut():
                    for event in self._end():  # nothing more can go out: stop the upstream's generation
                        yield event
                    return
            if not self._complete(done):
                raise sse.Truncated("the upstream stream ended with neither a finish_reason nor [DONE]")
            if not chunks:
                raise sse.BadEvent("the upstream stream ended without a chunk")
            # End of stream without a finish_reason for some choice: release what is still held.
            closing: dict[int, dict[str, Any]] = {}  # choice index -> its closing choice
            tails: dict[int, dict[str, Any]] = {}  # choice index -> {text key or "tool_calls": what was still held}
            fragments: dict[int, dict[int, dict[str, Any]]] = {}
            for slot, st in sorted(self.streams.items()):
                index = slot[0]
                if st.finished or index in self.cut:
                    continue
                rest = await self._finish(slot, st)
                if st.verdict is not None and st.blocked:
                    closing[index] = self._cut_choice(index, st.verdict)
                    continue
                call = self.calls.get(slot)
                if call is not None:
                    _add_fragment(fragments.setdefault(index, {}), call, None, rest)
                elif rest:
                    tails.setdefault(index, {})[slot[1]] = rest
            for index, queued in fragments.items():
                if queued:
                    tails.setdefault(index, {})["tool_calls"] = [queued[k] for k in sorted(queued)]
            for index, fields in tails.items():
                if index not in self.cut:
                    closing[index] = bodies.closing_choice(index, None, fields, chat=self.kind.chat)
            if closing:
                yield self._chunk([closing[index] for index in sorted(closing)])
            for event in self._end():
                yield event
        except sse.StreamError as exc:
            # Held text stays held: what the upstream did not finish is not released.
            logger.warning("request %s: upstream stream failed: %s", self.ctx.request_id, exc.code)
            yield _stream_error(self.sc, self.app, exc.code, exc.message)
            yield sse.DONE_EVENT
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            err = _upstream_error(self.sc, self.app, exc, self.app.config.limits.timeout_s)
            logger.warning("request %s: upstream stream failed: %s", self.ctx.request_id, err.code)
            yield bodies.error_event(err.body())
            yield sse.DONE_EVENT


async def models(sc: Sidecar, request: Request) -> Response:
    """GET /v1/models, passed through from the app's upstream."""
    rid = request_id_of(request)
    headers = {"x-request-id": rid}
    app = sc.authenticate(request.headers.get("authorization"))
    request.state.app = app.name
    try:
        status, content = await _exchange(sc, app, request, "GET", "/models", rid)
    except ApiError as err:
        return err.response(headers)
    if status >= 400:
        return _error_from_status(sc, app, status, content)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


async def guard_check(sc: Sidecar, request: Request) -> Response:
    """POST /v1/guard/check: ``{"text"|"messages", "stage"}`` -> the Verdict JSON of the app's policy."""
    rid = request_id_of(request)
    headers = {"x-request-id": rid}
    app = sc.authenticate(request.headers.get("authorization"))
    request.state.app = app.name
    try:
        body = await read_json(request, app.config.limits.max_body_bytes, sc.config.timeouts.body_s)
        stage = body.get("stage", "input")
        if stage not in ("input", "output"):
            raise ApiError(400, "'stage' must be 'input' or 'output'", param="stage")
        content: str | list[Message]
        if isinstance(body.get("text"), str):
            content = body["text"]
            size = check_units(len(content), 1)
            _bound_input(app, 1, len(content), "text")
        elif body.get("messages") is not None:
            parsed = parse_messages(body["messages"])
            _bound_input(app, len(parsed.checked), parsed.chars, "messages")
            content, size = parsed.checked, check_units(parsed.chars, len(parsed.checked))
        else:
            raise ApiError(400, "give 'text' (a string) or 'messages' (a non-empty list of message objects)")
        handle = app.handle
        ctx = Context(request_id=rid, locale=locale_of(request), filter_times=[], metadata={"app": app.name})
        verdict = await sc.run(handle, handle.guard.check, content, stage, ctx=ctx, size=size)
    except ApiError as err:
        return err.response(headers)
    sc.record(app, verdict, ctx, "guard.check")
    return JSONResponse(verdict.to_dict(), headers=headers)
