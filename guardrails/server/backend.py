"""An in-process transformers backend with an OpenAI-compatible API, for hosts without an inference server.

``guardrails serve --model PATH_OR_HUB_ID --policy P`` runs it on a loopback port and puts the sidecar
in front of it. One generation runs at a time; this is for small deployments and tests, not a vLLM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Generator

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from guardrails.server import openai_bodies as bodies
from guardrails.server import sse
from guardrails.server._http import ApiError, read_json

logger = logging.getLogger(__name__)

MAX_NEW_TOKENS = 2048


@dataclass
class GenParams:
    max_new_tokens: int = 64
    min_new_tokens: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "GenParams":
        def num(key: str, default: float, lo: float, hi: float) -> float:
            value = body.get(key, default)
            if value is None:
                return default
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ApiError(400, f"'{key}' must be a number between {lo:g} and {hi:g}", param=key)
            return float(value)

        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        stop = body.get("stop") or ()
        if isinstance(stop, str):
            stop = (stop,)
        if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) and s for s in stop):
            raise ApiError(400, "'stop' must be a string or a list of strings", param="stop")
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ApiError(400, "'seed' must be an integer", param="seed")
        return cls(
            max_new_tokens=int(num("max_tokens", 64 if max_tokens is None else max_tokens, 1, MAX_NEW_TOKENS)),
            min_new_tokens=int(num("min_tokens", 0, 0, MAX_NEW_TOKENS)),  # vLLM's extension
            temperature=num("temperature", 1.0, 0.0, 2.0),
            top_p=num("top_p", 1.0, 0.0, 1.0),
            seed=seed,
            stop=tuple(stop),
        )


class LocalModel:
    """A causal LM and its tokenizer, loaded with ``load()`` (not at construction)."""

    def __init__(self, model: str, *, name: str | None = None, offline: bool = False) -> None:
        self.key = model
        self.name = name or model.rstrip("/").split("/")[-1]
        self.offline = offline
        self.model: Any = None
        self.tokenizer: Any = None
        self._lock = threading.Lock()  # one generation at a time

    def load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from guardrails.runtime import resolve_model

        path = resolve_model(self.key, offline=self.offline)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path).eval()  # type: ignore[no-untyped-call]

    def prompt_ids(self, body: dict[str, Any], chat: bool) -> Any:
        tok = self.tokenizer
        if chat:
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
                raise ApiError(400, "'messages' must be a non-empty list of message objects", param="messages")
            plain = [{"role": str(m.get("role", "user")), "content": _text(m.get("content"))} for m in messages]
            if getattr(tok, "chat_template", None):
                text = tok.apply_chat_template(plain, add_generation_prompt=True, tokenize=False)
            else:
                text = "".join(f"{m['role']}: {m['content']}\n" for m in plain) + "assistant:"
            return tok(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise ApiError(400, "'prompt' must be a string (this backend takes one prompt per request)", param="prompt")
        return tok(prompt, return_tensors="pt")["input_ids"]

    def _generate_kwargs(self, ids: Any, p: GenParams, cancel: threading.Event | None) -> dict[str, Any]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                stop = cancel is not None and cancel.is_set()
                return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)

        kwargs: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "max_new_tokens": p.max_new_tokens,
            "min_new_tokens": min(p.min_new_tokens, p.max_new_tokens),
            "pad_token_id": self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id,
            "stopping_criteria": StoppingCriteriaList([_Cancelled()]),
        }
        if p.temperature > 0:
            kwargs.update(do_sample=True, temperature=p.temperature, top_p=p.top_p)
        else:
            kwargs.update(do_sample=False)
        if p.seed is not None:
            torch.manual_seed(p.seed)
        return kwargs

    def generate(self, ids: Any, p: GenParams) -> tuple[str, int, str]:
        """The whole completion: (text, completion tokens, finish_reason)."""
        import torch

        with self._lock, torch.inference_mode():
            out = self.model.generate(**self._generate_kwargs(ids, p, None))
        new = out[0, ids.shape[1]:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        text, stopped = _apply_stop(text, p.stop)
        finish = "stop" if stopped or len(new) < p.max_new_tokens else "length"
        return text, int(len(new)), finish

    def stream(self, ids: Any, p: GenParams, cancel: threading.Event) -> Generator[str, None, None]:
        """Text pieces as they are generated; set ``cancel`` to stop early."""
        import torch
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120)
        kwargs = self._generate_kwargs(ids, p, cancel)

        def run() -> None:
            with self._lock, torch.inference_mode():
                try:
                    self.model.generate(**kwargs, streamer=streamer)
                except Exception as exc:  # noqa: BLE001 - ends the stream; the client sees it stop
                    logger.error("generation failed: %s", type(exc).__name__)
                    streamer.end()  # type: ignore[no-untyped-call]

        thread = threading.Thread(target=run, daemon=True, name="guardrails-backend-generate")
        thread.start()
        try:
            yield from streamer
        finally:
            cancel.set()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def _apply_stop(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def create_backend_app(model: LocalModel) -> FastAPI:
    """An OpenAI-compatible app serving ``model`` (loaded at startup if not yet loaded)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if model.model is None:
            await asyncio.to_thread(model.load)
        yield

    app = FastAPI(title="guardrails local backend", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    async def handle(request: Request, chat: bool) -> Response:
        try:
            body = await read_json(request, 1_048_576)
            params = GenParams.from_body(body)
            ids = model.prompt_ids(body, chat)
        except ApiError as err:
            return err.response()
        cid = bodies.completion_id(chat, uuid.uuid4().hex)
        created = int(time.time())
        if body.get("stream"):
            return StreamingResponse(_stream(model, ids, params, chat, cid, created), media_type="text/event-stream")
        try:
            text, n_new, finish = await asyncio.to_thread(model.generate, ids, params)
        except Exception as exc:  # noqa: BLE001
            logger.error("generation failed: %s", type(exc).__name__)
            return ApiError(500, "generation failed", type="server_error").response()
        return JSONResponse(bodies.completion(cid, chat=chat, created=created, model=model.name,
                                              choices=[bodies.choice(text, finish, chat=chat)],
                                              usage=bodies.usage(int(ids.shape[1]), n_new)))

    async def chat(request: Request) -> Response:
        return await handle(request, True)

    async def completions(request: Request) -> Response:
        return await handle(request, False)

    async def models(request: Request) -> Response:
        return JSONResponse(bodies.model_list([model.name], owned_by="guardrails-local"))

    app.add_api_route("/v1/chat/completions", chat, methods=["POST"])
    app.add_api_route("/v1/completions", completions, methods=["POST"])
    app.add_api_route("/v1/models", models, methods=["GET"])
    return app


async def _stream(model: LocalModel, ids: Any, params: GenParams, chat: bool, cid: str, created: int) -> AsyncIterator[bytes]:
    head = bodies.envelope(cid, chat=chat, created=created, model=model.name)

    def event(piece: str | None, finish: str | None, role: bool = False) -> bytes:
        return bodies.chunk_event(head, [bodies.chunk_choice("" if role else piece or None, finish, chat=chat, role=role)])

    cancel = threading.Event()
    pieces = model.stream(ids, params, cancel)
    text = ""
    n_pieces = 0
    finish = "length"
    try:
        if chat:
            yield event(None, None, role=True)
        while True:
            piece = await asyncio.to_thread(next, pieces, None)
            if piece is None:
                break
            n_pieces += 1
            if params.stop:
                before = len(text)
                text += piece
                cut, stopped = _apply_stop(text, params.stop)
                if stopped:
                    if len(cut) > before:
                        yield event(cut[before:], None)
                    finish = "stop"
                    break
            if piece:
                yield event(piece, None)
        if finish != "stop":
            finish = "length" if n_pieces >= params.max_new_tokens else "stop"
        yield event(None, finish)
        yield sse.DONE_EVENT
    finally:
        cancel.set()  # the generation thread stops at its next token
        with contextlib.suppress(ValueError):  # still executing in a worker thread: it ends by itself
            await asyncio.to_thread(pieces.close)


def start_backend_thread(model: LocalModel, host: str = "127.0.0.1") -> tuple[str, Any]:
    """Serve ``model`` on a free loopback port in a daemon thread; returns (base URL ending in /v1, stop())."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_backend_app(model), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="guardrails-backend")
    thread.start()
    deadline = time.monotonic() + 600
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the local model backend did not start (model {json.dumps(model.key)})")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://{host}:{port}/v1", stop
