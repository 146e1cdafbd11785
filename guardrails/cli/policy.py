"""``guardrails policy validate|show|schema``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from guardrails.cli.options import add_trust_flag, trust_of
from guardrails.errors import FilterLoadError, PolicyError
from guardrails.policy import load_policy, policy_schema


def register(sub: Any) -> None:
    p = sub.add_parser("policy", help="validate, show or describe policy files")
    cmds = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    v = cmds.add_parser("validate", help="check policy files; exit 2 if any is invalid")
    v.add_argument("files", nargs="+")
    add_trust_flag(v)
    v.set_defaults(handler=validate)
    s = cmds.add_parser("show", help="print a policy resolved (after extends)")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    add_trust_flag(s)
    s.set_defaults(handler=show)
    c = cmds.add_parser("schema", help="print the policy JSON Schema")
    c.add_argument("--plugin", action="append", default=[], metavar="MODULE:CLASS",
                   help="also describe this plugin filter's own keys (imports its module); repeatable")
    c.set_defaults(handler=schema)


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for source in args.files:
        try:
            policy = load_policy(source, trust_plugins=trust_of(args))
        except PolicyError as exc:
            failed += 1
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        stages = ", ".join(f"{s}: {len(policy.stage(s))} filter(s)" for s in ("input", "output"))
        print(f"{source}: ok (policy {policy.name!r}, {stages}, {policy.hash})")
    return 2 if failed else 0


def show(args: argparse.Namespace) -> int:
    policy = load_policy(args.file, trust_plugins=trust_of(args))
    data = {**policy.to_dict(), "hash": policy.hash}
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    return 0


def schema(args: argparse.Namespace) -> int:
    try:
        print(json.dumps(policy_schema(args.plugin), indent=2))
    except FilterLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
