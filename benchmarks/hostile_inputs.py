"""Hostile inputs replayed against a real sidecar: PASS or FAIL per case with a one-line reason; exit 1 on any FAIL.

    .venv/bin/python benchmarks/hostile_inputs.py [--only NAME ...] [--group GROUP] [--list] [--src DIR]

Each case runs against real processes: sidecars started with ``guardrails serve --config`` (default connection
timeouts unless a case sets its own) in front of the tests' scripted upstream, which a case scripts to misbehave.
Cases take seconds, some up to the default body timeout (30 s); the whole run takes a few minutes.

Adding a case (policy-file cases too: alias bombs, regex backtracking, truncated reloads): write a function that
takes the Harness and returns a one-line reason, raising Fail (or using check()) when the sidecar misbehaves, and
register it with ``@case("name", group="policy")``. ``h.sidecar(name, policy=TEXT, **config)`` starts (once) a
sidecar with its own policy file and config; ``h.write_policy(sidecar, TEXT)`` rewrites that file the way deploy
tools do (write, then rename); ``sidecar.log()`` is its log, ``h.upstream.reset(...)`` scripts the upstream.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from _sidecar import Sidecar, cpu_s, scripted_upstream, stop_on_sigterm, workdir  # noqa: E402

POLICY = """version: 1
name: hostile
input:
  - filter: regex
    id: banned
    patterns: ["FORBIDDEN"]
    category: banned
  - filter: secrets
    action: redact
  - filter: pii
    entities: [EMAIL_ADDRESS]
    action: redact
output:
  - filter: regex
    id: banned_out
    patterns: ["FORBIDDEN"]
"""
EMAIL = "jane.roe@example.org"
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
HAN = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主"
       "发年动同工也能下过子说产种面而方后多定行学法所民得经")


class Fail(Exception):
    """The sidecar misbehaved; the message is the one-line reason."""


def check(ok: Any, reason: str) -> None:
    if not ok:
        raise Fail(reason)


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    run: Callable[["Harness"], str]


CASES: dict[str, Case] = {}


def case(name: str, group: str = "sidecar") -> Callable[[Callable[["Harness"], str]], Callable[["Harness"], str]]:
    """Register a case: ``fn(harness) -> reason``; raise Fail(reason) when it fails."""

    def register(fn: Callable[["Harness"], str]) -> Callable[["Harness"], str]:
        CASES[name] = Case(name, group, fn)
        return fn

    return register


class Harness:
    """What a case needs: the scripted upstream, sidecar processes (one per name, started on first use), a work dir."""

    def __init__(self, tmp: Path, upstream: Any, upstream_url: str, src: str | None = None) -> None:
        self.tmp = tmp
        self.upstream = upstream
        self.upstream_url = upstream_url
        self.src = src  # run the sidecars from another checkout (e.g. the code before a fix)
        self._sidecars: dict[str, Sidecar] = {}

    def sidecar(self, name: str = "main", *, policy: str = POLICY, limits: dict[str, Any] | None = None,
                env: dict[str, str] | None = None, **config: Any) -> Sidecar:
        """The sidecar called ``name``, started on first use with ``policy`` (YAML text, or a built-in name)."""
        if name not in self._sidecars:
            ref = policy
            if "\n" in policy:
                ref = str(self.tmp / f"{name}.yaml")
                Path(ref).write_text(policy)
            full = {"upstream": self.upstream_url, "reload_interval_s": 0.5,
                    "audit": {"path": str(self.tmp / f"{name}-audit.jsonl")}, **config,
                    "apps": {"app": {"policy": ref, "limits": limits or {}}}}
            sidecar = self._sidecars[name] = Sidecar(full, workdir=self.tmp, name=name, src=self.src, env=env)
            try:
                sidecar.wait(timeout=120)
            except RuntimeError as exc:
                del self._sidecars[name]
                raise Fail(f"sidecar {name!r} did not start: {str(exc).splitlines()[-1]}") from None
        return self._sidecars[name]

    def write_policy(self, sidecar: Sidecar, text: str) -> None:
        """Rewrite a sidecar's policy file as deploy tools do: a temporary file, then a rename."""
        path = self.tmp / f"{sidecar.config_path.stem}.yaml"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)

    def audit(self, sidecar: Sidecar) -> str:
        path = self.tmp / f"{sidecar.config_path.stem}-audit.jsonl"
        return path.read_text() if path.exists() else ""

    def close(self) -> None:
        for sidecar in self._sidecars.values():
            sidecar.stop()


