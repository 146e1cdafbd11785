#!/usr/bin/env python
"""``guardrails adapt``: time and peak memory for 1k / 10k / 50k labelled rows, and before/after figures on
each labelled real-traffic source of the shared data treated as a deployer's traffic in turn.

    python benchmarks/bench_adapt.py [--sizes 1000,10000,50000] [--sources toxicchat,...] [--skip-sizes]

Rows for the size runs are sampled (seeded, with replacement past a source's size) from the shared data's
input-stage sources; each size runs ``guardrails adapt`` in a child process (wall time, peak RSS of the child).
For a source, its rows are split by the adapt command itself: 60% train, 20% validation, 20% hold-out (a
seeded hash of the text; our own split of the developer copy, never a published test split); the figures are
those on the hold-out. ToxicChat is non-commercial: used here to measure, never in shipped weights.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPO, SHARED_DATA  # noqa: E402

# Labelled real traffic (both classes): user prompts of a public demo; model answers read with their prompts.
SOURCES = ("toxicchat", "xstest_completions", "jbb_responses")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def sample_rows(n: int, seed: int = 0) -> list[dict]:
    pool = []
    for path in sorted(SHARED_DATA.glob("*.jsonl")):
        for d in read_jsonl(path):
            if "label" in d and d.get("stage") != "output":
                pool.append({"text": d["text"], "label": d["label"], "category": d["category"]})
    rng = random.Random(seed)
    rng.shuffle(pool)
    return [dict(pool[i % len(pool)], text=pool[i % len(pool)]["text"] + ("" if i < len(pool) else f" #{i}"))
            for i in range(n)]


def run_adapt(data: Path, out: Path, extra: list[str]) -> tuple[float, float, dict]:
    """Run the CLI in a child; wall seconds, the child's peak RSS in MB, its JSON figures."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "guardrails.cli.main", "adapt", "--data", str(data), "--out", str(out),
                           "--no-progress", "--json", *extra], capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1):
        raise SystemExit(f"adapt failed:\n{proc.stderr[-3000:]}")
    text = proc.stdout
    figures = json.loads(text[text.index("{\n"):])
    sys.stdout.write("\n".join("    " + line for line in text[:text.index("{\n")].splitlines()) + "\n")
    return wall, max(peak, before) / 1024, figures


def _correction(f: dict) -> str:
    c = f.get("correction") or {}
    if not c.get("l2"):
        return "none kept"
    return f"{'+'.join(c['stages'])}, L2 {c['l2']:g}, val AUPRC {c['val_auprc_without']:.3f}->{c['val_auprc']:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--sources", default=",".join(SOURCES))
    ap.add_argument("--skip-sizes", action="store_true")
    ap.add_argument("--skip-sources", action="store_true")
    ap.add_argument("--adapt-args", default="", help="more adapt options, e.g. '--retrain-top' (space-separated)")
    args = ap.parse_args()
    if not SHARED_DATA.is_dir():
        print(f"no shared data at {SHARED_DATA}: nothing to measure")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_adapt_"))
    if not args.skip_sizes:
        print("== adapt time and peak memory (child process), rows sampled from the shared data")
        print("| rows | wall s | peak RSS MB |\n|---|---|---|")
        for n in map(int, args.sizes.split(",")):
            data = tmp / f"rows_{n}.jsonl"
            data.write_text("".join(json.dumps(r) + "\n" for r in sample_rows(n)))
            wall, peak, _ = run_adapt(data, tmp / f"out_{n}", args.adapt_args.split())
            print(f"| {n} | {wall:.1f} | {peak:.0f} |", flush=True)
    if not args.skip_sources:
        print("\n== each labelled real-traffic source as a deployer's traffic: hold-out figures before / after")
        print("| source | rows | AUPRC before | AUPRC after | recall before | recall after | FPR before | FPR after "
              "| short FPR before | short FPR after | guard after | refused | correction |")
        print("|---" * 13 + "|")
        for src in args.sources.split(","):
            path = SHARED_DATA / f"{src}.jsonl"
            if not path.is_file():
                continue
            wall, _, f = run_adapt(path, tmp / f"src_{src}", args.adapt_args.split())
            b, a = f["before"], f["after"]
            guard = ", ".join(f"{k} {v:.3f}" for k, v in f["guard_after"].items())
            print(f"| {src} | {b['n_unsafe'] + b['n_safe']} (hold-out) | {b['auprc']:.3f} | {a['auprc']:.3f} | "
                  f"{b['recall']:.3f} | {a['recall']:.3f} | {b['fpr']:.3f} | {a['fpr']:.3f} | {b['short_fpr']:.3f} | "
                  f"{a['short_fpr']:.3f} | {guard} | {f['refused']} | {_correction(f)} |  ({wall:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
