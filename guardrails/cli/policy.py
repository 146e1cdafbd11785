"""``guardrails policy validate|show|schema`` (and ``sign|verify``: guardrails.cli.keygen)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from guardrails.cli import policy_pin
from guardrails.cli.keygen import register_policy_commands
from guardrails.cli.options import add_trust_flag, trust_of
from guardrails.errors import FilterLoadError, PolicyError
from guardrails.bundled import find_model_policy
from guardrails.model_parent import loading_for
from guardrails.policy import Policy, load_policy, policy_schema
from guardrails.policy_sources import annotate, annotated_yaml, provenance


def register(sub: Any) -> None:
    p = sub.add_parser("policy", help="validate, show or describe policy files")
    cmds = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    v = cmds.add_parser("validate", help="check policy files; exit 2 if any is invalid")
    v.add_argument("files", nargs="+")
    v.add_argument("--model", metavar="PATH_OR_HUB_ID", help="resolve 'extends: model' to this model's guardrails.yaml")
    add_trust_flag(v)
    v.set_defaults(handler=validate)
    s = cmds.add_parser("show", help="print a policy resolved (after extends)")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    s.add_argument("--model", metavar="PATH_OR_HUB_ID", help="resolve 'extends: model' to this model's guardrails.yaml")
    s.add_argument("--provenance", action="store_true",
                   help="mark which file:line each key came from (model, base or app policy; '# default' when none)")
    add_trust_flag(s)
    s.set_defaults(handler=show)
    c = cmds.add_parser("schema", help="print the policy JSON Schema")
    c.add_argument("--plugin", action="append", default=[], metavar="MODULE:CLASS",
                   help="also describe this plugin filter's own keys (imports its module); repeatable")
    c.set_defaults(handler=schema)
    register_policy_commands(cmds)  # policy sign / policy verify (guardrails.cli.keygen)
    policy_pin.register(cmds)  # policy pin MODEL_DIR POLICY (guardrails.cli.policy_pin)


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for source in args.files:
        try:
            policy = _load(source, args)
        except PolicyError as exc:
            failed += 1
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        stages = ", ".join(f"{s}: {len(policy.stage(s))} filter(s)" for s in ("input", "output"))
        print(f"{source}: ok (policy {policy.name!r}, {stages}, {policy.hash})")
    return 2 if failed else 0


def _load(source: str, args: argparse.Namespace) -> Policy:
    """``load_policy``, with ``extends: model`` meaning --model's bundled policy when one is given."""
    if not getattr(args, "model", None):
        return load_policy(source, trust_plugins=trust_of(args))
    with loading_for(find_model_policy(args.model).parent()):
        return load_policy(source, trust_plugins=trust_of(args))


def show(args: argparse.Namespace) -> int:
    policy = _load(args.file, args)
    data = {**policy.to_dict(), "hash": policy.hash}
    if getattr(args, "provenance", False):  # guardrails.policy_sources
        sources = provenance(policy)
        if args.json:
            print(json.dumps(annotate(data, sources), indent=2, ensure_ascii=False))
        else:
            print(annotated_yaml(data, sources), end="")
    elif args.json:
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
