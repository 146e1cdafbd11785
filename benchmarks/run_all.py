"""Run every benchmark script in this folder (bench_*.py, then eval_public.py) and collect the output.

    .venv/bin/python benchmarks/run_all.py [--out results.md] [--only NAME ...] [--skip-eval] [--timeout 300]

Each script runs in its own process with this interpreter; a failing or missing script is
reported and the others still run. Exit status 1 if any script failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import REPO, machine  # noqa: E402


def scripts(only: list[str] | None, skip_eval: bool) -> list[Path]:
    found = sorted(HERE.glob("bench_*.py"))
    if not skip_eval and (HERE / "eval_public.py").is_file():
        found.append(HERE / "eval_public.py")
    if only:
        found = [p for p in found if p.stem in only or p.name in only]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the collected output to this Markdown file")
    parser.add_argument("--only", action="append", help="run only this script (stem or file name); repeatable")
    parser.add_argument("--skip-eval", action="store_true", help="skip eval_public.py (accuracy on ../shared/data)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per script (default %(default)s)")
    args = parser.parse_args()

    todo = scripts(args.only, args.skip_eval)
    sections = [f"# guardrails benchmarks\n\nmachine: {machine()}\n"]
    summary = []
    failed = 0
    for script in todo:
        print(f"== {script.name} ==", flush=True)
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO, timeout=args.timeout)
            output, rc = proc.stdout, proc.returncode
            if rc != 0:
                output += "\n" + "\n".join(proc.stderr.strip().splitlines()[-15:])
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            output += f"\n(timed out after {args.timeout} s)"
            rc = -1
        took = time.perf_counter() - start
        failed += rc != 0
        print(output.rstrip(), flush=True)
        print(f"-- {script.name}: exit {rc}, {took:.1f} s\n", flush=True)
        sections.append(f"## {script.name}\n\n```\n{output.rstrip()}\n```\n\nexit {rc}, {took:.1f} s\n")
        summary.append((script.name, rc, took))
    print("== summary ==")
    for name, rc, took in summary:
        print(f"  {name:<22} {'ok' if rc == 0 else f'FAILED (exit {rc})':<16} {took:7.1f} s")
    if args.out:
        Path(args.out).write_text("\n".join(sections), encoding="utf-8")
        print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
