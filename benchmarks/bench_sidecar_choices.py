"""The sidecar's cost per streamed answer: one choice, n choices checked each on its own, and a tool call whose
arguments stream in fragments (loopback only).

    .venv/bin/python benchmarks/bench_sidecar_choices.py [--streams 40] [--choices 4] [--before PATH]

Starts the tests' scripted upstream in a thread and a real sidecar process (``guardrails serve``, a pattern
policy: secrets, an e-mail redaction, a regex and a tool-name deny list on the output), then streams the same
answers through the sidecar and straight from the upstream. Prints, per case, the wall time per stream (direct,
through the sidecar) and the sidecar process's CPU milliseconds per stream and per choice. ``--before PATH`` adds
a sidecar run from another checkout (e.g. ``git worktree add /tmp/before <commit>``) in the same run, side by
side. Bounded: a fixed number of streams per case.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sidecar import Sidecar, cpu_s, scripted_upstream, stop_on_sigterm, workdir  # noqa: E402

POLICY = """
version: 1
name: bench-choices
output:
  - filter: secrets
    action: block
  - filter: regex
    id: email
    patterns: ["[a-z0-9._]+@[a-z0-9.]+[.][a-z]+"]
    category: email
    action: redact
  - filter: regex
    id: banned
    patterns: ["FORBIDDEN"]
"""
TOOL_DENY = """  - filter: tool_calls
    deny: ["delete_*"]
"""
SENTENCE = "The river was calm and the morning light fell on the old stone bridge while people walked to work. "


def _answer(i: int) -> str:
    return (SENTENCE * 6).replace("river", f"river{i}")  # ~600 characters, 110 words


def _stream(url: str, key: str, n: int, tools: bool) -> int:
    """Stream one answer; return the characters of text and tool-call arguments received."""
    import httpx

    body: dict[str, Any] = {"model": "m", "stream": True, "n": n, "messages": [{"role": "user", "content": "hi"}]}
    got = 0
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"},
                      timeout=60) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[6:]).get("choices", []):
                    delta = choice.get("delta") or {}
                    got += len(delta.get("content") or "")
                    for call in delta.get("tool_calls") or []:
                        got += len((call.get("function") or {}).get("arguments") or "")
    return got


def _run(url: str, key: str, pid: int | None, streams: int, n: int, tools: bool) -> tuple[float, float]:
    """(wall ms per stream, CPU ms of ``pid`` per stream)."""
    for _ in range(3):
        _stream(url, key, n, tools)  # warm-up
    cpu0 = cpu_s(pid) if pid else 0.0
    start = time.perf_counter()
    for _ in range(streams):
        _stream(url, key, n, tools)
    wall = (time.perf_counter() - start) * 1000 / streams
    return wall, ((cpu_s(pid) - cpu0) * 1000 / streams if pid else float("nan"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=40, help="streams per case and target (default 40)")
    parser.add_argument("--choices", type=int, default=4, help="n of the multi-choice case (default 4)")
    parser.add_argument("--before", default=None, help="also run a sidecar from this checkout (the code before a change)")
    args = parser.parse_args()
    stop_on_sigterm()
    key = "bench-choices-key"
    env = {"BENCH_KEY": key}
    arguments = json.dumps({"to": "the team", "body": _answer(0)})
    fragments = [arguments[i:i + 4] for i in range(0, len(arguments), 4)]  # ~4 characters per token
    call = {"id": "call_1", "type": "function", "function": {"name": "send", "arguments": arguments}}
    cases: list[tuple[str, dict[str, Any], int, bool]] = [
        ("1 choice", {"text": _answer(0)}, 1, False),
        (f"{args.choices} choices", {"texts": [_answer(i) for i in range(args.choices)]}, args.choices, False),
        ("tool call", {"text": "", "tool_calls": [call], "tool_argument_chunks": fragments}, 1, True),
    ]
    with scripted_upstream() as (scripted, upstream), workdir("bench-choices-") as tmp:
        sidecars: dict[str, Sidecar] = {}
        try:
            for name, src in (("after", None), ("before", args.before)):
                if name == "before" and src is None:
                    continue
                policy = tmp / f"{name}.yaml"
                policy.write_text(POLICY + (TOOL_DENY if name == "after" else ""))  # the old code has no tool_calls filter
                config = {"upstream": upstream.url + "/v1", "reload_interval_s": 0, "audit": {"path": "off"},
                          "apps": {"bench": {"policy": str(policy), "keys": [{"env": "BENCH_KEY"}]}}}
                sidecars[name] = Sidecar(config, workdir=tmp, name=name, src=src, env=env).wait()
            print(f"streamed answers, {args.streams} per case and target, loopback, {os.cpu_count()} CPUs visible, "
                  f"load average {os.getloadavg()[0]:.2f}; answer ~{len(_answer(0))} characters per choice")
            header = (f"{'case':<11} {'target':<8} {'ms/stream':>10} {'+ms':>8} {'cpu ms/stream':>13} "
                      f"{'cpu ms/choice':>13}")
            print(header)
            print("-" * len(header))
            for label, script, n, tools in cases:
                scripted.reset(**script)
                direct, _ = _run(upstream.url, key, None, args.streams, n, tools)
                print(f"{label:<11} {'direct':<8} {direct:>10.2f}", flush=True)
                for name, sidecar in sidecars.items():
                    wall, cpu = _run(sidecar.url, key, sidecar.pid, args.streams, n, tools)
                    print(f"{label:<11} {name:<8} {wall:>10.2f} {wall - direct:>8.2f} {cpu:>13.2f} {cpu / n:>13.2f}",
                          flush=True)
            print("cpu ms: CPU time of the sidecar process per stream (its own cost, whatever the machine's load); "
                  "'before' passes tool calls unchecked")
        finally:
            for sidecar in sidecars.values():
                sidecar.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
