"""``guardrails audit LOG [LOG ...]``: summarise the sidecar's audit log (see guardrails.audit_summary)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "audit", help="summarise a sidecar audit log: decisions, blocks, would-blocks, reloads, errors",
        description="Reads audit logs written by `guardrails serve` (one JSON record per line; '-' is standard "
                    "input; gzip files are read as such) line by line, and prints decisions, blocks and monitor-mode "
                    "would-blocks per filter, category, app and hour (or day), block rates per app and policy, "
                    "policy reloads and filter errors. Malformed lines are skipped and counted. Prints no texts "
                    "(the log holds none). Exit 0, or 2 on a usage error or an unreadable log.",
    )
    p.add_argument("logs", nargs="+", metavar="LOG", help="audit log file (.gz too), or '-' for standard input")
    p.add_argument("--since", metavar="ISO", help="only records at or after this time (ISO 8601; UTC unless an "
                   "offset is given), e.g. 2025-05-01 or 2025-05-01T13:00Z")
    p.add_argument("--until", metavar="ISO", help="only records before this time (ISO 8601, as --since)")
    p.add_argument("--app", action="append", metavar="APP", help="only this app; repeatable")
    p.add_argument("--by", choices=["hour", "day"], default="hour", help="time buckets of the report (default: hour)")
    p.add_argument("--top", type=_positive, default=10, metavar="N",
                   help="policies shown in the text report, highest block rate first (default: 10; --json has all)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (schema guardrails.audit_summary/1)")
    p.set_defaults(handler=run)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return n


def run(args: argparse.Namespace) -> int:
    from guardrails.audit_summary import AuditLogError, format_report, parse_time, summarize

    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
    except ValueError as exc:
        print(f"guardrails audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if since is not None and until is not None and until <= since:
        print("guardrails audit: error: --until must be after --since", file=sys.stderr)
        return EXIT_USAGE
    if args.logs.count("-") > 1:
        print("guardrails audit: error: '-' (standard input) can be read only once", file=sys.stderr)
        return EXIT_USAGE
    try:
        summary = summarize(args.logs, since=since, until=until, apps=args.app, by=args.by)
    except AuditLogError as exc:
        print(f"guardrails audit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    data = summary.to_dict()
    try:
        if args.json:
            print(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            sys.stdout.write(format_report(data, top=args.top))
        sys.stdout.flush()
    except BrokenPipeError:  # `guardrails audit LOG | head`: the reader left, which is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK
