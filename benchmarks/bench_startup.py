"""Start-up cost a user sees: a one-shot ``guardrails check "hello"`` (and of a text with a phone number, which
loads Presidio; wall time, peak RSS) and the sidecar's memory with the default policy (after start and one guarded
request), with whatever extras are installed.

Every figure comes from fresh processes; the median of ``--runs`` runs is shown. ``--compare DIR`` runs another
checkout of the package (e.g. ``git archive 87f050f | tar -x -C /tmp/base``) in the same run, interleaved with
this one, and prints the ratios side by side.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--compare /tmp/base]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, table  # noqa: E402
from _sidecar import Sidecar, rss_mb, scripted_upstream, stop_on_sigterm, workdir  # noqa: E402

HEAVY = ("torch", "transformers", "spacy", "thinc", "presidio_analyzer", "fastapi", "uvicorn", "detoxify", "httpx")

# Runs the CLI's main() as the console script does, then reports which heavy packages it imported (on stderr,
# after the command's own output).
CLI_CHILD = r"""
import sys
from guardrails.cli.main import main
try:
    code = main(sys.argv[1:])
finally:
    heavy = sorted(m for m in {heavy!r} if m in sys.modules)
    sys.stderr.write("\nHEAVY " + ",".join(heavy) + "\n")
sys.exit(code)
"""


def _env(src: Path) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# Past the pii filter's screen (guardrails/pii_screen.py): this check pays for Presidio's import.
PII_TEXT = "call me at +1 212 555 0199"


def one_shot(src: Path, text: str = "hello") -> dict[str, Any]:
    """Wall time (s), peak RSS (MiB, the child's own ru_maxrss) and heavy imports of ``guardrails check TEXT``."""
    code = CLI_CHILD.format(heavy=HEAVY)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, "check", text], env=_env(src), cwd=src, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage alone (RUSAGE_CHILDREN would mix runs)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        log = err.read().decode(errors="replace")
    heavy = next((line[6:].split(",") for line in log.splitlines() if line.startswith("HEAVY ")), [])
    if proc.returncode not in (0, 1):  # 1: the text was blocked; anything else is a failure
        raise RuntimeError(f"guardrails check failed ({proc.returncode}):\n{log[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024,
            "heavy": [h for h in heavy if h]}


def sidecar(src: Path, tmp: Path, upstream_url: str) -> dict[str, Any]:
    """The sidecar (default policy) from ``src``: seconds to ready, RSS after start and after one guarded request."""
    config = {"upstream": upstream_url, "apps": {"app": {"policy": "default"}}, "reload_interval_s": 0, "audit": {"path": "off"}}
    t0 = time.perf_counter()
    car = Sidecar(config, workdir=tmp, name=f"sidecar-{src.name}", src=str(src)).wait()
    try:
        ready = time.perf_counter() - t0
        started = rss_mb(car.pid)
        import httpx

        answer = httpx.post(car.url + "/v1/chat/completions", timeout=60,
                            json={"model": "m", "messages": [{"role": "user", "content": "What is the capital of France?"}]})
        answer.raise_for_status()
        return {"ready_s": ready, "rss_start_mib": started, "rss_mib": rss_mb(car.pid), "hwm_mib": _hwm_mib(car.pid)}
    finally:
        car.stop()


def _hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure (median shown)")
    parser.add_argument("--sidecar-runs", type=int, default=3, help="sidecar starts per checkout")
    parser.add_argument("--compare", type=Path, help="another checkout of the package, measured in the same run")
    args = parser.parse_args()
    stop_on_sigterm()
    sources = {"this checkout": REPO}
    if args.compare:
        sources = {f"compare ({args.compare})": args.compare.resolve(), **sources}

    checks: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    pii_checks: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    cars: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    for name, src in sources.items():  # warm the file cache once, not measured
        one_shot(src)
    for _ in range(args.runs):  # interleaved, so that load on the host hits every checkout alike
        for name, src in sources.items():
            checks[name].append(one_shot(src))
            pii_checks[name].append(one_shot(src, PII_TEXT))
    with scripted_upstream() as (_, server), workdir("bench-startup-") as tmp:
        for _ in range(args.sidecar_runs):
            for name, src in sources.items():
                cars[name].append(sidecar(src, tmp, server.url + "/v1"))

    print("# Start-up and memory (median of fresh processes)")
    print(f"machine: {machine()}")
    print(f"runs: {args.runs} one-shot checks, {args.sidecar_runs} sidecar starts per checkout")
    first = next(iter(sources))
    columns: dict[str, list[str]] = {}
    for name in sources:
        c, s, ref_c, ref_s = checks[name], cars[name], checks[first], cars[first]
        cells = {
            "check wall (s)": f"{_median(c, 'wall_s'):.2f}",
            "check wall, fastest run (s)": f"{min(r['wall_s'] for r in c):.2f}",  # load on the host only adds time
            "check CPU (s)": f"{_median(c, 'cpu_s'):.2f}",
            "check peak RSS (MiB)": f"{_median(c, 'peak_mib'):.0f}",
            "check of a phone number wall (s)": f"{_median(pii_checks[name], 'wall_s'):.2f}",
            "check of a phone number peak RSS (MiB)": f"{_median(pii_checks[name], 'peak_mib'):.0f}",
            "sidecar ready (s)": f"{_median(s, 'ready_s'):.2f}",
            "sidecar RSS started (MiB)": f"{_median(s, 'rss_start_mib'):.0f}",
            "sidecar RSS after 1 request (MiB)": f"{_median(s, 'rss_mib'):.0f}",
            "sidecar peak RSS (MiB)": f"{_median(s, 'hwm_mib'):.0f}",
        }
        if len(sources) > 1:
            cells["check wall ratio"] = f"{_median(c, 'wall_s') / _median(ref_c, 'wall_s'):.2f}x"
            cells["check CPU ratio"] = f"{_median(c, 'cpu_s') / _median(ref_c, 'cpu_s'):.2f}x"
            cells["check peak RSS ratio"] = f"{_median(c, 'peak_mib') / _median(ref_c, 'peak_mib'):.2f}x"
            cells["sidecar RSS ratio"] = f"{_median(s, 'rss_mib') / _median(ref_s, 'rss_mib'):.2f}x"
        cells["heavy modules imported by check"] = ",".join(c[-1]["heavy"]) or "-"
        for key, value in cells.items():
            columns.setdefault(key, []).append(value)
    # One row per figure, one column per checkout: reads side by side however many figures there are.
    print(table(["figure", *sources], [[key, *values] for key, values in columns.items()]))
    print("targets (issue #20): check <= 1 s and <= 250 MiB; sidecar <= 200 MiB with the default policy")
    print("wall times include the load other work puts on this host (see the load average above)")
    print(json.dumps({name: {"check_wall_s": _median(checks[name], "wall_s"), "check_peak_mib": _median(checks[name], "peak_mib"),
                             "sidecar_rss_mib": _median(cars[name], "rss_mib")} for name in sources}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
