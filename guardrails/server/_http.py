"""OpenAI-shaped errors, strict JSON parsing and bounded request-body reading."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from guardrails.server import openai_bodies

# Deepest nesting of arrays and objects accepted in a JSON body (requests and upstream answers).
MAX_JSON_DEPTH = 64
# Integers outside [-2**63, 2**64) are refused: no OpenAI field needs them, and huge ones are costly to handle.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_INT_DIGITS = 20


class ApiError(Exception):
    """An error answered to the client as ``{"error": {...}}`` with an HTTP status."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        return openai_bodies.error(self.message, type=self.type, param=self.param, code=self.code)

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        if self.status == 408 or self.code == "request_too_large":  # the rest of the body is unread: no reuse
            headers = {**(headers or {}), "connection": "close"}
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key")


class JsonRejected(ValueError):
    """A JSON document that is well-formed but outside what the sidecar accepts (depth, numbers)."""


def _no_constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not a valid JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected("numbers must be finite")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _INT_DIGITS:
        raise JsonRejected("integers must fit in 64 bits")
    value = int(text)
    if not _INT_MIN <= value <= _INT_MAX:
        raise JsonRejected("integers must fit in 64 bits")
    return value


def _check_depth(value: Any, limit: int) -> None:
    """Raise JsonRejected when arrays/objects nest deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            raise JsonRejected(f"JSON nests deeper than {limit} levels")
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def loads(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON strictly: no NaN/Infinity, finite floats, 64-bit integers, at most ``max_depth`` levels.

    Raises ValueError (JsonRejected for the sidecar's own bounds) for anything else.
    """
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        raise JsonRejected(f"JSON nests deeper than {max_depth} levels") from None
    if isinstance(value, (dict, list)):
        _check_depth(value, max_depth)
    return value


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"request body is larger than {max_bytes} bytes", code="request_too_large")


def body_timeout(timeout_s: float) -> ApiError:
    return ApiError(408, f"The request body was not received within {timeout_s:g} s.", code="request_timeout")


async def _read_body(request: Request, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int, timeout_s: float | None = None) -> dict[str, Any]:
    """The request body as a JSON object, reading at most ``max_bytes`` (413 beyond) within ``timeout_s`` (408)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    try:
        raw = await asyncio.wait_for(_read_body(request, max_bytes), timeout_s)
    except (asyncio.TimeoutError, TimeoutError):
        raise body_timeout(timeout_s or 0) from None
    except ClientDisconnect:
        raise ApiError(499, "The client closed the connection before sending the whole body.",
                       code="client_disconnected") from None
    try:
        data = loads(raw)
    except JsonRejected as exc:
        raise ApiError(400, f"request body is not acceptable JSON: {exc}", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", code="invalid_json")
    return data