# -- request helpers ------------------------------------------------------------------------------


def post(sc: Sidecar, body: Any, path: str = "/v1/chat/completions", timeout: float = 120,
         headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(sc.url + path, content=content, headers={"content-type": "application/json", **(headers or {})},
                      timeout=timeout)


def chat(sc: Sidecar, messages: list[Any], **extra: Any) -> httpx.Response:
    return post(sc, {"model": "m", "messages": messages, **extra})


def sse(sc: Sidecar, content: str = "hi") -> list[Any]:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": content}]}
    with httpx.stream("POST", sc.url + "/v1/chat/completions", json=body, timeout=120) as resp:
        return [ln[6:] if ln == "data: [DONE]" else json.loads(ln[6:]) for ln in resp.iter_lines() if ln.startswith("data: ")]


def error_of(resp: httpx.Response) -> dict[str, Any]:
    try:
        err = resp.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise Fail(f"HTTP {resp.status_code} without an OpenAI error body: {resp.text[:80]!r}") from None
    check(isinstance(err, dict) and err.get("message"), f"error body is not OpenAI-shaped: {err!r}"[:120])
    return err  # type: ignore[no-any-return]


def expect_error(resp: httpx.Response, status: int, code: str | None = None) -> str:
    err = error_of(resp)
    check(resp.status_code == status and (code is None or err.get("code") == code),
          f"expected {status} {code or ''}, got {resp.status_code} {err.get('code')}")
    return f"{status} {err.get('code')}: {err['message'][:70]}"


def refused_unforwarded(h: Harness, resp: httpx.Response) -> str:
    forwarded = len(h.upstream.requests)
    if resp.status_code == 200:
        finish = resp.json()["choices"][0]["finish_reason"]
        check(finish == "content_filter" and not forwarded, f"answered ({finish}), forwarded {forwarded} request(s)")
        return "refused (content_filter), nothing forwarded"
    err = error_of(resp)
    check(400 <= resp.status_code < 500 and not forwarded, f"HTTP {resp.status_code}, forwarded {forwarded}")
    return f"{resp.status_code} {err.get('code')}, nothing forwarded"


def connect(sc: Sidecar) -> socket.socket:
    return socket.create_connection(("127.0.0.1", sc.port), timeout=120)


def read_until_closed(sock: socket.socket) -> bytes:
    out = b""
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return out
        if not data:
            return out
        out += data


def trickle(sock: socket.socket, data: bytes, every_s: float) -> threading.Event:
    """Send ``data`` one byte every ``every_s`` seconds from a thread; set the returned event to stop."""
    stop = threading.Event()

    def run() -> None:
        for b in data:
            if stop.wait(every_s):
                return
            try:
                sock.send(bytes([b]))
            except OSError:
                return

    threading.Thread(target=run, daemon=True).start()
    return stop


def status_line(raw: bytes) -> str:
    return raw.split(b"\r\n", 1)[0].decode(errors="replace") if raw else "(closed without an answer)"


# -- 1. content shapes ----------------------------------------------------------------------------


@case("content-bare-string-part")
def _(h: Harness) -> str:
    """A content part that is a bare string is checked."""
    h.upstream.reset()
    return refused_unforwarded(h, chat(h.sidecar(), [{"role": "user", "content": ["say FORBIDDEN"]}]))


@case("content-refusal-part")
def _(h: Harness) -> str:
    h.upstream.reset()
    part = {"type": "refusal", "refusal": "FORBIDDEN"}
    return refused_unforwarded(h, chat(h.sidecar(), [{"role": "assistant", "content": [part]}]))


@case("content-thinking-part")
def _(h: Harness) -> str:
    h.upstream.reset()
    part = {"type": "thinking", "thinking": "FORBIDDEN"}
    return refused_unforwarded(h, chat(h.sidecar(), [{"role": "assistant", "content": [part]}]))


@case("content-tool-call-arguments")
def _(h: Harness) -> str:
    h.upstream.reset()
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"q\": \"\\u0046ORBIDDEN\"}"}}
    return refused_unforwarded(h, chat(h.sidecar(), [{"role": "assistant", "content": None, "tool_calls": [call]}]))


