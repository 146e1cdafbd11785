"""``guardrails calibrate``: fit a policy's thresholds to a target false-positive rate on your own traffic.

    guardrails calibrate --policy app.yaml --target-fpr 0.01 benign.jsonl [attacks.jsonl] [--out new.yaml | --write]

Exit status: 0 every calibratable threshold meets the target (and the policy was written when asked);
1 some threshold cannot meet it, or a change was not written (a base policy's lock, a value the file
does not write as a plain number): the report says which; 2 bad arguments, data or policy, or a written
policy that would not load with the new thresholds (then nothing is written).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from guardrails.cli.options import add_trust_flag, trust_of, unit_interval
from guardrails.types import Stage

_OPEN_UNIT = unit_interval(include_low=False, include_high=False)  # a rate or level strictly between 0 and 1

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit a policy's thresholds to a target false-positive rate on your own traffic",
        description="For each scored filter and category of the policy, find the threshold whose false-positive "
        "rate on BENIGN rows meets --target-fpr; report it with the FPR now and after (Wilson intervals) and, "
        "given attack rows, the recall it costs or gains; with --out or --write, write the policy with only "
        "those numbers changed (comments and order kept). Rows: the `guardrails eval` JSONL format; a row without "
        "'label' is benign in BENIGN and an attack in ATTACKS. Exit 0: done; 1: some threshold cannot meet the "
        "target or was not written (locked); 2: bad input.",
    )
    p.add_argument("datasets", nargs="*", metavar="BENIGN.jsonl [ATTACKS.jsonl]",
                   help="benign rows, then (optional) attack rows")
    p.add_argument("--policy", required=True, help="policy file (or built-in name, with --out) to calibrate")
    p.add_argument("--target-fpr", type=_OPEN_UNIT, default=0.01, metavar="RATE",
                   help="false-positive rate each threshold may have on the benign rows (default: %(default)s)")
    p.add_argument("--attacks", action="append", default=[], metavar="FILE",
                   help="attack rows (JSONL); repeatable; the same as a second positional file")
    p.add_argument("--audit-log", action="append", default=[], metavar="FILE",
                   help="benign rows from an audit-log export: JSON lines with a 'text' field (the audit log "
                   "itself stores no text: export the rows you keep, or join your records with their text); records "
                   "without one are skipped and counted; 'label': 'unsafe' makes a record an attack; repeatable")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="NEW.yaml", help="write the calibrated policy here")
    where.add_argument("--write", action="store_true", help="overwrite the policy file itself")
    p.add_argument("--stage", choices=[s.value for s in Stage], default="input",
                   help="stage of rows without a 'stage' field (default: %(default)s)")
    p.add_argument("--decimals", type=int, default=3, choices=range(1, 7), metavar="N",
                   help="digits of a new threshold (default: %(default)s): the smallest such number above the cut")
    p.add_argument("--confidence", type=_OPEN_UNIT, default=0.95, metavar="LEVEL",
                   help="level of the Wilson intervals and of the rows-needed warning (default: %(default)s)")
    p.add_argument("--no-lower", action="store_true",
                   help="never lower a threshold (only raise those whose FPR is above the target)")
    p.add_argument("--diff", action="store_true", help="also print the changes to the policy file as a unified diff")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    add_trust_flag(p)
    p.set_defaults(handler=main)



def _usage(message: str) -> int:
    print(f"guardrails calibrate: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(args: argparse.Namespace) -> int:
    from guardrails.calibrate import calibrate, read_rows, render_text, signature_warning, write_policy

    if len(args.datasets) > 2:
        return _usage("expected BENIGN.jsonl and at most one ATTACKS.jsonl (use --attacks for more)")
    if not args.datasets and not args.audit_log:
        return _usage("no benign rows: give BENIGN.jsonl or --audit-log FILE")
    trust = trust_of(args)
    if args.write:
        from guardrails.policy import BUILTIN_DIR, load_policy

        source = load_policy(args.policy, trust_plugins=trust).source
        if source is None or Path(source).resolve().parent == BUILTIN_DIR.resolve():
            return _usage(f"{args.policy!r} is a built-in policy; write the calibrated copy with --out NEW.yaml")
    rows = read_rows(benign=args.datasets[:1], attacks=[*args.datasets[1:], *args.attacks], audit_logs=args.audit_log)
    cal = calibrate(args.policy, rows, target_fpr=args.target_fpr, trust_plugins=trust, default_stage=args.stage,
                    confidence=args.confidence, decimals=args.decimals, lower=not args.no_lower)
    written: Path | None = None
    notes: list[str] = []
    if args.write or args.out:
        dest = Path(args.out) if args.out else Path(str(cal.source))
        if cal.text is None and args.write:
            notes.append(f"{dest}: no threshold changes; the file is left as it is")
        else:
            written = write_policy(cal, dest, trust_plugins=trust)
            notes.append(f"wrote {written}: {len(cal.changed)} threshold(s) changed, everything else as it was; "
                         "it loads and gives the new thresholds")
            warning = signature_warning(written)
            if warning:
                notes.append(f"warning: {warning}")
    elif cal.text is not None:
        notes.append("no file written: give --out NEW.yaml or --write to write the calibrated policy")
    if args.json:
        print(json.dumps({**cal.to_dict(), "written": str(written) if written else None}, indent=2))
    else:
        print(render_text(cal))
        if args.diff and cal.text is not None:
            source = str(cal.source)
            print("".join(difflib.unified_diff(cal.original.splitlines(True), cal.text.splitlines(True),
                                               source, args.out or source)), end="")
        for note in notes:
            print(note)
    return EXIT_OK if cal.complete else EXIT_INCOMPLETE
