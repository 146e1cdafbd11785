"""Accuracy on the public evaluation sets in ../shared/data: the default policy, each of its input
filters alone, and peers that run offline here, side by side on the same rows.

    .venv/bin/python benchmarks/eval_public.py [--data DIR] [--per-source 150 | --full] [--json FILE]

Classification files (label safe/unsafe): prompts are checked on the input stage, model answers
(rows with "stage": "output", e.g. jbb_responses, xstest_completions) on the output stage together
with the prompt that produced them; "caught" = a violation that blocks or flags (a redaction of PII
or a secret rewrites the text, it is not a verdict: shown apart). For unsafe sources the cell is the
recall (share caught), for safe sources the false-positive rate (share wrongly caught); real-traffic
sources (toxicchat, arena_hard, alpaca_eval, multiwoz) are also shown per length band, with
precision at the policy's thresholds. PII (pii.jsonl): span precision/recall per entity type.
The shipped `builtin` detector was trained on these sets (scripts/train_builtin.py: 70/15/15 by
group, each group's side a seeded hash of its source and group; the sources it never trains on,
toxicchat, alpaca_eval and the model answers, split 50/50 into threshold choice and test), so by
default only its held-out *test* rows are used; --rows all uses everything (optimistic).
Rows are then sampled per source (seed 0) to keep one run under ~3 minutes; --full keeps all.
Peers: alt-profanity-check (pip install -c constraints.txt alt-profanity-check; not a dependency
of the package) and Presidio alone (pattern recognizers, no spaCy model: none is installable offline).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, SHARED_DATA, machine, table  # noqa: E402

from guardrails.eval import metrics  # noqa: E402
from guardrails.eval.dataset import Example, read_dataset  # noqa: E402
from guardrails.eval.summary import length_band  # noqa: E402

REAL_TRAFFIC = ("toxicchat", "arena_hard", "alpaca_eval", "multiwoz")

PII_FILE = "pii.jsonl"
# Gold types of presidio-research's synthetic set -> the names Presidio (and our pii filter) report.
PII_ALIASES = {"GPE": "LOCATION", "DOMAIN_NAME": "URL"}
# Types a pattern engine can find without an NER model (names, places and organisations need one).
PATTERN_TYPES = {"CREDIT_CARD", "PHONE_NUMBER", "EMAIL_ADDRESS", "URL", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "US_DRIVER_LICENSE"}


class System:
    """Something that says caught/not caught (and a score) for a text."""

    def __init__(self, name: str, predict: Callable[[Example], tuple[bool, float | None, bool]], note: str = "") -> None:
        self.name = name
        self.predict = predict
        self.note = note


def guard_system(name: str, policy: Any, note: str = "") -> System | str:
    """A Guard as a System; caught = a block or flag; plus whether it redacted.

    The score (for AUPRC) is the highest score of the filters whose action blocks or flags; a
    policy of redacting filters only has no score.
    """
    from guardrails import Guard
    from guardrails.types import Action, Stage

    try:
        guard = Guard.from_policy(policy)
        guard.load()
        probe = guard.check_input("hello")
        if probe.errors:
            return f"{name}: filter error on a probe text ({probe.errors[0].error})"
    except Exception as exc:  # noqa: BLE001 - a filter not shipped yet: report, don't crash
        return f"{name}: not available ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"

    # length blocks, but its 0/1 score says nothing about safety
    judging = {stage: {b.id for b in guard.filters(stage) if b.action in (Action.BLOCK, Action.FLAG) and b.filter.name != "length"}
               for stage in Stage}

    def predict(ex: Example) -> tuple[bool, float | None, bool]:
        stage = ex.stage or Stage.INPUT
        v = guard.check_output(ex.text, prompt=ex.prompt) if stage is Stage.OUTPUT else guard.check_input(ex.text)
        scores = [s for fid, cats in v.scores.items() if fid in judging[stage] for s in cats.values()]
        scores += [x.score for x in v.violations if x.filter in judging[stage] and x.error is None]
        actions = {x.action.value for x in v.violations}
        score = max(scores, default=0.0) if judging[stage] else None
        return bool(actions & {"block", "flag", "respond"}), score, "redact" in actions

    return System(name, predict, note)


def profanity_system() -> System | str:
    try:
        import profanity_check
        from importlib.metadata import version
    except ImportError:
        return "alt-profanity-check: not installed (pip install -c constraints.txt alt-profanity-check)"

    def predict(ex: Example) -> tuple[bool, float | None, bool]:
        p = float(profanity_check.predict_prob([ex.text])[0])
        return p >= 0.5, p, False

    return System(f"alt-profanity-check {version('alt-profanity-check')}", predict, "peer; prob >= 0.5 = caught (its predict())")


def heldout(examples: list[Example], data: Path) -> tuple[list[Example], str]:
    """The rows the builtin detector's training held out for its test split (same split code)."""
    import importlib.util

    script = REPO / "scripts" / "train_builtin.py"
    if not script.is_file():
        return examples, "ALL rows (scripts/train_builtin.py not found: cannot tell training rows apart; optimistic)"
    spec = importlib.util.spec_from_file_location("_train_builtin", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    test = {(r.source, r.text) for r in module.split(module.load_public(data))["test"]}
    kept = [ex for ex in examples if (ex.source, ex.text) in test]
    return kept, ("held-out test split of the builtin detector (15% of groups, by a seeded hash of source and "
                  "group; 50% of the never-trained-on sources: scripts/train_builtin.py split())")


def sample(examples: list[Example], per_source: int | None) -> list[Example]:
    """At most ``per_source`` rows of each source, chosen with random.Random(0), file order kept."""
    if per_source is None:
        return examples
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        by_source[ex.source].append(i)
    keep: set[int] = set()
    for idx in by_source.values():
        keep.update(idx if len(idx) <= per_source else random.Random(0).sample(idx, per_source))
    return [ex for i, ex in enumerate(examples) if i in keep]


def evaluate(system: System, examples: Sequence[Example]) -> dict[str, Any]:
    caught, scores, times, redacted = [], [], [], []
    for ex in examples:
        t = time.perf_counter()
        c, s, r = system.predict(ex)
        times.append((time.perf_counter() - t) * 1000)
        caught.append(c)
        scores.append(s)
        redacted.append(r)
    y = [ex.unsafe for ex in examples]
    conf = metrics.confusion(y, caught)
    have = [(yy, s) for yy, s in zip(y, scores) if s is not None]
    ap = metrics.average_precision([a for a, _ in have], [b for _, b in have]) if have else None
    groups: dict[tuple[str, str], list[bool]] = defaultdict(list)
    cats: dict[tuple[str, str], list[bool]] = defaultdict(list)
    red: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for ex, c, r in zip(examples, caught, redacted):
        groups[(ex.source, ex.label or "")].append(c)
        cats[(ex.category, ex.label or "")].append(c)
        red[(ex.source, ex.label or "")].append(r)
    bands: dict[tuple[str, str, str], list[bool]] = defaultdict(list)
    for ex, c in zip(examples, caught):
        if ex.source in REAL_TRAFFIC:
            bands[(ex.source, ex.label or "", length_band(len(ex.text)))].append(c)
    per_source_conf = {}
    for src in sorted({ex.source for ex in examples}):
        idx = [i for i, ex in enumerate(examples) if ex.source == src]
        per_source_conf[src] = metrics.confusion([y[i] for i in idx], [caught[i] for i in idx]).to_dict()
    return {
        "confusion": conf.to_dict(),
        "auprc": ap,
        "by_length": {f"{s}|{l}|{b}": (sum(v), len(v)) for (s, l, b), v in bands.items()},
        "source_confusion": per_source_conf,
        "latency_ms": metrics.percentiles(times),
        "by_source": {f"{s}|{l}": sum(v) / len(v) for (s, l), v in groups.items()},
        "by_category": {f"{c}|{l}": sum(v) / len(v) for (c, l), v in cats.items()},
        "redacted_by_source": {f"{s}|{l}": sum(v) / len(v) for (s, l), v in red.items()},
        "redacted": sum(redacted) / len(redacted) if redacted else None,
    }


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def classification_tables(systems: list[System], results: dict[str, dict[str, Any]], examples: Sequence[Example]) -> None:
    names = [s.name for s in systems]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    cat_counts: dict[tuple[str, str], int] = defaultdict(int)
    for ex in examples:
        counts[(ex.source, ex.label or "")] += 1
        cat_counts[(ex.category, ex.label or "")] += 1

    print("\n## Per source: recall on unsafe rows, false-positive rate on safe rows (share caught)\n")
    rows = []
    first = names[0]
    for (src, label), n in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        what = "recall" if label == "unsafe" else "FPR"
        rows.append([src, label, what, n, *(pct(results[x]["by_source"].get(f"{src}|{label}")) for x in names),
                     pct(results[first]["redacted_by_source"].get(f"{src}|{label}"))])
    print(table(["source", "label", "metric", "n", *names, f"{first}: redacted"], rows))

    print("\n## Per category\n")
    rows = []
    for (cat, label), n in sorted(cat_counts.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        what = "recall" if label == "unsafe" else "FPR"
        rows.append([cat, label, what, n, *(pct(results[x]["by_category"].get(f"{cat}|{label}")) for x in names)])
    print(table(["category", "label", "metric", "n", *names], rows))

    print("\n## Real traffic per length band (characters): caught / rows\n")
    rows = []
    keys = sorted({k.rsplit("|", 1)[0] for x in names for k in results[x]["by_length"]})
    bands = sorted({k.rsplit("|", 1)[1] for x in names for k in results[x]["by_length"]}, key=lambda b: int(b.split("-")[0].rstrip("+")))
    for key in keys:
        src, label = key.split("|")
        for x in names:
            cells = [results[x]["by_length"].get(f"{key}|{b}") for b in bands]
            rows.append([src, label, x, *(f"{c}/{n}" if n is not None else "-" for c, n in (cell or (None, None) for cell in cells))])
    if rows:
        print(table(["source", "label", "system", *bands], rows))

    print("\n## Precision at the policy's thresholds, per source with both labels\n")
    rows = []
    for src in sorted({ex.source for ex in examples}):
        c = results[first]["source_confusion"].get(src)
        if c and c["positives"] and c["negatives"]:
            rows.append([src, c["positives"], c["negatives"], pct(c["precision"]), pct(c["recall"]), pct(c["fpr"])])
    if rows:
        print(table(["source", "unsafe", "safe", "precision", "recall", "FPR"], rows))

    print("\n## Pooled over all sampled rows (precision depends on the unsafe/safe mix of the sample)\n")
    rows = []
    for x in names:
        r = results[x]
        c = r["confusion"]
        lat = r["latency_ms"]
        rows.append([x, pct(c["precision"]), pct(c["recall"]), pct(c["f1"]), pct(c["fpr"]),
                     "n/a" if r["auprc"] is None else f"{r['auprc']:.3f}", f"{lat['p50']:.3f}", f"{lat['p95']:.3f}"])
    print(table(["system", "precision", "recall", "F1", "FPR", "AUPRC", "p50 ms", "p95 ms"], rows))
    print(f"\n{first} redacted (PII/secrets) {pct(results[first]['redacted'])} of all sampled rows.")


# -- PII -----------------------------------------------------------------------------------------


def pii_guard(policy: Any) -> Callable[[str], list[tuple[int, int, str]]] | str:
    from guardrails import Guard

    try:
        guard = Guard.from_policy(policy)
        guard.load()
    except Exception as exc:  # noqa: BLE001
        return f"not available ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})"

    def spans(text: str) -> list[tuple[int, int, str]]:
        v = guard.check_input(text)
        return [(s.start, s.end, x.category) for x in v.violations for s in x.spans]

    return spans


def presidio_alone() -> tuple[Callable[[str], list[tuple[int, int, str]]], str] | str:
    try:
        from importlib.metadata import version

        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
    except ImportError as exc:
        return f"presidio-analyzer not installed ({exc})"
    engine = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]), supported_languages=["en"])

    def spans(text: str) -> list[tuple[int, int, str]]:
        return [(r.start, r.end, r.entity_type) for r in engine.analyze(text=text, language="en")]

    return spans, f"presidio-analyzer {version('presidio-analyzer')} alone (NoOpNlpEngine: pattern recognizers, score >= 0)"