@case("content-object")
def _(h: Harness) -> str:
    """Content given as an object (vLLM would render its keys) is refused."""
    h.upstream.reset()
    return refused_unforwarded(h, chat(h.sidecar(), [{"role": "user", "content": {"FORBIDDEN": 1}}]))


@case("content-unknown-part-type")
def _(h: Harness) -> str:
    h.upstream.reset()
    return refused_unforwarded(h, chat(h.sidecar(), [{"role": "user", "content": [{"type": "mystery", "text": "x"}]}]))


@case("content-image-kept-text-redacted")
def _(h: Harness) -> str:
    h.upstream.reset()
    resp = chat(h.sidecar(), [{"role": "user", "content": [{"type": "text", "text": f"mail {EMAIL}"}, IMAGE]}])
    check(resp.status_code == 200 and h.upstream.requests, f"HTTP {resp.status_code}")
    sent = h.upstream.requests[0]["messages"][0]["content"]
    check(sent[1] == IMAGE, "the image part was changed")
    check(EMAIL not in json.dumps(sent) and sent[0]["text"].startswith("mail <"), f"text part not redacted: {sent[0]}")
    return f"forwarded {sent[0]['text']!r} with the image part untouched"


# -- 2. streamed text without spaces --------------------------------------------------------------


STREAM_POLICY = """version: 1
name: stream
output:
  - filter: secrets
    action: redact
  - filter: pii
    action: redact
"""


@case("stream-cjk-linear")
def _(h: Harness) -> str:
    """Sidecar CPU for 5k and 20k streamed CJK characters: linear (x4), not quadratic (x16)."""
    sc = h.sidecar("stream", policy=STREAM_POLICY)
    cpu = {}
    for n in (5000, 20000):
        text = "".join(HAN[(i * 7) % len(HAN)] for i in range(n))
        h.upstream.reset(chunks=[text[i:i + 2] for i in range(0, n, 2)])
        before = cpu_s(sc.pid)
        chunks = sse(sc, "a story please")
        cpu[n] = cpu_s(sc.pid) - before
        got = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks[:-1] if c.get("choices"))
        check(got == text, f"{n} chars: received {len(got)} characters, not the answer")
    ratio = cpu[20000] / max(cpu[5000], 0.01)
    check(ratio < 8, f"CPU 5k {cpu[5000]:.2f} s, 20k {cpu[20000]:.2f} s: x{ratio:.1f} for x4 the text")
    return f"CPU 5k {cpu[5000]:.2f} s, 20k {cpu[20000]:.2f} s (x{ratio:.1f} for x4 the text)"


# -- 3. slow and idle clients ---------------------------------------------------------------------


@case("idle-connection-closed")
def _(h: Harness) -> str:
    sc = h.sidecar()
    start = time.monotonic()
    with connect(sc) as sock:
        raw = read_until_closed(sock)
    took = time.monotonic() - start
    check(raw == b"" and took < 15, f"closed after {took:.1f} s with {status_line(raw)}")
    return f"closed after {took:.1f} s (timeouts.idle_s 5)"


@case("slowloris-headers")
def _(h: Harness) -> str:
    sc = h.sidecar()
    start = time.monotonic()
    with connect(sc) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        stop = trickle(sock, b"x-slow: " + b"a" * 100_000, 0.5)
        raw = read_until_closed(sock)
        stop.set()
    took = time.monotonic() - start
    check(status_line(raw).startswith("HTTP/1.1 408") and took < 20, f"{status_line(raw)} after {took:.1f} s")
    return f"408 and closed after {took:.1f} s (timeouts.headers_s 10)"


@case("slow-body")
def _(h: Harness) -> str:
    """A body sent one byte every 2 s is cut at timeouts.body_s, not read for minutes."""
    sc = h.sidecar()
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 100}]}).encode()
    h.upstream.reset()
    start = time.monotonic()
    with connect(sc) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(payload))
        stop = trickle(sock, payload, 2.0)
        raw = read_until_closed(sock)
        stop.set()
    took = time.monotonic() - start
    check(status_line(raw).startswith("HTTP/1.1 408") and took < 45, f"{status_line(raw)} after {took:.1f} s")
    check(not h.upstream.requests, "the partial body was forwarded")
    return f"408 and closed after {took:.1f} s (timeouts.body_s 30)"


@case("slow-clients-hold-no-slot")
def _(h: Harness) -> str:
    """Four clients slowly sending bodies do not put an app with max_concurrency 4 at 429."""
    sc = h.sidecar("slots", limits={"max_concurrency": 4})
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "slow"}]}).encode()
    socks = []
    try:
        for _ in range(4):
            sock = connect(sc)
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\n"
                         b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(payload))
            check(sock.recv(100).startswith(b"HTTP/1.1 100"), "no 100 Continue: the request never reached the app")
            sock.sendall(payload[:5])
            socks.append(sock)
        h.upstream.reset()
        resp = chat(sc, [{"role": "user", "content": "hello"}])
        check(resp.status_code == 200, f"a fifth client got HTTP {resp.status_code}")
    finally:
        for sock in socks:
            sock.close()
    return "a fifth client got 200 while four slow bodies were in flight"


# -- 4. cost amplification -----------------------------------------------------------------------


@case("ten-thousand-messages")
def _(h: Harness) -> str:
    sc = h.sidecar()
    start = time.monotonic()
    resp = chat(sc, [{"role": "user", "content": "hi there"}] * 10_000)
    took = time.monotonic() - start
    return expect_error(resp, 413, "too_many_messages") + f" ({took * 1000:.0f} ms)"


def _starvation(h: Harness, sc: Sidecar, heavy: dict[str, Any], accepted: tuple[int, ...],
                max_took: float | None = None) -> str:
    """Send eight ``heavy`` requests at once and small requests meanwhile; the small ones must not wait (and the
    heavy ones must be done within ``max_took`` seconds, when given)."""
    h.upstream.reset()
    statuses: list[int] = []
    small: list[float] = []
    done = threading.Event()

    def send_heavy() -> None:
        statuses.append(post(sc, heavy, timeout=600).status_code)

    threads = [threading.Thread(target=send_heavy) for _ in range(8)]
    start = time.monotonic()
    for t in threads:
        t.start()

    def watch() -> None:
        for t in threads:
            t.join()
        done.set()

    threading.Thread(target=watch, daemon=True).start()
    while not done.is_set() or not small:
        t0 = time.monotonic()
        r = chat(sc, [{"role": "user", "content": "What time is it?"}])
        small.append(time.monotonic() - t0)
        check(r.status_code == 200, f"a small request got HTTP {r.status_code}")
    took = time.monotonic() - start
    check(all(code in accepted for code in statuses), f"heavy requests answered {statuses}")
    worst = max(small)
    check(worst < 3.0, f"small requests waited up to {worst:.2f} s")
    check(max_took is None or took < max_took, f"the eight heavy requests kept the sidecar busy for {took:.1f} s")
    return (f"8 heavy requests ({', '.join(map(str, sorted(set(statuses))))}) took {took:.1f} s; {len(small)} small "
            f"requests meanwhile, worst {worst * 1000:.0f} ms, median {sorted(small)[len(small) // 2] * 1000:.0f} ms")


@case("eight-requests-of-10k-messages")
def _(h: Harness) -> str:
    """The issue's load: eight requests of 10,000 small messages at once (default policy) while small requests run."""
    sc = h.sidecar("default-policy", policy="default")
    return _starvation(h, sc, {"model": "m", "messages": [{"role": "user", "content": "hi there, how are you?"}] * 10_000},
                       accepted=(200, 413), max_took=30)


@case("heavy-requests-do-not-starve-others")
def _(h: Harness) -> str:
    """Eight maximal accepted requests at once (500 messages, 200k characters each, default policy)."""
    sc = h.sidecar("default-policy", policy="default")
    filler = "Please review this paragraph about shipping schedules and the weather in the harbour today. " * 4
    return _starvation(h, sc, {"model": "m", "messages": [{"role": "user", "content": filler[:399]}] * 500},
                       accepted=(200,))


# -- 5. upstream misbehaviour ---------------------------------------------------------------------


def _completion(text: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}]}).encode()


def _event(delta: dict[str, Any], finish: str | None = None) -> bytes:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


@case("trickling-upstream-deadline")
def _(h: Harness) -> str:
    """An upstream sending its answer one byte at a time is cut at limits.timeout_s (6 s here)."""
    sc = h.sidecar("deadline", limits={"timeout_s": 6})
    body = _completion("slow " * 100)
    h.upstream.reset(raw=[bytes([b]) for b in body], raw_type="application/json", chunk_delay_s=0.05)
    start = time.monotonic()
    resp = chat(sc, [{"role": "user", "content": "hi"}])
    took = time.monotonic() - start
    check(took < 10, f"answered after {took:.1f} s")
    return expect_error(resp, 504, "upstream_timeout") + f" after {took:.1f} s"


@case("client-disconnect-cancels-upstream")
def _(h: Harness) -> str:
    sc = h.sidecar()
    h.upstream.reset(raw=[b"{"] + [b" "] * 2000 + [b"}"], raw_type="application/json", chunk_delay_s=0.05)
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    with connect(sc) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(payload) + payload)
        deadline = time.monotonic() + 10
        while not h.upstream.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    start = time.monotonic()
    while h.upstream.raw_cancelled == 0 and time.monotonic() - start < 10:
        time.sleep(0.02)
    check(h.upstream.raw_cancelled == 1, "the upstream request kept running after the client left")
    return f"upstream request cancelled {(time.monotonic() - start) * 1000:.0f} ms after the client left"


def _stream_error_case(h: Harness, raw: list[bytes], code: str) -> str:
    sc = h.sidecar()
    h.upstream.reset(raw=raw)
    chunks = sse(sc)
    last = chunks[-2] if len(chunks) >= 2 else {}
    err = last.get("error") if isinstance(last, dict) else None
    check(chunks and chunks[-1] == "[DONE]" and isinstance(err, dict) and err.get("code") == code,
          f"stream ended with {json.dumps(chunks[-2:])[:100]}")
    check(code in sc.log(), "no log line names the failure")
    return f"error event {code} (logged)"


@case("sse-cut-mid-event")
def _(h: Harness) -> str:
    return _stream_error_case(h, [_event({"content": "Hello "}), b'data: {"id": "x", "choices": [{"ind'],
                              "upstream_stream_truncated")


@case("sse-no-finish-no-done")
def _(h: Harness) -> str:
    return _stream_error_case(h, [_event({"content": "Hello "}), _event({"content": "world"})], "upstream_stream_truncated")


