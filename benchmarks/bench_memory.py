"""Peak memory (RSS) of a process: bare import, the default policy loaded, and after N checks.

Each phase runs in a fresh child process so that peaks do not carry over.

    .venv/bin/python benchmarks/bench_memory.py [--checks 1000] [--policy default --policy FILE ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, table  # noqa: E402

CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
sys.path.insert(0, {bench_dir!r})
phase, policy, checks = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
if phase != "python":
    import guardrails
if phase in ("loaded", "checked"):
    guard = guardrails.Guard.from_policy(policy)
    guard.load()
load_s = time.perf_counter() - t0
if phase == "checked":
    from _common import synthetic_text
    texts = [synthetic_text(n, seed=i) for i, n in enumerate([200, 1000, 4000] * 4)]
    for i in range(checks):
        guard.check_input(texts[i % len(texts)])
        guard.check_output(texts[(i + 1) % len(texts)])
def vm(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
# VmHWM is the kernel's high-water mark of RSS (ru_maxrss lags behind it here)
peak = vm("VmHWM:") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"peak_mib": peak, "rss_mib": vm("VmRSS:"), "seconds": load_s}}))
"""


def measure(phase: str, policy: str, checks: int) -> dict[str, float] | str:
    code = CHILD.format(bench_dir=str(Path(__file__).resolve().parent))
    proc = subprocess.run([sys.executable, "-c", code, phase, policy, str(checks)], capture_output=True, text=True, cwd=REPO, timeout=300)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"failed: {last[:160]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=300, help="input+output check pairs in the last phase")
    parser.add_argument("--policy", action="append", help="policy name or file (repeatable; default: default)")
    args = parser.parse_args()
    policies = args.policy or ["default"]

    print("# Peak RSS (MiB), one fresh process per row")
    print(f"machine: {machine()}")
    base = measure("python", "-", 0)
    imp = measure("import", "-", 0)
    rows = []
    notes = []
    ref = base["peak_mib"] if isinstance(base, dict) else None
    for label, res in (("python interpreter", base), ("import guardrails", imp)):
        rows.append(_row(label, res, ref, notes))
    for policy in policies:
        rows.append(_row(f"policy {policy}: loaded", measure("loaded", policy, 0), ref, notes))
        rows.append(_row(f"policy {policy}: after {args.checks} input+output checks", measure("checked", policy, args.checks), ref, notes))
    print(table(["phase", "peak RSS (MiB)", "RSS at end (MiB)", "x bare python", "time to load (s)"], rows))
    for note in notes:
        print(f"  {note}")
    return 0


def _row(label: str, res: dict[str, float] | str, ref: float | None, notes: list[str]) -> list[str]:
    if isinstance(res, str):
        notes.append(f"{label}: {res}")
        return [label, "n/a", "n/a", "n/a", "n/a"]
    ratio = f"{res['peak_mib'] / ref:.1f}x" if ref else "n/a"
    return [label, f"{res['peak_mib']:.1f}", f"{res['rss_mib']:.1f}", ratio, f"{res['seconds']:.2f}"]


if __name__ == "__main__":
    sys.exit(main())
