"""Soak test of the sidecar: sustained load for minutes, with the policy file flipped while it runs.

    .venv/bin/python benchmarks/soak_sidecar.py [--duration 120] [--concurrency 64] [--flip-every 3] [--policy FILE]

Starts a fast local upstream (its own process: chat completions, streamed or not) and a real sidecar
(``guardrails serve``, its own process), warms up, then keeps ``--concurrency`` clients busy for
``--duration`` seconds: 3 in 4 requests non-streaming, 1 in 4 streamed; some carry an e-mail address
(redacted) and some a banned word (refused with finish_reason content_filter, as expected). With
``--flip-every N`` the app's policy file is rewritten every N seconds (write a temporary file, then rename
it over the policy), alternating two versions that differ in one pattern, so hot reload runs under load.

Prints throughput, p50/p99 latency, errors (anything but the expected answer: must be 0), policy reloads,
and the sidecar's RSS at the start (after warm-up), its peak and at the end, and its CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from _sidecar import Sidecar, cpu_s, free_port, rss_mb, stop_on_sigterm, workdir  # noqa: E402

BANNED = "FORBIDDENWORD"
POLICY = """version: 1
name: soak
input:
  - filter: length
    max_chars: 20000
  - filter: regex
    id: banned
    patterns: ["{banned}", "{extra}"]
    category: banned
  - filter: secrets
    action: redact
  - filter: pii
    entities: [EMAIL_ADDRESS]
    action: redact
output:
  - filter: secrets
    action: redact
  - filter: regex
    id: banned_out
    patterns: ["{banned}"]
