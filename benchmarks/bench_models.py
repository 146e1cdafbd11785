"""Per-check latency and throughput of an encoder classifier on this CPU.

A DistilBERT-sized (6 x 768) BERT or a DeBERTa-v3-base-sized (12 x 768) DeBERTa-v2 with random
weights runs through the ``classifier`` filter: one caller at a time (batch 1), then 16
concurrent callers without and with micro-batching; each with torch and with ONNX Runtime.
"CPU ms/check" is process CPU time per check: on a shared, busy host it compares the backends
more fairly than wall-clock figures, which depend on what else runs.

    .venv/bin/python benchmarks/bench_models.py [--arch bert|deberta] [--requests 2] [--tokens 48]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guardrails.filters.classifier import ClassifierConfig, ClassifierFilter  # noqa: E402
from guardrails.types import Context  # noqa: E402
from tests.helpers.tiny_models import CORPUS, build_tokenizer  # noqa: E402

CALLERS = 16


def build(arch: str, folder: Path) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, DebertaV2Config, DebertaV2ForSequenceClassification

    tok = build_tokenizer(folder, max_length=512)
    shape = dict(hidden_size=768, num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512, num_labels=2,
                 id2label={0: "SAFE", 1: "INJECTION"}, label2id={"SAFE": 0, "INJECTION": 1}, vocab_size=max(len(tok), 30522))
    torch.manual_seed(0)
    if arch == "bert":
        model = BertForSequenceClassification(BertConfig(num_hidden_layers=6, **shape))
    else:
        config = DebertaV2Config(num_hidden_layers=12, relative_attention=True, position_buckets=256, pos_att_type=["p2c", "c2p"],
                                 max_relative_positions=-1, position_biased_input=False, type_vocab_size=0, norm_rel_ebd="layer_norm", share_att_key=True, **shape)
        model = DebertaV2ForSequenceClassification(config)
    model.eval().save_pretrained(str(folder))
    return folder


def texts(n: int, tokens: int) -> list[str]:
    words = " ".join(CORPUS).replace(",", "").split()
    return [" ".join(words[(i * 7 + j) % len(words)] for j in range(tokens - 2 + i % 5)) for i in range(n)]


def make_filter(folder: Path, *, onnx: bool, max_batch: int, wait_ms: float) -> ClassifierFilter:
    cfg = ClassifierConfig.model_validate({"filter": "classifier", "model": str(folder), "labels": {"INJECTION": "pi"},
                                           "onnx": onnx, "max_batch": max_batch, "batch_wait_ms": wait_ms})
    f = ClassifierFilter(cfg)
    f.ensure_loaded()
    f.check("warm up", Context())
    return f


def sequential(f: ClassifierFilter, items: list[str]) -> tuple[list[float], float]:
    lat = []
    start = time.perf_counter()
    for t in items:
        t0 = time.perf_counter()
        f.check(t, Context())
        lat.append((time.perf_counter() - t0) * 1000)
    return lat, time.perf_counter() - start


def concurrent(f: ClassifierFilter, items: list[str]) -> tuple[list[float], float]:
    lat: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CALLERS)

    def caller(k: int) -> None:
        barrier.wait()
        for t in items[k::CALLERS]:
            t0 = time.perf_counter()
            f.check(t, Context())
            with lock:
                lat.append((time.perf_counter() - t0) * 1000)

    workers = [threading.Thread(target=caller, args=(k,)) for k in range(CALLERS)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return lat, time.perf_counter() - start


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["bert", "deberta"], default="bert")
    ap.add_argument("--requests", type=int, default=2, help="checks per concurrent caller")
    ap.add_argument("--single", type=int, default=12, help="checks in the batch-1 run")
    ap.add_argument("--tokens", type=int, default=48, help="about this many words per text")
    ap.add_argument("--wait-ms", type=float, default=1.0, help="batch_wait_ms of the micro-batched runs")
    ap.add_argument("--no-onnx", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads per forward pass (default: torch's)")
    args = ap.parse_args()

    import os

    import torch

    if args.threads:
        from guardrails.runtime import set_num_threads

        set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GUARDRAILS_CACHE", str(Path(tmp) / "cache"))
        t0 = time.perf_counter()
        folder = build(args.arch, Path(tmp) / "model")
        n_params = sum(v.numel() for v in __import__("safetensors.torch", fromlist=["load_file"]).load_file(str(folder / "model.safetensors")).values())
        print(f"model: {args.arch} ({n_params / 1e6:.1f} M parameters, random weights), built in {time.perf_counter() - t0:.1f} s; "
              f"torch threads: {torch.get_num_threads()}, GUARDRAILS_NUM_THREADS: {os.environ.get('GUARDRAILS_NUM_THREADS') or args.threads or '-'}, CPU cores: {os.cpu_count()}")
        single = texts(args.single, args.tokens)
        many = texts(CALLERS * args.requests, args.tokens)
        rows = []
        forward: list[tuple[str, int, int, float, float]] = []
        for backend in (["torch"] if args.no_onnx else ["torch", "onnx"]):
            onnx = backend == "onnx"
            t0 = time.perf_counter()
            plain = make_filter(folder, onnx=onnx, max_batch=1, wait_ms=0)
            load_s = time.perf_counter() - t0
            batched = make_filter(folder, onnx=onnx, max_batch=16, wait_ms=args.wait_ms)
            for name, f, run, items in (
                ("batch 1, 1 caller", plain, sequential, single),
                (f"{CALLERS} callers, no batching", plain, concurrent, many),
                (f"{CALLERS} callers, micro-batching", batched, concurrent, many),
            ):
                b = f._scorer.batcher
                before = (b.batches, b.items) if b else (0, 0)
                cpu0 = time.process_time()
                lat, wall = run(f, items)
                cpu_ms = (time.process_time() - cpu0) * 1000 / len(items)
                mean_batch = (b.items - before[1]) / max(1, b.batches - before[0]) if b else 1.0
                rows.append((backend, name, statistics.median(lat), p(lat, 95), len(items) / wall, mean_batch, cpu_ms))
            print(f"{backend}: first load (incl. ONNX export) {load_s:.1f} s")
            clf = plain._scorer.classifier
            for size in (1, 16):
                chunks = [clf.encode(t)[0] for t in many[:size]]
                clf.predict(chunks)
                cpu0, t0 = time.process_time(), time.perf_counter()
                for _ in range(3):
                    clf.predict(chunks)
                wall_ms, cpu_ms = ((time.perf_counter() - t0) * 1000 / 3 / size, (time.process_time() - cpu0) * 1000 / 3 / size)
                forward.append((backend, size, max(len(c.ids) for c in chunks), wall_ms, cpu_ms))
        print(f"\n{'backend':<7} {'scenario':<30} {'p50 ms':>8} {'p95 ms':>8} {'checks/s':>9} {'mean batch':>10} {'CPU ms/check':>12}")
        for backend, name, p50, p95, tput, mb, cpu in rows:
            print(f"{backend:<7} {name:<30} {p50:>8.1f} {p95:>8.1f} {tput:>9.1f} {mb:>10.1f} {cpu:>12.1f}")
        print(f"\nforward pass only: {'backend':<7} {'batch':>5} {'tokens':>6} {'wall ms/text':>12} {'CPU ms/text':>11}")
        for backend, size, width, wall_ms, cpu_ms in forward:
            print(f"                   {backend:<7} {size:>5} {width:>6} {wall_ms:>12.1f} {cpu_ms:>11.1f}")
        by = {(r[0], r[1]): r for r in rows}
        print("\nratios (higher = better):")
        for backend in sorted({r[0] for r in rows}):
            nb, mb = by[(backend, f"{CALLERS} callers, no batching")], by[(backend, f"{CALLERS} callers, micro-batching")]
            print(f"  {backend}: micro-batching / no batching: throughput {mb[4] / nb[4]:.2f}x, CPU per check {nb[6] / mb[6]:.2f}x less")
        if not args.no_onnx:
            for scenario in [r[1] for r in rows if r[0] == "torch"]:
                t, o = by[("torch", scenario)], by[("onnx", scenario)]
                print(f"  {scenario}: onnx / torch: throughput {o[4] / t[4]:.2f}x, p50 latency {t[2] / o[2]:.2f}x lower, CPU per check {t[6] / o[6]:.2f}x less")


if __name__ == "__main__":
    main()
