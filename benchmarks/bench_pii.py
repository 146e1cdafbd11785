"""Latency of the ``pii`` filter against bare Presidio on the same texts.

    .venv/bin/python benchmarks/bench_pii.py [--reps-scale 1.0] [--ner-model PATH_OR_PACKAGE]

For 200, 1,000 and 10,000 characters, pattern-only and with NER, prints median and p95 ms per
check of: our Guard.check_input, our PiiFilter.check, Presidio's AnalyzerEngine.analyze on
the very analyzer we share (what our layer adds), and a bare AnalyzerEngine built the way
Presidio documents (NoOpNlpEngine / SpacyNlpEngine on the same model), with ratios.
Without --ner-model, the NER rows use a tiny spaCy NER trained on the spot (tok2vec + ner,
the same component types as en_core_web_sm's NER, not its accuracy).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from guardrails import Context, Guard  # noqa: E402
from guardrails.filters.pii import DEFAULT_ENTITIES, PiiFilter  # noqa: E402

SIZES = (200, 1000, 10000)
REPS = {200: 80, 1000: 30, 10000: 8}
DATA = Path(os.environ.get("GUARDRAILS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "pii.jsonl"


def corpus() -> tuple[str, list[str]]:
    """Sentences to build texts from: the shared PII set when present, else synthetic ones."""
    if DATA.is_file():
        with DATA.open(encoding="utf-8") as fh:
            return "shared/data/pii.jsonl", [json.loads(line)["text"] for line in fh if line.strip()]
    rng = random.Random(0)
    out = []
    for i in range(300):
        out.append(rng.choice([
            f"Please email user{i}@example.org about order {rng.randint(1000, 9999)}.",
            f"Call me on +44 20 7946 {rng.randint(1000, 9999)} after lunch.",
            "My card 4111 1111 1111 1111 was charged twice last week.",
            "The meeting moved to Thursday afternoon in the main room.",
            f"Server 10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)} stopped answering pings.",
            "Summarise the attached report in three bullet points.",
        ]))
    return "synthetic", out


def texts_of(size: int, sentences: list[str], n: int = 8) -> list[str]:
    """``n`` different texts of about ``size`` characters (cut at a word boundary)."""
    rng = random.Random(size)
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size:
            parts.append(rng.choice(sentences))
        text = " ".join(parts)[:size]
        out.append(text[: text.rfind(" ")] if " " in text[size // 2 :] else text)
    return out


def measure(fns: dict[str, Callable[[str], Any]], texts: list[str], reps: int) -> dict[str, list[float]]:
    """Interleave the callables on the same texts so that machine noise hits them alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        for t in texts[:2]:
            fn(t)
    for i in range(reps):
        text = texts[i % len(texts)]
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(text)
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(round(0.95 * len(xs))) - 1)]


def bare_analyzer(ner_model: str | None) -> Any:
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine, SpacyNlpEngine

    if ner_model is None:
        nlp: Any = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    else:
        nlp = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": ner_model}])
    nlp.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def run_mode(label: str, ner_model: str | None, sentences: list[str], scale: float, context: bool = True) -> None:
    entry: dict[str, Any] = {"filter": "pii", "action": "redact", "context_words": context}
    if ner_model:
        entry["ner_model"] = ner_model
    guard = Guard.from_policy({"name": "bench", "input": [entry]})
    t0 = time.perf_counter()
    guard.load()
    load_s = time.perf_counter() - t0
    flt = guard.filters("input")[0].filter
    assert isinstance(flt, PiiFilter)
    entities = list(flt.entities)
    shared = flt._analyzer
    bare = bare_analyzer(ner_model)
    bare_entities = [e for e in entities if e in set(bare.get_supported_entities("en"))]
    ctx = Context()
    fns: dict[str, Callable[[str], Any]] = {
        "guard": lambda t: guard.check_input(t),
        "filter": lambda t: flt.check(t, ctx),
        "shared": lambda t: shared.analyze(t, language="en", entities=entities, score_threshold=0.4),
        "bare": lambda t: bare.analyze(t, language="en", entities=bare_entities, score_threshold=0.4),
    }
    print(f"\n{label}: {len(entities)} entities; load {load_s:.2f} s (analyzer shared per process, never inside a check)")
    print(f"{'chars':>6} {'n':>4} | {'guard med':>9} {'p95':>7} | {'filter med':>10} {'p95':>7} | "
          f"{'shared med':>10} {'p95':>7} | {'bare med':>8} {'p95':>7} | {'guard/shared':>12} {'guard/bare':>10}")
    for size in SIZES:
        texts = texts_of(size, sentences)
        reps = max(5, int(REPS[size] * scale))
        times = measure(fns, texts, reps)
        med = {k: statistics.median(v) for k, v in times.items()}
        q = {k: p95(v) for k, v in times.items()}
        print(f"{size:>6} {reps:>4} | {med['guard']:>9.2f} {q['guard']:>7.2f} | {med['filter']:>10.2f} {q['filter']:>7.2f} | "
              f"{med['shared']:>10.2f} {q['shared']:>7.2f} | {med['bare']:>8.2f} {q['bare']:>7.2f} | "
              f"{med['guard'] / med['shared']:>12.2f} {med['guard'] / med['bare']:>10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps-scale", type=float, default=1.0, help="multiply the repetitions (default 1.0)")
    parser.add_argument("--ner-model", help="spaCy package or folder for the NER rows (default: a tiny NER trained now)")
    parser.add_argument("--no-ner", action="store_true", help="pattern-only rows only")
    args = parser.parse_args()
    source, sentences = corpus()
    print(f"texts: {source}; times in ms per check; default entities: {', '.join(DEFAULT_ENTITIES)}")
    print("guard = Guard.check_input (engine + filter); filter = PiiFilter.check; shared = AnalyzerEngine.analyze on our "
          "shared analyzer; bare = AnalyzerEngine as Presidio documents it (NoOpNlpEngine, or SpacyNlpEngine on the same model)")
    run_mode("pattern-only (context words on, the default)", None, sentences, args.reps_scale)
    run_mode("pattern-only, context_words: false (same work as bare NoOpNlpEngine)", None, sentences, args.reps_scale, context=False)
    if args.no_ner:
        return
    if args.ner_model:
        run_mode(f"with NER ({args.ner_model})", args.ner_model, sentences, args.reps_scale)
        return
    from tests.helpers.pii_models import build_spacy_ner

    with tempfile.TemporaryDirectory() as tmp:
        model = str(build_spacy_ner(Path(tmp) / "ner"))
        run_mode("with NER (tiny spaCy tok2vec+ner trained here)", model, sentences, args.reps_scale)


if __name__ == "__main__":
    main()
