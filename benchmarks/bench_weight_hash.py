"""Hashing a model's weights for pins (guardrails.weights_pin): a generated file, cold vs cached digest.

    .venv/bin/python benchmarks/bench_weight_hash.py [--size 1G] [--runs 3] [--dir /tmp]

Writes a file of ``--size`` bytes (default 1 GiB, pseudo-random) as ``model.safetensors`` in a fresh
temporary folder under ``--dir`` (deleted at the end, also on failure), then measures:

- cold: ``verify_pins`` with an empty hash cache, so every byte is read and hashed (sha256). The file
  was just written, so it is in the OS page cache: this is the hashing speed, not the disk's (a file
  read from disk for the first time is bounded by the disk too);
- cached: the same call with the digest in the cache file: a stat and a JSON read, no bytes hashed
  (the effective GB/s is what the figure means for a start-up check, not a throughput).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, table  # noqa: E402

sys.path.insert(0, str(REPO))
from guardrails.weights_pin import HashCache, WeightsPin, sha256_file, verify_pins  # noqa: E402

BLOCK = 64 * 1024 * 1024


def parse_size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("ib").rstrip("i")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def write_file(path: Path, size: int) -> None:
    block = os.urandom(min(BLOCK, size))  # one random block, repeated: hashing cost does not depend on content
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="1G", help="file size, e.g. 256M, 1G, 4G (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="cold runs (each with an empty cache); default %(default)s")
    parser.add_argument("--cached-runs", type=int, default=50, help="cached runs (default %(default)s)")
    parser.add_argument("--dir", default=None, help="where the temporary folder goes (default: the system's temp dir)")
    args = parser.parse_args()
    size = parse_size(args.size)
    work = Path(tempfile.mkdtemp(prefix="bench-weight-hash-", dir=args.dir))
    try:
        model = work / "model"
        model.mkdir()
        t = time.perf_counter()
        write_file(model / "model.safetensors", size)
        write_s = time.perf_counter() - t
        digest = sha256_file(model / "model.safetensors")  # the pin (and a warm-up of the page cache)
        pin = WeightsPin(sha256={"model.safetensors": digest})
        cache_file = work / "weights-hashes.json"

        cold = []
        for _ in range(args.runs):
            cache_file.unlink(missing_ok=True)
            cache = HashCache(cache_file)
            t = time.perf_counter()
            check = verify_pins(pin, model, cache=cache)
            cold.append(time.perf_counter() - t)
            assert check.ok and cache.reads == 1
        cached = []
        for _ in range(args.cached_runs):
            cache = HashCache(cache_file)  # as a new process would: the digest comes from the cache file
            t = time.perf_counter()
            check = verify_pins(pin, model, cache=cache)
            cached.append(time.perf_counter() - t)
            assert check.ok and cache.reads == 0
        gb = size / 1e9
        cold_s, cached_s = statistics.median(cold), statistics.median(cached)
        print(f"machine: {machine()}")
        print(f"file: {size / (1 << 30):.2f} GiB ({size} bytes), written in {write_s:.2f} s; sha256 via hashlib "
              f"(OpenSSL), 8 MiB reads")
        print(table(["case", "runs", "median", "min", "GB/s (median)"], [
            ["cold (empty cache: read + sha256)", len(cold), f"{cold_s:.3f} s", f"{min(cold):.3f} s", f"{gb / cold_s:.2f}"],
            ["cached (stat + cache file)", len(cached), f"{cached_s * 1e3:.3f} ms", f"{min(cached) * 1e3:.3f} ms",
             f"{gb / cached_s:,.0f} (effective)"],
        ]))
        print(f"cached / cold: {cold_s / cached_s:,.0f}x faster")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
