"""Added latency and throughput of the sidecar over calling the upstream directly (loopback only).

    .venv/bin/python benchmarks/bench_sidecar.py [--requests 400] [--levels 1,16,64]

Starts a minimal OpenAI-compatible upstream and two sidecars (pattern-only policy, default policy),
each in its own process on 127.0.0.1, then sends the same non-streaming chat requests at each
concurrency level to the upstream and to each sidecar. Prints p50/p99 latency, the added p50/p99
and the throughput ratio (sidecar / direct) side by side. Bounded: a fixed number of requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANSWER = ("Sure. Here is a short answer about the weather: it is sunny with a light breeze from the west, "
          "and the temperature will reach twenty degrees in the afternoon.")

PATTERN_POLICY = """
version: 1
name: pattern-only
input:
  - filter: length
    max_chars: 20000
  - filter: regex
    id: injection
    patterns: ["ignore (all )?(previous|prior) instructions", "reveal (the )?system prompt"]
    category: prompt_injection
  - filter: secrets
    action: redact
output:
  - filter: secrets
    action: redact
  - filter: regex
    id: banned
    patterns: ["FORBIDDEN"]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the upstream (run with --role upstream) ------------------------------------------------------


def upstream_app(delay_s: float = 0.0) -> object:
    """A raw ASGI app answering every POST with a fixed chat completion (after ``delay_s``), GET with a model list."""
    completion = json.dumps({
        "id": "bench", "object": "chat.completion", "created": 0, "model": "bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 40},
    }).encode()
    models = b'{"object":"list","data":[{"id":"bench","object":"model"}]}'

    async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the body
            message = await receive()  # type: ignore[operator]
            more = message.get("more_body", False)
        body = completion if scope["method"] == "POST" else models
        if delay_s and scope["method"] == "POST":
            await asyncio.sleep(delay_s)  # stands in for generation time
        await send({"type": "http.response.start", "status": 200,  # type: ignore[operator]
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    return app


def run_upstream(port: int, delay_s: float) -> None:
    import uvicorn

    uvicorn.run(upstream_app(delay_s), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the load generator ---------------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc); load-independent cost."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(url: str, n: int, concurrency: int, key: str) -> tuple[list[float], float, int]:
    import httpx

    body = {"model": "bench", "max_tokens": 64,
            "messages": [{"role": "system", "content": "You are a helpful assistant."},
                         {"role": "user", "content": "What is the weather like today in the west of the country?"}]}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    from guardrails.server.transport import FastTransport

    # The lean transport keeps the load generator's own CPU low: it shares the cores with the servers.
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30, headers={"authorization": f"Bearer {key}"},
                                 transport=FastTransport()) as client:
        for _ in range(min(20, n)):  # warm up connections and lazy loads
            (await client.post("/v1/chat/completions", json=body)).raise_for_status()
        queue = iter(range(n))
        errors = 0

        async def worker() -> None:
            nonlocal errors
            for _ in queue:
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/chat/completions", json=body)
                    ok = r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "stop"
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t)
                else:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return latencies, len(latencies) / elapsed, errors


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _wait(url: str, proc: subprocess.Popen[bytes], path: str, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"a server process exited early ({proc.returncode})")
        try:
            if httpx.get(url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not become ready")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=["bench", "upstream"], default="bench", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=400,
                        help="requests per target and level, at least 8 x the concurrency (default 400)")
    parser.add_argument("--levels", default="1,16,64", help="concurrency levels (default 1,16,64)")
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="upstream answer time, standing in for generation (default 0: pure proxy overhead)")
    args = parser.parse_args()
    if args.role == "upstream":
        run_upstream(args.port, args.delay_ms / 1000)
        return 0

    levels = [int(x) for x in args.levels.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-sidecar-"))
    (tmp / "pattern.yaml").write_text(PATTERN_POLICY)
    up_port = _free_port()
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    try:
        procs.append(subprocess.Popen([sys.executable, __file__, "--role", "upstream", "--port", str(up_port),
                                       "--delay-ms", str(args.delay_ms)], env=env))
        targets = {"direct": (f"http://127.0.0.1:{up_port}", "none", procs[0].pid)}
        for name, policy in (("pattern-only", str(tmp / "pattern.yaml")), ("default", "default")):
            port = _free_port()
            config = tmp / f"{name}.yaml"
            config.write_text(json.dumps({
                "upstream": f"http://127.0.0.1:{up_port}/v1", "port": port, "reload_interval_s": 0,
                "audit": {"path": "off"}, "apps": {"bench": {"policy": policy, "keys": [{"env": "BENCH_KEY"}]}},
            }))
            procs.append(subprocess.Popen([sys.executable, "-m", "guardrails.cli.main", "serve", "--config", str(config)],
                                          env={**env, "BENCH_KEY": "bench-key"}))
            targets[name] = (f"http://127.0.0.1:{port}", "bench-key", procs[-1].pid)
        _wait(targets["direct"][0], procs[0], "/v1/models")
        for i, name in enumerate(("pattern-only", "default"), 1):
            _wait(targets[name][0], procs[i], "/readyz")

        print(f"sidecar benchmark: {args.requests} (at least 8 x concurrency) non-streaming chat requests per target "
              f"and level, loopback, "
              f"upstream delay {args.delay_ms:g} ms, {os.cpu_count()} CPUs visible, load average "
              f"{os.getloadavg()[0]:.2f}")
        header = (f"{'conc':>4}  {'target':<13} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'cpu ms/req':>10} {'errors':>6}  "
                  f"{'+p50 ms':>8} {'+p99 ms':>8} {'thr ratio':>9}")
        print(header)
        print("-" * len(header))
        for conc in levels:
            results = {}
            for name, (url, key, pid) in targets.items():
                cpu0 = _cpu_s(pid)
                n = max(args.requests, 8 * conc)  # at least 8 waves: a steady state, not one burst of connects
                lat, rps, errors = asyncio.run(_load(url, n, conc, key))
                cpu_ms = (_cpu_s(pid) - cpu0) * 1000 / (n + min(20, n))
                results[name] = (_pct(lat, 0.50), _pct(lat, 0.99), rps, cpu_ms, errors)
            d50, d99, drps, _, _ = results["direct"]
            for name, (p50, p99, rps, cpu_ms, errors) in results.items():
                extra = "" if name == "direct" else f"  {p50 - d50:>8.3f} {p99 - d99:>8.3f} {rps / drps:>9.3f}"
                print(f"{conc:>4}  {name:<13} {p50:>8.3f} {p99:>8.3f} {rps:>8.1f} {cpu_ms:>10.3f} {errors:>6}{extra}", flush=True)
        print("cpu ms/req: CPU time of the serving process per request (the sidecar's own cost; for 'direct', the upstream's)")
        return 0
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
