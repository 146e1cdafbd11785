"""Per-filter latency side by side: each filter alone (through the engine) and the default policy,
on benign text of 200, 1000 and 10000 characters. Ratios are against the regex filter.

    .venv/bin/python benchmarks/bench_filters.py [--budget 0.6]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, synthetic_text, table, time_call  # noqa: E402

SIZES = (200, 1000, 10000)

REGEX_PATTERNS = [
    r"ignore (all |the )?(previous|prior|above) instructions",
    r"\bdo anything now\b",
    r"\bDAN mode\b",
    r"system prompt",
    r"\bjailbreak",
    r"(?:pretend|act) (?:to be|as) (?:an? )?(?:evil|unfiltered)",
    r"\bhow to (?:make|build) (?:a )?(?:bomb|explosive)",
    r"\b(?:credit card|ssn|social security) numbers?\b",
]
DENY_WORDS = [f"forbiddenword{i}" for i in range(60)] + ["build a bomb", "napalm recipe", "kill yourself"]

CANDIDATES: list[tuple[str, Any]] = [
    ("regex", {"filter": "regex", "patterns": REGEX_PATTERNS}),
    ("deny_list", {"filter": "deny_list", "words": DENY_WORDS}),
    ("secrets", {"filter": "secrets", "action": "redact"}),
    ("pii", {"filter": "pii", "action": "redact"}),
    ("builtin", {"filter": "builtin"}),
    ("default policy (input)", "default"),
]


def build(name: str, spec: Any) -> Any:
    from guardrails import Guard

    if isinstance(spec, str):
        guard = Guard.from_policy(spec)
    else:
        guard = Guard.from_policy({"name": f"bench-{name}", "input": [spec]})
    guard.load()
    return guard


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.6, help="seconds of timing per cell (default %(default)s)")
    args = parser.parse_args()

    texts = {n: synthetic_text(n, seed=n) for n in SIZES}
    results: dict[str, dict[int, dict[str, float]] | str] = {}
    for name, spec in CANDIDATES:
        try:
            guard = build(name, spec)
        except Exception as exc:  # noqa: BLE001 - a filter another engineer has not shipped yet
            results[name] = f"not available ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"
            continue
        cells: dict[int, dict[str, float]] = {}
        for n, text in texts.items():
            verdict = guard.check_input(text)
            if verdict.errors:
                results[name] = f"filter error: {verdict.errors[0].error}"
                break
            calls = itertools.count()
            # A different text each call: the builtin filter caches recent texts' scores.
            cells[n] = time_call(lambda: guard.check_input(f"{text[:-6]} #{next(calls):04d}"), budget_s=args.budget)
        else:
            results[name] = cells

    print("# Per-filter latency (guard.check_input, one filter per policy; median ms over repeated runs)")
    print(f"machine: {machine()}")
    base = results.get("regex")
    header = ["filter", *(f"{n} chars (ms)" for n in SIZES), *(f"x regex @{n}" for n in SIZES), "p95 @10000 (ms)"]
    rows, notes = [], []
    for name, res in results.items():
        if isinstance(res, str):
            notes.append(f"{name}: {res}")
            rows.append([name, *["n/a"] * (len(header) - 1)])
            continue
        ms = [res[n]["median_ms"] for n in SIZES]
        ratios = [f"{res[n]['median_ms'] / base[n]['median_ms']:.1f}x" if isinstance(base, dict) else "n/a" for n in SIZES]
        rows.append([name, *(f"{m:.3f}" for m in ms), *ratios, f"{res[SIZES[-1]]['p95_ms']:.3f}"])
    print(table(header, rows))
    for note in notes:
        print(f"  n/a: {note}")
    print("\nms per 1000 chars at 10000 chars (linear cost check):")
    for name, res in results.items():
        if isinstance(res, dict):
            print(f"  {name}: {res[10000]['median_ms'] / 10:.3f} ms/1k chars (vs {res[1000]['median_ms']:.3f} at 1000 chars)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
