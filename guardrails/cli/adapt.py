"""``guardrails adapt``: retrain the built-in detector on your own labelled traffic (minutes, on a CPU).

    guardrails adapt --base default --data labelled.jsonl [--data more.jsonl] --out my-detector/

Writes ``my-detector/`` (the detector files, ``MODEL_CARD.md``, ``policy.yaml`` that uses it). Exit status:
0 written; 1 refused by the regression guard (recall on the never-trained-on attack sets fell by more than
``--margin``; nothing written; ``--allow-regression`` writes it anyway); 2 bad arguments or data.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from guardrails.cli.options import unit_interval

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "adapt",
        help="retrain the built-in detector on your own labelled traffic (minutes, on a CPU)",
        description="Retrain the built-in detector's heads on its shipped training features plus your labelled "
        "rows (the `guardrails eval` JSONL format: text or messages, label safe|unsafe, category?, stage?), holding "
        "a part of your rows out to print before/after figures, choose thresholds for --target-fpr, and write a "
        "detector folder with a model card and a policy that uses it. Refuses (exit 1) when recall on the shipped "
        "never-trained-on attack sets drops by more than --margin. docs/adapt.md has the monitor -> label -> adapt "
        "-> calibrate -> enforce loop.",
    )
    p.add_argument("--base", default="default", help="detector to adapt: 'default' (shipped) or a detector folder")
    p.add_argument("--data", action="append", required=True, metavar="LABELLED.jsonl", help="labelled rows; repeatable")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write (replaced if it holds a detector)")
    p.add_argument("--target-fpr", type=unit_interval(include_high=False), default=0.02, metavar="RATE",
                   help="false-positive rate allowed on your safe validation rows (default: %(default)s)")
    p.add_argument("--holdout", type=unit_interval(include_high=False), default=0.2, metavar="SHARE",
                   help="share of your rows held out for the before/after figures (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the training order (default: 0)")
    p.add_argument("--margin", type=unit_interval(include_high=False), default=0.05, metavar="DROP",
                   help="largest allowed drop of recall per attack kind on the never-trained-on sets (default: %(default)s)")
    p.add_argument("--allow-regression", action="store_true",
                   help="write the detector even when the guard refuses it (warned on stderr, recorded in the model card)")
    p.add_argument("--features", metavar="NPZ", help="the shipped training features (default: the packaged file)")
    p.add_argument("--weights", metavar="W,W,...", default=None,
                   help="candidate weights of your rows when retraining the top layers, chosen on validation (default: 1)")
    p.add_argument("--no-top", action="store_true", help="keep the shipped network; train only the n-gram correction")
    p.add_argument("--no-correction", action="store_true", help="no hashed n-gram correction (top layers only)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument("--json", action="store_true", help="print the figures as JSON at the end")
    p.set_defaults(handler=run)



def run(args: argparse.Namespace) -> int:
    from guardrails.adapt import DEFAULT_WEIGHTS, AdaptError, Settings, adapt

    try:
        weights = () if args.no_top else tuple(float(w) for w in args.weights.split(",")) if args.weights else DEFAULT_WEIGHTS
    except ValueError:
        raise AdaptError(f"--weights: expected numbers separated by commas, got {args.weights!r}") from None
    if args.no_correction and args.no_top:
        raise AdaptError("--no-top and --no-correction: nothing left to train")
    settings = Settings(target_fpr=args.target_fpr, holdout=args.holdout, seed=args.seed, margin=args.margin,
                        allow_regression=args.allow_regression, weights=weights, correct=not args.no_correction)
    outcome = adapt(args.data, args.out, base=args.base, features=args.features, settings=settings,
                    progress=not args.no_progress)
    if args.json:
        print(json.dumps({"refused": outcome.refused, "weight": outcome.weight, "before": outcome.before.to_dict(),
                          "after": outcome.after.to_dict(), "guard_before": outcome.guard_before,
                          "guard_after": outcome.guard_after, "regressions": outcome.regressions,
                          "correction": outcome.correction,
                          "thresholds": {"input": outcome.plan.input, "output": outcome.plan.output},
                          "out": str(outcome.out) if outcome.out else None}, indent=2))
    return EXIT_REFUSED if outcome.refused else EXIT_OK
