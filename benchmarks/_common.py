"""Helpers shared by the benchmark scripts (timing, synthetic text, tables, machine description)."""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GUARDRAILS_DATA", REPO.parent / "shared" / "data"))

# Offline everywhere: benchmarks never reach a model hub or fetch tldextract's suffix list.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

_WORDS = (
    "the a of to and in is it that for on with as was at by this be from or have an they which one you were her all "
    "she there would their we him been has when who will more no if out so said what up its about into than them can "
    "only other new some could time these two may then do first any my now such like our over man me even most made "
    "after also did many before must through back years where much your way well down should because each just those "
    "people how too little state good very make world still own see men work long get here between both life being "
    "under never day same another know while last might us great old year off come since against go came right used "
    "take three weather garden river recipe meeting report travel museum library coffee morning question answer"
).split()


def synthetic_text(n_chars: int, seed: int = 0) -> str:
    """Benign English-like filler of exactly ``n_chars`` characters (reproducible)."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < n_chars:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 16))).capitalize() + ". "
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)[:n_chars]


def time_call(fn: Callable[[], Any], *, budget_s: float = 0.6, min_runs: int = 5, max_runs: int = 500, warmup: int = 2) -> dict[str, float]:
    """Median and p95 wall time (ms) of ``fn`` over as many runs as fit in ``budget_s``."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() < deadline):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))], "runs": len(times)}


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (readable in a terminal too)."""
    cells = [[str(c) for c in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> str:
    """One line describing the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = ""
    torch = sys.modules.get("torch")  # only when already imported: importing it costs a second
    if torch is not None:
        threads = f", torch {torch.__version__} threads={torch.get_num_threads()}"
    try:  # other work on the host skews every wall-clock figure: say how busy it was
        load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    except OSError:
        load = ""
    return (f"{cpu}, {os.cpu_count()} CPUs visible, Python {sys.version.split()[0]}, "
            f"{platform.system()} {platform.release()}{threads}{load}")