"""
ANSWER = ("Sure. Here is a short answer about the weather: it is sunny with a light breeze from the west, "
          "and the temperature will reach twenty degrees in the afternoon.")


# -- the upstream (run with --role upstream) ------------------------------------------------------


def upstream_app() -> Any:
    """A raw ASGI OpenAI-compatible upstream: a fixed answer, streamed in 12 chunks when asked to stream."""
    words = ANSWER.split(" ")
    pieces = [" ".join(words[i:i + 2]) + " " for i in range(0, len(words), 2)]

    def event(delta: dict[str, Any], finish: str | None) -> bytes:
        chunk = {"id": "soak", "object": "chat.completion.chunk", "created": 0, "model": "soak",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    whole = json.dumps({"id": "soak", "object": "chat.completion", "created": 0, "model": "soak",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 40}}).encode()
    stream = b"".join([event({"role": "assistant", "content": ""}, None), *(event({"content": p}, None) for p in pieces),
                       event({}, "stop"), b"data: [DONE]\n\n"])
    models = b'{"object":"list","data":[{"id":"soak","object":"model"}]}'

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["method"] != "POST":
            out, kind = models, b"application/json"
        elif b'"stream": true' in body or b'"stream":true' in body:
            out, kind = stream, b"text/event-stream"
        else:
            out, kind = whole, b"application/json"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})

    return app


def run_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(upstream_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- load -----------------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.blocked = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def _request(rng: random.Random) -> tuple[dict[str, Any], bool]:
    """A chat body, and whether the banned word makes it a refusal."""
    roll = rng.random()
    text = "What is the weather like today in the west of the country?"
    banned = roll < 0.05
    if banned:
        text += f" {BANNED}"
    elif roll < 0.25:
        text += f" Mail me at user{rng.randint(1, 999)}@example.org."
    body = {"model": "soak", "max_tokens": 64, "stream": rng.random() < 0.25,
            "messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": text}]}
    return body, banned


async def _one(client: Any, body: dict[str, Any], banned: bool, stats: Stats) -> None:
    expected = "content_filter" if banned else "stop"
    t = time.perf_counter()
    try:
        if body["stream"]:
            finish, done = None, False
            async with client.stream("POST", "/v1/chat/completions", json=body) as resp:
                if resp.status_code != 200:
                    stats.error(f"HTTP {resp.status_code}")
                    return
                async for line in resp.aiter_lines():
                    if line == "data: [DONE]":
                        done = True
                    elif line.startswith("data: "):
                        chunk = json.loads(line[6:])
                        if "error" in chunk:
                            stats.error(f"stream error {chunk['error'].get('code')}")
                            return
                        for choice in chunk.get("choices", []):
                            finish = choice.get("finish_reason") or finish
            ok = done and finish == expected
        else:
            resp = await client.post("/v1/chat/completions", json=body)
            if resp.status_code != 200:
                stats.error(f"HTTP {resp.status_code}")
                return
            ok = resp.json()["choices"][0]["finish_reason"] == expected
    except Exception as exc:  # noqa: BLE001 - counted, the soak goes on
        stats.error(type(exc).__name__)
        return
    if not ok:
        stats.error("unexpected answer")
        return
    stats.blocked += banned
    stats.latencies.append(time.perf_counter() - t)


async def _load(url: str, seconds: float, concurrency: int, stats: Stats, seed: int) -> float:
    import httpx

    from guardrails.server.transport import FastTransport

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, transport=FastTransport()) as client:
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()

        async def worker(n: int) -> None:
            rng = random.Random(seed * 1000 + n)
            while time.perf_counter() < deadline:
                await _one(client, *_request(rng), stats)

        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        return time.perf_counter() - start


async def _flip(policy: Path, every: float, stop: asyncio.Event) -> int:
    """Rewrite the policy every ``every`` seconds (write a temporary file, then rename it over the policy)."""
    flips = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every)
        except asyncio.TimeoutError:
            flips += 1
            tmp = policy.with_name(policy.name + ".tmp")
            tmp.write_text(POLICY.format(banned=BANNED, extra="alphaword" if flips % 2 else "betaword"))
            os.replace(tmp, policy)
    return flips


async def _soak(sidecar: Sidecar, args: argparse.Namespace, policy: Path) -> tuple[Stats, float, int, list[float]]:
    stats = Stats()
    stop = asyncio.Event()
    flipper = asyncio.create_task(_flip(policy, args.flip_every, stop)) if args.flip_every > 0 else None
    rss: list[float] = []

    async def sample() -> None:
        while not stop.is_set():
            rss.append(rss_mb(sidecar.pid))
            try:
                await asyncio.wait_for(stop.wait(), 2)
            except asyncio.TimeoutError:
                pass

    sampler = asyncio.create_task(sample())
    elapsed = await _load(sidecar.url, args.duration, args.concurrency, stats, seed=1)
    stop.set()
    flips = await flipper if flipper is not None else 0
    await sampler
    rss.append(rss_mb(sidecar.pid))
    return stats, elapsed, flips, rss


def _metric(url: str, prefix: str) -> float:
    import httpx

    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith(prefix))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> int:
    import subprocess

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=["soak", "upstream"], default="soak", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load after warm-up (default 120)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--flip-every", type=float, default=3.0, help="rewrite the policy every N s; 0: never (default 3)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring (default 5)")
    args = parser.parse_args()
    if args.role == "upstream":
        run_upstream(args.port)
        return 0

    stop_on_sigterm()
    up_port = free_port()
    upstream = subprocess.Popen([sys.executable, __file__, "--role", "upstream", "--port", str(up_port)])
    try:
        with workdir("soak-sidecar-") as tmp:
            policy = tmp / "soak.yaml"
            policy.write_text(POLICY.format(banned=BANNED, extra="betaword"))
            sidecar = Sidecar({"upstream": f"http://127.0.0.1:{up_port}/v1", "reload_interval_s": 0.5,
                               "audit": {"path": "off"}, "apps": {"soak": {"policy": str(policy)}}}, workdir=tmp)
            try:
                sidecar.wait()
                warm = Stats()
                asyncio.run(_load(sidecar.url, args.warmup, args.concurrency, warm, seed=0))
                rss0, cpu0 = rss_mb(sidecar.pid), cpu_s(sidecar.pid)
                stats, elapsed, flips, rss = asyncio.run(_soak(sidecar, args, policy))
                cpu = cpu_s(sidecar.pid) - cpu0
                reloads_ok = _metric(sidecar.url, 'guardrails_policy_reloads_total{app="soak",result="ok"}')
                rejected = _metric(sidecar.url, 'guardrails_policy_reloads_total{app="soak",result="rejected"}')
                alive = sidecar.proc.poll() is None
            finally:
                sidecar.stop()
    finally:
        upstream.terminate()
        upstream.wait(timeout=15)

    n = len(stats.latencies)
    errors = sum(stats.errors.values())
    print(f"sidecar soak: {args.duration:g} s at concurrency {args.concurrency} (after {args.warmup:g} s warm-up), "
          f"policy flipped every {args.flip_every:g} s; {machine()}")
    print(f"  requests ok        {n} ({n / elapsed:.1f} req/s), of which {stats.blocked} refused as expected")
    print(f"  latency            p50 {_pct(stats.latencies, 0.5):.1f} ms, p99 {_pct(stats.latencies, 0.99):.1f} ms, "
          f"max {_pct(stats.latencies, 1.0):.1f} ms")
    print(f"  errors             {errors}" + (f" {stats.errors}" if errors else ""))
    print(f"  policy             {flips} rewrites, {reloads_ok:.0f} reloads applied, {rejected:.0f} rejected")
    print(f"  sidecar RSS        start {rss0:.1f} MiB, peak {max(rss):.1f} MiB, end {rss[-1]:.1f} MiB "
          f"(growth {rss[-1] - rss0:+.1f} MiB)")
    print(f"  sidecar CPU        {cpu:.1f} s ({cpu / elapsed * 100:.0f}% of one core), alive at the end: {alive}")
    return 0 if errors == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