def pii_section(data: Path, default_policy: str) -> dict[str, Any]:
    path = data / PII_FILE
    if not path.is_file():
        print(f"\n(no {PII_FILE} in {data}: PII section skipped)")
        return {}
    docs = [ex for ex in read_dataset([path]) if ex.spans is not None]
    gold = [[(s.start, s.end, s.entity_type) for s in ex.spans or ()] for ex in docs]
    candidates: list[tuple[str, Any]] = [
        ("pii filter alone", pii_guard({"name": "pii-alone", "input": [{"filter": "pii", "action": "redact"}]})),
        (f"policy {default_policy}", pii_guard(default_policy)),
    ]
    peer = presidio_alone()
    candidates.append(("presidio alone", peer if isinstance(peer, str) else peer[0]))
    preds: dict[str, list[list[tuple[int, int, str]]]] = {}
    times: dict[str, float] = {}
    notes = []
    for name, fn in candidates:
        if isinstance(fn, str):
            notes.append(f"{name}: {fn}")
            continue
        t = time.perf_counter()
        preds[name] = [fn(ex.text) for ex in docs]
        times[name] = (time.perf_counter() - t) * 1000 / max(len(docs), 1)
    if not isinstance(peer, str):
        notes.append(f"presidio alone = {peer[1]}")
    print(f"\n## PII spans ({PII_FILE}: {len(docs)} documents, {sum(map(len, gold))} gold spans; overlap match of the same type;"
          f" aliases {PII_ALIASES})\n")
    scores = {name: metrics.span_scores(gold, p, aliases=PII_ALIASES, entities={PII_ALIASES.get(t, t) for d in gold for *_, t in d})
              for name, p in preds.items()}
    entity_types = sorted({t for s in scores.values() for t in s if t != "ALL"}, key=lambda t: (-next(iter(scores.values()))[t].support, t)) if scores else []
    header = ["entity", "support"] + [f"{n} {m}" for n in preds for m in ("P", "R")]
    rows = []
    for t in [*entity_types, "ALL"]:
        first = next(iter(scores.values()))
        rows.append([t, first[t].support if t in first else 0,
                     *(v for n in preds for v in (pct(scores[n][t].precision) if t in scores[n] else "n/a",
                                                  pct(scores[n][t].recall) if t in scores[n] else "n/a"))])
    patterned = {name: metrics.span_scores(gold, p, aliases=PII_ALIASES, entities=PATTERN_TYPES)["ALL"] for name, p in preds.items()}
    if preds:
        first_p = next(iter(patterned.values()))
        rows.append(["ALL pattern types*", first_p.support,
                     *(v for n in preds for v in (pct(patterned[n].precision), pct(patterned[n].recall)))])
        print(table(header, rows))
        print(f"\n*pattern types: {', '.join(sorted(PATTERN_TYPES))} (no NER model needed)")
        print("\nms per document: " + ", ".join(f"{n} {ms:.3f}" for n, ms in times.items()))
    for note in notes:
        print(f"  note: {note}")
    out = {n: {t: c.to_dict() for t, c in s.items()} for n, s in scores.items()}
    for n, c in patterned.items():
        out[n]["ALL_PATTERN_TYPES"] = c.to_dict()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="folder of the public sets (default: %(default)s)")
    parser.add_argument("--per-source", type=int, default=150, help="rows sampled per source (default %(default)s)")
    parser.add_argument("--full", action="store_true", help="use every row (slow: ~30k rows)")
    parser.add_argument("--policy", default="default", help="the policy to evaluate (default: %(default)s)")
    parser.add_argument("--rows", choices=["heldout", "all"], default="heldout",
                        help="heldout: only rows the builtin detector was not trained on (default); all: every row")
    parser.add_argument("--json", type=Path, help="also write all numbers to this JSON file")
    args = parser.parse_args()

    if not args.data.is_dir():
        print(f"public evaluation data not found at {args.data}: nothing to evaluate.\n"
              "Point --data (or GUARDRAILS_DATA) at a folder of JSONL files "
              "({\"text\", \"label\": \"safe\"|\"unsafe\", \"category\", \"source\"}; PII: {\"text\", \"spans\"}).")
        return 0
    started = time.perf_counter()
    files = sorted(p for p in args.data.glob("*.jsonl") if p.name != PII_FILE)
    all_rows = [ex for ex in read_dataset(files) if ex.has_label]
    pool, pool_note = heldout(all_rows, args.data) if args.rows == "heldout" else (all_rows, "ALL rows (includes the builtin detector's training rows: optimistic)")
    rows = sample(pool, None if args.full else args.per_source)

    from guardrails.policy import load_policy

    policy = load_policy(args.policy)
    candidates: list[System | str] = [guard_system(f"policy {policy.name}", args.policy)]
    # Each filter of the policy alone, on every stage where the policy runs it (answers are scored on the output stage).
    alone: dict[str, dict[str, Any]] = {}
    for stage in ("input", "output"):
        for cfg in getattr(policy, stage):
            fid = cfg.id or cfg.filter
            entry = cfg.model_dump(mode="json", exclude_none=True, exclude={"enabled"})
            alone.setdefault(fid, {"name": f"{fid}-alone", "responses": policy.responses}).setdefault(stage, []).append(entry)
    candidates += [guard_system(f"{fid} alone", spec) for fid, spec in alone.items()]
    # The shipped offline detector, also when the evaluated policy does not include it.
    if "builtin" not in alone:
        candidates.append(guard_system("builtin alone", {"name": "builtin-alone", "input": [{"filter": "builtin"}],
                                                         "output": [{"filter": "builtin"}]}))
    candidates.append(profanity_system())
    systems = [c for c in candidates if isinstance(c, System)]
    skipped = [c for c in candidates if isinstance(c, str)]

    print("# Accuracy on public sets (prompts on the input stage, model answers on the output stage with their prompt;"
          " caught = a block, flag or respond)")
    print(f"machine: {machine()}")
    print(f"data: {args.data} — {len(rows)} of {len(all_rows)} labelled rows from {len({e.source for e in rows})} sources")
    print(f"rows: {pool_note}: {len(pool)} rows; "
          f"{'all of them' if args.full else f'at most {args.per_source} per source, random.Random(0)'}")
    print(f"policy {policy.name}: input = {[c.id or c.filter for c in policy.input]}, output = {[c.id or c.filter for c in policy.output]}")
    results = {s.name: evaluate(s, rows) for s in systems}
    classification_tables(systems, results, rows)
    for s in systems:
        if s.note:
            print(f"  note: {s.name}: {s.note}")
    for msg in skipped:
        print(f"  not run: {msg}")
    print("  not run: LLM Guard (llm-guard 0.3.16): installing it would downgrade transformers 5 -> 4.51 and presidio in this "
          "environment; its classifier scanners (PromptInjection, Toxicity, BanTopics, Gibberish) download Hugging Face "
          "models, unreachable here; its download-free scanners (BanSubstrings, Regex, Secrets, InvisibleText) have no "
          "matching labelled set here.")
    pii = pii_section(args.data, args.policy)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"rows": len(rows), "classification": results, "pii": pii}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
