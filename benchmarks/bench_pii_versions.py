"""The ``pii`` filter's fast path in two checkouts, measured in one run, interleaved check by check.

    .venv/bin/python benchmarks/bench_pii_versions.py --before DIR [--after DIR] [--reps-scale 1.0]

``DIR``: a checkout of the project (``git worktree add`` or ``git archive REV | tar -x -C DIR``); ``--after``
defaults to this one. Each checkout runs in its own worker process (its ``guardrails`` first on the path);
the workers build bench_pii's COMPARED entries and time PiiFilter.check on the same texts (this checkout's
bench_pii.latency_texts: number-dense and prose texts of ~1,000 characters, checked over and over or each
first seen), taking turns one check at a time so that machine noise hits both alike (``--clock cpu``: CPU time of the checking thread instead of wall time; ``--cpu N``: both workers on CPU ``N``). Prints ms per 1,000 characters (median, p95) of each, the ratio of the medians and the median
ratio of the paired checks (the same text, one right after the other), and whether the two
found the same spans on every text.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_pii import latency_texts, p95, redraw_digits  # this script's folder is first on sys.path

HERE = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, os, sys, time
root = sys.argv[1]
clock = time.thread_time if sys.argv[2] == "cpu" else time.perf_counter
if sys.argv[3] != "-":
    os.sched_setaffinity(0, {int(sys.argv[3])})
sys.path.insert(0, root)
sys.path.insert(0, root + "/benchmarks")
import bench_pii as b
from guardrails import Context
filters = {name: b.stock_and_fast(entry)[1] for name, entry in b.COMPARED.items()}
ctx = Context()
print(json.dumps({"entries": list(filters)}), flush=True)
for line in sys.stdin:
    name, text = json.loads(line)
    flt = filters[name]
    start = clock()
    result = flt.check(text, ctx)
    ms = (clock() - start) * 1000
    spans = sorted((s.start, s.end, s.label) for f in result.findings for s in f.spans)
    print(json.dumps([ms, spans]), flush=True)
"""


class Worker:
    """One checkout's worker process: ``check(entry, text)`` -> (ms, spans)."""

    def __init__(self, root: Path, clock: str, cpu: int | None = None) -> None:
        # both read the shared data next to this checkout (bench_pii looks next to its own otherwise)
        data = os.environ.get("GUARDRAILS_SHARED_DATA", str(HERE.parent / "shared" / "data"))
        env = {**os.environ, "PYTHONPATH": str(root), "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "GUARDRAILS_SHARED_DATA": data}
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(root), clock, "-" if cpu is None else str(cpu)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=root)
        self.meta: dict[str, Any] = json.loads(self._line())

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"worker exited ({self.proc.wait()})")
        return line

    def check(self, entry: str, text: str) -> tuple[float, list[Any]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps([entry, text]) + "\n")
        self.proc.stdin.flush()
        ms, spans = json.loads(self._line())
        return float(ms), spans

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the checkout to compare against")
    parser.add_argument("--after", type=Path, default=HERE, help="the checkout measured against it (default: this one)")
    parser.add_argument("--reps-scale", type=float, default=1.0, help="multiply the checks per column (default 1.0: 96)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: perf_counter (default); cpu: the worker thread's CPU time (less hit by other jobs on a busy host)")
    parser.add_argument("--cpu", type=int, help="run both workers on this CPU only (a host's CPUs can differ in speed and load)")
    args = parser.parse_args()
    workers = {"before": Worker(args.before.resolve(), args.clock, args.cpu), "after": Worker(args.after.resolve(), args.clock, args.cpu)}
    meta = workers["after"].meta
    if workers["before"].meta != meta:
        raise SystemExit("the two checkouts build other entries; compare checkouts of one bench_pii")
    reps = max(16, int(96 * args.reps_scale))
    kinds = latency_texts(16 + reps)[1]
    print(f"PiiFilter.check (fast path), {args.clock} ms per 1,000 characters; before {args.before}, after {args.after}; {reps} checks per "
          f"column after a warm-up round, taking turns check by check; machine shared with other jobs")
    print(f"{'entry':<27} {'text':<17} | {'before med':>10} {'p95':>7} | {'after med':>9} {'p95':>7} | {'before/after':>12} {'paired':>6} | same spans")
    try:
        for entry in meta["entries"]:
            for kind, (texts, first_seen) in kinds.items():
                times: dict[str, list[float]] = {k: [] for k in workers}
                same = True
                rng = random.Random(0)
                for n in range(16 + reps):  # the first 16 checks warm caches up
                    text = texts[n % len(texts)]
                    if first_seen:  # new digits for both workers: each process meets the text first
                        text = redraw_digits(text, rng)
                    order = ("before", "after") if n % 2 == 0 else ("after", "before")
                    found = {}
                    for k in order:
                        ms, found[k] = workers[k].check(entry, text)
                        if n >= 16:
                            times[k].append(ms * 1000 / len(text))
                    same = same and found["before"] == found["after"]
                med = {k: statistics.median(v) for k, v in times.items()}
                paired = statistics.median(b / a for b, a in zip(times["before"], times["after"]))
                print(f"{entry:<27} {kind:<17} | {med['before']:>10.2f} {p95(times['before']):>7.2f} | {med['after']:>9.2f} "
                      f"{p95(times['after']):>7.2f} | {med['before'] / med['after']:>12.2f} {paired:>6.2f} | {'yes' if same else 'NO'}")
    finally:
        for w in workers.values():
            w.close()


if __name__ == "__main__":
    main()