@case("sse-huge-line")
def _(h: Harness) -> str:
    return _stream_error_case(h, [_event({"content": "Hello "}), b"data: " + b"A" * 1_500_000 + b"\n\n"],
                              "upstream_event_too_large")


@case("sse-upstream-error-event")
def _(h: Harness) -> str:
    sc = h.sidecar()
    leak = "Traceback (most recent call last): /srv/vllm/secret_internal.py, api_key=sk-internal"
    error = {"error": {"message": leak, "type": "InternalServerError", "code": 500}}
    h.upstream.reset(raw=[_event({"content": "Hi "}), b"data: " + json.dumps(error).encode() + b"\n\n"])
    chunks = sse(sc)
    text = json.dumps(chunks)
    check("secret_internal" not in text and "Traceback" not in text, "the upstream's error text was relayed")
    check(chunks[-2].get("error", {}).get("code") == "upstream_stream_error", f"ended with {text[-100:]}")
    check("InternalServerError" in sc.log() and "secret_internal" not in sc.log(), "log line missing or too detailed")
    return "generic upstream_stream_error event; the log names the type (InternalServerError) only"


@case("json-huge-answer")
def _(h: Harness) -> str:
    h.upstream.reset(raw=[_completion("z" * 9_000_000)], raw_type="application/json")
    return expect_error(chat(h.sidecar(), [{"role": "user", "content": "hi"}]), 502, "upstream_response_too_large")


# -- 6. request ids -------------------------------------------------------------------------------


@case("request-id-card-number")
def _(h: Harness) -> str:
    sc = h.sidecar()
    h.upstream.reset()
    card = "4111-1111-1111-1111"
    resp = post(sc, {"text": "hello"}, "/v1/guard/check", headers={"x-request-id": card})
    check(resp.status_code == 200, f"HTTP {resp.status_code}")
    check(resp.headers.get("x-request-id") != card, "the card number came back as the request id")
    check(card not in h.audit(sc) and card not in sc.log(), "the card number was logged")
    return f"replaced by {resp.headers.get('x-request-id')}, not logged"


# -- 7. malformed JSON ----------------------------------------------------------------------------


def _malformed(h: Harness, raw: bytes) -> str:
    h.upstream.reset()
    resp = post(h.sidecar(), raw)
    out = expect_error(resp, 400, "invalid_json")
    check(not h.upstream.requests, "forwarded")
    return out


@case("json-nan")
def _(h: Harness) -> str:
    return _malformed(h, b'{"model": "m", "temperature": NaN, "messages": [{"role": "user", "content": "hi"}]}')


@case("json-infinity")
def _(h: Harness) -> str:
    return _malformed(h, b'{"model": "m", "top_p": Infinity, "messages": [{"role": "user", "content": "hi"}]}')


