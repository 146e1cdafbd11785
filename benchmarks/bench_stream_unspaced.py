"""Sidecar CPU for streamed answers without spaces (Chinese, Thai, base64): linear in the answer's length.

    .venv/bin/python benchmarks/bench_stream_unspaced.py [--sizes 5000,10000,20000,40000] [--policy default]
                                                         [--kinds cjk,thai,base64] [--src DIR]

Starts a real sidecar (``guardrails serve``) in front of the tests' scripted upstream, streams one chat answer of
each size (two characters per SSE chunk, as a tokenizer emits them) and prints the sidecar process's CPU seconds
for it, its CPU per 1,000 characters and the ratio to the previous size (about 2 for linear work when the size
doubles, about 4 for quadratic). ``--src DIR`` runs the sidecar from another checkout (e.g. ``git archive HEAD``).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from _sidecar import Sidecar, cpu_s, scripted_upstream, stop_on_sigterm, workdir  # noqa: E402

HAN = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主"
       "发年动同工也能下过子说产种面而方后多定行学法所民得经")
THAI = "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำแต่ต้องส่งออกทีละส่วน"


def answer(kind: str, n: int) -> str:
    rng = random.Random(n)
    if kind == "cjk":
        return "".join(rng.choice(HAN) for _ in range(n))
    if kind == "thai":
        return (THAI * (n // len(THAI) + 1))[:n]
    return base64.b64encode(rng.randbytes(n)).decode()[:n]


def stream_cpu(sidecar: Sidecar, scripted: object, text: str) -> tuple[float, float, int, str]:
    """(sidecar CPU seconds, wall seconds, characters received, last finish_reason) for one streamed answer."""
    import httpx

    scripted.reset(chunks=[text[i:i + 2] for i in range(0, len(text), 2)])  # type: ignore[attr-defined]
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Tell me a story about the sea."}]}
    cpu0, t0, got, finish = cpu_s(sidecar.pid), time.perf_counter(), 0, "-"
    with httpx.stream("POST", sidecar.url + "/v1/chat/completions", json=body, timeout=600) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: {") and '"content"' in line:
                for choice in json.loads(line[6:]).get("choices", []):
                    got += len((choice.get("delta") or {}).get("content") or "")
            if line.startswith("data: {") and '"finish_reason":"' in line:
                finish = json.loads(line[6:])["choices"][0]["finish_reason"]
    return cpu_s(sidecar.pid) - cpu0, time.perf_counter() - t0, got, finish


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000,10000,20000,40000")
    parser.add_argument("--kinds", default="cjk,thai,base64")
    parser.add_argument("--policy", default="default", help="built-in policy name or file (default: default)")
    parser.add_argument("--src", help="run the sidecar from this checkout (PYTHONPATH) instead of this one")
    args = parser.parse_args()
    stop_on_sigterm()
    sizes = [int(s) for s in args.sizes.split(",")]
    policy = args.policy if "/" not in args.policy else str(Path(args.policy).resolve())
    with workdir("bench-unspaced-") as tmp, scripted_upstream() as (scripted, up):
        sidecar = Sidecar({"upstream": up.url + "/v1", "reload_interval_s": 0, "audit": {"path": "off"},
                           "apps": {"bench": {"policy": policy, "limits": {"timeout_s": 600}}}},
                          workdir=tmp, src=args.src).wait()
        try:
            stream_cpu(sidecar, scripted, answer("cjk", 500))  # warm up (lazy loads)
            print(f"streamed answers without spaces through the sidecar ({args.policy} policy), 2 characters per "
                  f"chunk; sidecar process CPU; {machine()}")
            print(f"{'kind':<7} {'chars':>7} {'cpu s':>8} {'cpu ms/1k chars':>16} {'x prev':>7} {'wall s':>7} {'received':>9} "
                  f"finish")
            for kind in args.kinds.split(","):
                prev = None
                for n in sizes:
                    cpu, wall, got, finish = stream_cpu(sidecar, scripted, answer(kind, n))
                    ratio = f"{cpu / prev:>7.2f}" if prev else f"{'':>7}"
                    print(f"{kind:<7} {n:>7} {cpu:>8.2f} {cpu / n * 1e6:>16.1f} {ratio} {wall:>7.2f} {got:>9} {finish}",
                          flush=True)
                    prev = cpu
        finally:
            sidecar.stop()
    print("x prev: CPU against the previous size; sizes double, so ~2 is linear and ~4 quadratic; finish "
          "content_filter: the policy cut the answer (the CPU then covers only what was streamed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
