"""Render evaluation metrics: a terminal table, report.md, metrics.json and PNG plots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

from guardrails.eval import metrics
from guardrails.eval.runner import EvalRun
from guardrails.eval.summary import POSITIVE_MEANING, scored

GROUP_COLUMNS = ("n", "unsafe", "safe", "caught", "blocked", "redacted", "precision", "recall", "F1", "FPR")


def fmt(value: float | None, pct: bool = True) -> str:
    """A rate as a percentage with one decimal (or a plain number), 'n/a' for undefined."""
    if value is None:
        return "n/a"
    return f"{value * 100:.1f}%" if pct else f"{value:.3f}"


def _group_cells(name: str, g: dict[str, Any]) -> list[str]:
    return [name, str(g["n"]), str(g["positives"]), str(g["negatives"]), fmt(g["catch_rate"]), fmt(g["block_rate"]), fmt(g["redact_rate"]),
            fmt(g["precision"]), fmt(g["recall"]), fmt(g["f1"]), fmt(g["fpr"])]


def group_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    if summary["overall"]:
        rows.append(_group_cells("ALL", summary["overall"]))
    for kind, label in (("by_category", "category"), ("by_source", "source"), ("by_stage", "stage"), ("by_length", "length")):
        groups = summary.get(kind, {})
        if len(groups) > 1 or (kind == "by_category" and groups):
            rows.extend(_group_cells(f"{label}: {name}", g) for name, g in groups.items())
    return rows


def filter_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for fid, f in summary["filters"].items():
        if not f["scored"]:
            continue
        if f["distinct_scores"] < 2 and f["category"] is not None:
            continue  # a category that never scored above 0 here: only in metrics.json
        if f["distinct_scores"] < 2:
            # A constant score ranks nothing: its AUPRC is just the prevalence.
            rows.append([fid, str(f["scored"]), "1", "n/a (constant score)", *["n/a"] * len(f["operating_points"])])
            continue
        cells = [fid, str(f["scored"]), str(f["distinct_scores"]), fmt(f["auprc"], pct=False)]
        for op in f["operating_points"]:
            thr = "none" if op["threshold"] is None else f"{op['threshold']:g}"  # as written in a policy
            cells.append(f"{thr} (recall {fmt(op['recall'])}, FPR {fmt(op['fpr'])})")
        rows.append(cells)
    return rows


def pii_rows(summary: dict[str, Any], mode: str = "overlap") -> list[list[str]]:
    pii = summary.get("pii")
    if not pii:
        return []
    return [[etype, str(c["support"]), str(c["tp"]), str(c["fp"]), str(c["fn"]), fmt(c["precision"]), fmt(c["recall"]), fmt(c["f1"])]
            for etype, c in pii[mode].items()]


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width table for the terminal."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def _filter_header(summary: dict[str, Any]) -> list[str]:
    targets: list[dict[str, Any]] = next((f["operating_points"] for f in summary["filters"].values() if f["operating_points"]), [])
    return ["filter", "scored", "distinct", "AUPRC", *(f"threshold @ FPR<={op['target_fpr'] * 100:g}%" for op in targets)]


PII_HEADER = ("entity", "support", "TP", "FP", "FN", "precision", "recall", "F1")


def _headline(summary: dict[str, Any]) -> str:
    meaning = POSITIVE_MEANING[summary["positive"]]
    return (f"policy {summary['policy']} ({summary['policy_hash'][:19]}), {summary['examples']} examples "
            f"({summary['labelled']} labelled); caught = {meaning}; filter errors on {summary['filter_errors']} example(s)")


def _latency_line(summary: dict[str, Any]) -> str:
    lat = summary["latency_ms"]
    if lat["p50"] is None:
        return "latency: no examples"
    return (f"latency per check: p50 {lat['p50']:.3f} ms, p95 {lat['p95']:.3f} ms, p99 {lat['p99']:.3f} ms, "
            f"max {lat['max']:.3f} ms; wall {summary['wall_s']:.2f} s")


def render_text(summary: dict[str, Any]) -> str:
    """What ``guardrails eval`` prints."""
    parts = [_headline(summary)]
    rows = group_rows(summary)
    if rows:
        parts.append(text_table(["group", *GROUP_COLUMNS], rows))
    frows = filter_rows(summary)
    if frows and summary["labelled"]:
        parts.append(text_table(_filter_header(summary), frows))
    prows = pii_rows(summary)
    if prows:
        parts.append("PII spans (overlap match, same entity type):\n" + text_table(PII_HEADER, prows))
    parts.append(_latency_line(summary))
    return "\n\n".join(parts)


def render_markdown(summary: dict[str, Any], plots: Sequence[str] = ()) -> str:
    """The body of report.md."""
    out = [f"# Evaluation of policy `{summary['policy']}`", "", _headline(summary) + ".", ""]
    out += ["Rates: caught = share of examples the policy caught (see above), blocked = share blocked, redacted = share with a "
            "redaction; precision/recall/F1/FPR treat *unsafe* as the positive class and *caught* as the prediction; "
            "n/a = undefined (no example of that class).", ""]
    rows = group_rows(summary)
    if rows:
        out += ["## Detection", "", md_table(["group", *GROUP_COLUMNS], rows), ""]
    frows = filter_rows(summary)
    if frows and summary["labelled"]:
        out += ["## Scored filters", "",
                "AUPRC = average precision of the filter's highest category score; the threshold is one to write in "
                "the policy: the lowest whose false-positive rate meets the target (so the highest recall at that "
                "FPR), rounded down to 3 digits where that catches the same examples (metrics.json: lowest_score "
                "is the lowest score caught).", "",
                md_table(_filter_header(summary), frows), ""]
        for fid, f in summary["filters"].items():
            if f["sweep"]:
                out += [f"Threshold sweep of `{fid}`:", "",
                        md_table(["threshold", *(f"{p['threshold']:.1f}" for p in f["sweep"])],
                                 [[name, *(fmt(p[key]) for p in f["sweep"])]
                                  for name, key in (("FPR", "fpr"), ("recall", "recall"), ("precision", "precision"))]), ""]
    if summary.get("pii"):
        pii = summary["pii"]
        out += ["## PII spans", "", f"{pii['documents']} documents; a predicted span matches a gold span of the same type "
                f"that it overlaps (one-to-one). Types scored: {', '.join(pii['entities'])}.", "",
                md_table(PII_HEADER, pii_rows(summary, "overlap")), "", "Exact boundaries:", "",
                md_table(PII_HEADER, pii_rows(summary, "exact")), ""]
    out += ["## Latency", "", _latency_line(summary) + ".", ""]
    if plots:
        out += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    return "\n".join(out)


def write_report(run: EvalRun, summary: dict[str, Any], directory: str | Path, *, plots: bool = True) -> list[Path]:
    """Write report.md, metrics.json and (unless ``plots`` is false) PNG plots; return the paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    images = write_plots(run, summary, d) if plots else []
    written = [*images]
    (d / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    (d / "report.md").write_text(render_markdown(summary, [p.name for p in images]), encoding="utf-8")
    return [d / "report.md", d / "metrics.json", *written]


def _safe_name(fid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", fid)


def write_plots(run: EvalRun, summary: dict[str, Any], d: Path) -> list[Path]:
    """PR curve per scored filter, confusion matrix, latency histogram (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    labelled = [r for r in run.records if r.example.has_label]
    for fid, f in summary["filters"].items():
        y, s = scored(labelled, f["filter"], f["category"])
        if not s or not any(y) or f["distinct_scores"] < 2:
            continue
        pts = metrics.curve(y, s)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.step([0.0, *(p.recall or 0.0 for p in pts)], [pts[0].precision, *(p.precision for p in pts)], where="pre")
        ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02),
               title=f"{fid}: AUPRC {fmt(f['auprc'], pct=False)}")
        ax.grid(alpha=0.3)
        paths.append(_save(fig, plt, d / f"pr_{_safe_name(fid)}.png"))
    if summary["overall"]:
        o = summary["overall"]
        fig, ax = plt.subplots(figsize=(4, 3.6))
        grid = [[o["tn"], o["fp"]], [o["fn"], o["tp"]]]
        ax.imshow(grid, cmap="Blues")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, str(grid[i][j]), ha="center", va="center")
        ax.set_xticks([0, 1], ["allowed", "caught"])
        ax.set_yticks([0, 1], ["safe", "unsafe"])
        ax.set_title(f"policy {summary['policy']}")
        paths.append(_save(fig, plt, d / "confusion.png"))
    lat = [r.latency_ms for r in run.records]
    if lat:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.hist(lat, bins=50)
        for q in ("p50", "p95", "p99"):
            v = summary["latency_ms"][q]
            ax.axvline(v, linestyle="--", linewidth=1, color="gray")
        ax.set(xlabel="latency per check (ms)", ylabel="examples", title="latency (dashed: p50, p95, p99)")
        paths.append(_save(fig, plt, d / "latency.png"))
    return paths


def _save(fig: Any, plt: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
