"""Throughput of ``guardrails serve --workers N`` against N, on this machine's cores (loopback only).

    python benchmarks/bench_workers.py [--workers 1,2,4] [--requests 800] [--concurrency 32] [--policy default]

One upstream process (bench_sidecar's fixed-answer upstream), then for each N a sidecar with N workers in front of
it, loaded with the same non-streaming chat requests from a keep-alive client with ``--concurrency`` connections
(spread over the workers by the kernel as they connect). Prints req/s, p50/p99, CPU per request of the sidecar's
process tree, and the throughput ratio to N=1, side by side. The load generator and the upstream share the cores
with the sidecar: on 2 cores, N=2 can at best take the one core they leave.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_sidecar  # noqa: E402
from _sidecar import Sidecar, cpu_s, free_port, stop_on_sigterm, workdir  # noqa: E402


def tree(pid: int) -> list[int]:
    """A process and its descendants (the supervisor, its workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    for child in children.read_text().split() if children.exists() else []:
        found += tree(int(child))
    return found


def tree_cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_s(pid)
        except OSError:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to compare (default 1,2,4)")
    parser.add_argument("--requests", type=int, default=800, help="requests per worker count (default 800)")
    parser.add_argument("--concurrency", type=int, default=32, help="client connections (default 32)")
    parser.add_argument("--policy", default="default", help="policy of the sidecar (default: default)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="upstream answer time (default 0)")
    args = parser.parse_args()
    stop_on_sigterm()
    counts = [int(x) for x in args.workers.split(",")]
    up_port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    upstream = subprocess.Popen([sys.executable, bench_sidecar.__file__, "--role", "upstream", "--port", str(up_port),
                                 "--delay-ms", str(args.delay_ms)], env=env)
    rows = []
    try:
        bench_sidecar._wait(f"http://127.0.0.1:{up_port}", upstream, "/v1/models")
        print(f"workers benchmark: {args.requests} non-streaming chat requests per N, concurrency {args.concurrency}, "
              f"policy {args.policy}, upstream delay {args.delay_ms:g} ms, {os.cpu_count()} CPUs visible, "
              f"load average {os.getloadavg()[0]:.2f} (other work on this machine inflates every figure)", flush=True)
        with workdir("bench-workers-") as tmp:
            for n in counts:
                config = {"upstream": f"http://127.0.0.1:{up_port}/v1", "reload_interval_s": 0, "audit": {"path": "off"},
                          "apps": {"bench": {"policy": args.policy, "keys": [{"env": "BENCH_KEY"}]}}}
                sidecar = Sidecar(config, workdir=tmp, name=f"workers{n}",
                                  env={"BENCH_KEY": "bench-key", "GUARDRAILS_WORKERS": str(n)})
                try:
                    sidecar.wait()
                    deadline = time.monotonic() + 120
                    while len(tree(sidecar.pid)) < 1 + n and time.monotonic() < deadline:  # + resource tracker
                        time.sleep(0.2)
                    time.sleep(2.0 if n > 1 else 0.0)  # the last workers load their policy
                    pids = tree(sidecar.pid)
                    cpu0 = tree_cpu_s(pids)
                    lat, rps, errors = asyncio.run(bench_sidecar._load(sidecar.url, args.requests, args.concurrency,
                                                                       "bench-key"))
                    cpu_ms = (tree_cpu_s(pids) - cpu0) * 1000 / (args.requests + min(20, args.requests))
                    rows.append((n, rps, bench_sidecar._pct(lat, 0.5), bench_sidecar._pct(lat, 0.99), cpu_ms, errors))
                finally:
                    sidecar.stop()
    finally:
        upstream.terminate()
        upstream.wait(timeout=15)
    base = rows[0][1] if rows else 1.0
    print(f"{'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/req':>10} {'errors':>6} {'vs N=' + str(counts[0]):>8}")
    for n, rps, p50, p99, cpu_ms, errors in rows:
        print(f"{n:>7} {rps:>8.1f} {p50:>8.2f} {p99:>8.2f} {cpu_ms:>10.3f} {errors:>6} {rps / base:>8.2f}")
    print("cpu ms/req: CPU time of the sidecar's processes (supervisor and workers) per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
