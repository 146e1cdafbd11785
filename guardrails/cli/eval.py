"""``guardrails eval``: accuracy, PII span and latency report of a policy on labelled JSONL data."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from guardrails.cli.options import add_trust_flag, trust_of, unit_interval
from guardrails.types import Stage

EXIT_OK, EXIT_USAGE = 0, 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a policy on labelled JSONL data",
        description="Each line: {\"text\", \"label\": \"safe\"|\"unsafe\", \"category\"?, \"stage\"?, \"source\"?} "
        "or a PII line {\"text\", \"spans\": [{\"start\", \"end\", \"entity_type\"}]}. "
        "Prints a table; with --report-dir also writes report.md, metrics.json and PNG plots.",
    )
    p.add_argument("datasets", nargs="+", metavar="DATASET.jsonl")
    p.add_argument("--policy", default="default", help="policy file or built-in name (default: %(default)s)")
    p.add_argument("--report-dir", metavar="DIR", help="write report.md, metrics.json and *.png here")
    p.add_argument("--stage", choices=[s.value for s in Stage], default="input",
                   help="stage for lines without a 'stage' field (default: %(default)s)")
    p.add_argument("--positive", choices=["flagged", "blocked", "any"], default="flagged",
                   help="what counts as catching an unsafe text: a block or flag (default), only a block, or any "
                   "violation including a redaction")
    p.add_argument("--target-fpr", type=unit_interval(), action="append", metavar="RATE",
                   help="false-positive rate for the threshold sweep; repeatable (default: 0.01 and 0.05)")
    p.add_argument("--entity-alias", action="append", default=[], metavar="GOLD=PRED",
                   help="treat entity type GOLD as PRED when matching PII spans, e.g. GPE=LOCATION; repeatable")
    p.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N lines (after reading all files)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots (no matplotlib needed)")
    p.add_argument("--mistakes", metavar="FILE.jsonl",
                   help="write the labelled examples the policy got wrong (eval format, with 'predicted' and the "
                        "filters that fired): review their labels, then feed them to guardrails adapt --data")
    p.add_argument("--json", action="store_true", help="print metrics.json to stdout instead of the table")
    add_trust_flag(p)
    p.set_defaults(handler=main)



def _aliases(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        gold, sep, pred = pair.partition("=")
        if not sep or not gold or not pred:
            raise SystemExit(f"guardrails eval: error: --entity-alias: expected GOLD=PRED, got {pair!r}")
        out[gold] = pred
    return out


def main(args: argparse.Namespace) -> int:
    from guardrails.guard import Guard
    from guardrails.eval.dataset import DatasetError, read_dataset
    from guardrails.eval.report import render_text, write_report
    from guardrails.eval.runner import run
    from guardrails.eval.summary import DEFAULT_TARGET_FPRS, summarize

    if args.report_dir and not args.no_plots and not _has_matplotlib():
        print("guardrails eval: error: --report-dir draws PNG plots with matplotlib, which is missing; install the "
              "eval extra: pip install 'openweights-guardrails[eval]' (or add --no-plots)", file=sys.stderr)
        return EXIT_USAGE
    aliases = _aliases(args.entity_alias)
    examples = read_dataset(args.datasets)  # DatasetError -> exit 2 with file:line: field
    if not examples:
        raise DatasetError(f"{', '.join(args.datasets)}: no examples (empty file?)")
    if args.limit is not None:
        examples = examples[: max(args.limit, 0)]
    guard = Guard.from_policy(args.policy, trust_plugins=trust_of(args))
    guard.load()  # model loading is not part of the per-check latency
    with _progress(len(examples)) as tick:
        result = run(guard, examples, default_stage=Stage(args.stage), progress=tick)
    summary = summarize(result, target_fprs=args.target_fpr or DEFAULT_TARGET_FPRS, positive=args.positive,
                        entity_aliases=aliases)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(render_text(summary))
    if args.report_dir:
        paths = write_report(result, summary, args.report_dir, plots=not args.no_plots)
        print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
    if args.mistakes:
        from guardrails.eval.mistakes import write_mistakes

        count = write_mistakes(result, args.positive, args.mistakes)
        print(f"wrote {count} mistake(s) to {args.mistakes}", file=sys.stderr)
    return EXIT_OK


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


class _progress:
    """A tqdm bar on stderr when stderr is a terminal; otherwise a no-op."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if sys.stderr.isatty() and self.total:
            try:
                from tqdm import tqdm  # type: ignore[import-untyped]

                self.bar = tqdm(total=self.total, unit="ex", file=sys.stderr, leave=False)
                return self.bar.update  # type: ignore[no-any-return]
            except ImportError:
                pass
        return lambda n: None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