@case("json-100k-nested-arrays")
def _(h: Harness) -> str:
    return _malformed(h, b'{"model": "m", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


@case("json-huge-integer")
def _(h: Harness) -> str:
    return _malformed(h, b'{"model": "m", "seed": ' + b"9" * 4000 + b', "messages": [{"role": "user", "content": "hi"}]}')


@case("text-part-is-a-list")
def _(h: Harness) -> str:
    h.upstream.reset()
    resp = chat(h.sidecar(), [{"role": "user", "content": [{"type": "text", "text": ["FORBIDDEN"]}]}])
    return expect_error(resp, 400, "invalid_content")


# -- 8. readiness ---------------------------------------------------------------------------------


@case("readyz-no-details")
def _(h: Harness) -> str:
    sc = h.sidecar()
    body = httpx.get(sc.url + "/readyz", timeout=10)
    data = body.json()
    check(set(data) == {"status", "models_loaded", "apps"} and set(data["apps"].values()) <= {"ok", "not_ok"},
          f"/readyz says {body.text[:100]}")
    for leak in ("hostile", "sha256", h.upstream_url, "policy"):
        check(leak not in body.text, f"/readyz shows {leak!r}")
    return f"{body.status_code} {body.text}"


# -- policy files ------------------------------------------------------------------------------------

TWO_STAGES = POLICY  # input and output filters: what a partial write must not lose


def _reloads(h: Harness, sc: Sidecar, result: str) -> int:
    return sum(1 for line in h.audit(sc).splitlines() if f'"result": "{result}"' in line or f'"result":"{result}"' in line)


def _wait_reload(h: Harness, sc: Sidecar, result: str, before: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while _reloads(h, sc, result) <= before:
        check(time.monotonic() < deadline, f"no {result} reload within {timeout:g} s")
        time.sleep(0.1)


def _still_filters(sc: Sidecar) -> bool:
    v = post(sc, {"text": "FORBIDDEN " + EMAIL}, path="/v1/guard/check").json()
    out = post(sc, {"text": "FORBIDDEN", "stage": "output"}, path="/v1/guard/check").json()
    return not v["allowed"] and not out["allowed"]


def _refused_reload(h: Harness, name: str, text: str, env: dict[str, str] | None = None) -> str:
    sc = h.sidecar(f"reload-{name}", policy=TWO_STAGES, env=env)
    before = _reloads(h, sc, "rejected")
    start = time.monotonic()
    h.write_policy(sc, text)
    _wait_reload(h, sc, "rejected", before)
    check(_still_filters(sc), "the sidecar lost input or output filters after the refused reload")
    h.write_policy(sc, TWO_STAGES)
    return f"refused in {time.monotonic() - start:.1f} s; both stages still filter"


@case("reload-empty-file", group="policy")
def _(h: Harness) -> str:
    return _refused_reload(h, "empty", "")


@case("reload-only-version", group="policy")
def _(h: Harness) -> str:
    return _refused_reload(h, "version", "version: 1\n")


@case("reload-half-written-prefix", group="policy")
def _(h: Harness) -> str:
    return _refused_reload(h, "prefix", TWO_STAGES.split("output:")[0])


@case("reload-alias-bomb", group="policy")
def _(h: Harness) -> str:
    lines = ["version: 1", "name: bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    sc = h.sidecar("reload-bomb", policy=TWO_STAGES)
    cpu0 = cpu_s(sc.proc.pid)
    reason = _refused_reload(h, "bomb", "\n".join(lines) + "\n")
    cpu = cpu_s(sc.proc.pid) - cpu0
    check(cpu < 5, f"the alias bomb cost {cpu:.1f} s of sidecar CPU")
    check("more than 100,000 values" in sc.log(), "no located 'too many values' error in the log")
    return f"{reason}; {cpu:.2f} s CPU"


@case("reload-python-tag", group="policy")
def _(h: Harness) -> str:
    text = TWO_STAGES + "refusal: !!python/object/apply:os.system ['touch /tmp/pwned']\n"
    reason = _refused_reload(h, "tag", text)
    check("unsupported YAML tag" in h.sidecar("reload-tag").log(), "no located error for the python tag")
    check(not Path("/tmp/pwned").exists(), "the tag ran a command")
    return reason


@case("backtracking-pii-regex", group="policy")
def _(h: Harness) -> str:
    policy = ("version: 1\nname: evil\ninput:\n  - filter: pii\n    action: block\n    recognizers:\n"
              "      - {entity: EVIL, patterns: [{regex: '(a|aa)+$', score: 0.9}]}\noutput: []\n")
    sc = h.sidecar("regex", policy=policy)
    start = time.monotonic()
    clean = post(sc, {"text": "a" * 41 + "b"}, path="/v1/guard/check")
    hit = post(sc, {"text": "b" + "a" * 41}, path="/v1/guard/check")
    elapsed = time.monotonic() - start
    check(clean.status_code == 200 and clean.json()["allowed"], f"clean text: HTTP {clean.status_code}")
    check(hit.status_code == 200 and not hit.json()["allowed"], "the matching text was not blocked")
    check(elapsed < 2, f"two checks took {elapsed:.1f} s")
    return f"both answered correctly in {elapsed * 1000:.0f} ms (RE2)"


@case("regex-rejected-at-load", group="policy")
def _(h: Harness) -> str:
    sc = h.sidecar("reload-lookbehind", policy=TWO_STAGES)
    bad = TWO_STAGES.replace('patterns: ["FORBIDDEN"]\n    category: banned', 'patterns: ["(?<=x)FORBIDDEN"]\n    category: banned')
    reason = _refused_reload(h, "lookbehind", bad)
    check("linear-time engine RE2" in sc.log(), "no located RE2 error in the log")
    return reason


@case("extends-outside-folder", group="policy")
def _(h: Harness) -> str:
    sc = h.sidecar("reload-extends", policy=TWO_STAGES)
    reason = _refused_reload(h, "extends", "version: 1\nname: x\nextends: /etc/passwd\n" + TWO_STAGES.split("\n", 2)[2])
    check("root:" not in sc.log(), "the log quotes /etc/passwd")
    return reason


@case("env-value-not-echoed", group="policy")
def _(h: Harness) -> str:
    env = {"HOSTILE_SECRET": "hunter2-hostile"}
    reason = _refused_reload(h, "env", TWO_STAGES.replace("category: banned", "category: banned\n    threshold: ${HOSTILE_SECRET}"), env)
    sc = h.sidecar("reload-env", env=env)
    check("input[0].threshold" in sc.log(), "no located error for the bad value")
    check("hunter2" not in sc.log(), "the log shows the environment value")
    check("hunter2" not in httpx.get(sc.url + "/readyz", timeout=10).text, "/readyz shows the environment value")
    return reason + "; the value appears neither in the log nor in /readyz"


@case("deny-list-digits", group="policy")
def _(h: Harness) -> str:
    policy = "version: 1\nname: deny\ninput:\n  - filter: deny_list\n    words: [area51, gpt4, project x9]\noutput: []\n"
    sc = h.sidecar("deny", policy=policy)
    texts = ["area51", "tell me about gpt4", "the PROJECT X9 files"]
    allowed = [t for t in texts if post(sc, {"text": t}, path="/v1/guard/check").json()["allowed"]]
    check(not allowed, f"not matched: {allowed}")
    return f"{len(texts)} of {len(texts)} entries with digits matched"


# -- runner ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="run only these cases")
    parser.add_argument("--group", help="run only this group of cases (e.g. sidecar, policy)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--src", help="run the sidecars from this checkout (PYTHONPATH), e.g. the code before a fix")
    args = parser.parse_args()
    stop_on_sigterm()
    todo = [c for c in CASES.values() if (not args.only or c.name in args.only) and (not args.group or c.group == args.group)]
    if args.list:
        for c in todo:
            print(f"{c.group:<8} {c.name}")
        return 0
    print(f"hostile inputs against a real sidecar{' from ' + args.src if args.src else ''}; {machine()}")
    failed = 0
    with workdir("hostile-") as tmp, scripted_upstream() as (scripted, server):
        harness = Harness(tmp, scripted, server.url + "/v1", src=args.src)
        try:
            for c in todo:
                start = time.monotonic()
                try:
                    verdict, reason = "PASS", c.run(harness)
                except Fail as exc:
                    verdict, reason = "FAIL", str(exc)
                except Exception as exc:  # noqa: BLE001 - a crashing case is a failing case
                    verdict, reason = "FAIL", f"{type(exc).__name__}: {exc}"[:200]
                    traceback.print_exc(file=sys.stderr)
                failed += verdict == "FAIL"
                print(f"{verdict} {c.name:<36} {reason}  [{time.monotonic() - start:.1f} s]", flush=True)
        finally:
            harness.close()
    print(f"{len(todo) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
