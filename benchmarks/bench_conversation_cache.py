"""The per-message cache: ms per request of a chat client that sends its whole conversation every turn.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_conversation_cache.py [--turns 20] [--policy default]

A session of ``--turns`` user turns (each ~300 characters, with an e-mail address the pii filter
redacts) and assistant answers; request k carries the k first turns, as OpenAI-style clients send
them. Each session runs on a fresh Guard with the cache (the default) and with ``cache_size=0``;
printed: the mean ms per request over the session, the ms of the last (longest) request, and the
verdicts' equality (the cache must change no result).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import synthetic_text, table  # noqa: E402

from guardrails import Guard  # noqa: E402


def session(turns: int) -> list[list[dict[str, Any]]]:
    chat: list[dict[str, Any]] = [{"role": "system", "content": "You are a helpful assistant for ACME customers."}]
    requests = []
    for i in range(turns):
        chat = [*chat, {"role": "user", "content": f"{synthetic_text(280, seed=i)} Reach me at user{i}@example.org."}]
        requests.append(chat)
        chat = [*chat, {"role": "assistant", "content": synthetic_text(400, seed=1000 + i)}]
    return requests


def run(guard: Guard, requests: list[list[dict[str, Any]]]) -> tuple[list[float], list[dict[str, Any]]]:
    times, verdicts = [], []
    for chat in requests:
        start = time.perf_counter()
        v = guard.check_input(chat)
        times.append((time.perf_counter() - start) * 1000)
        out = v.to_dict()
        out.pop("latency_ms")
        verdicts.append(out)
    return times, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--policy", default="default")
    parser.add_argument("--repeat", type=int, default=3, help="sessions per variant (the median is printed)")
    args = parser.parse_args()
    policy = Guard.from_policy(args.policy).policy
    warm = Guard(policy)
    warm.load()
    warm.check_input("warm up")
    requests = session(args.turns)
    rows, same, reference = [], True, []
    results: dict[str, tuple[list[float], list[float]]] = {}
    for name, size in (("with cache", 4096), ("without cache (cache_size=0)", 0)):
        means, lasts = [], []
        for _ in range(args.repeat):
            guard = Guard(policy, cache_size=size)  # a fresh cache per session
            times, verdicts = run(guard, requests)
            means.append(statistics.mean(times))
            lasts.append(times[-1])
            if name.startswith("with cache"):
                reference = verdicts
            else:
                same = same and verdicts == reference
        results[name] = (means, lasts)
        rows.append([name, f"{statistics.median(means):.1f}", f"{statistics.median(lasts):.1f}"])
    base = statistics.median(results["without cache (cache_size=0)"][0])
    cached = statistics.median(results["with cache"][0])
    print(f"policy {args.policy}, {args.turns}-turn session (request k carries turns 1..k), median of {args.repeat} sessions")
    print(table(["variant", "mean ms per request", f"ms of request {args.turns}"], rows))
    print(f"speed-up of the mean request: {base / cached:.2f}x; verdicts identical with and without the cache: {same}")


if __name__ == "__main__":
    main()
