"""``guardrails models list|prefetch POLICY``: the model files a policy needs, for air-gapped hosts."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from guardrails.bundled import ModelSource, find_model_policy, load_for_model
from guardrails.cli.options import add_trust_flag, trust_of
from guardrails.guard import Guard
from guardrails.model_parent import BUNDLED_POLICY
from guardrails.runtime import ModelNotFound, ModelSpec, is_offline, locate_model, resolve_model
from guardrails.runtime.resolve import FOREIGN_WEIGHTS

EXIT_OK, EXIT_MISSING = 0, 1


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="list or download the model files a policy needs")
    cmds = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="list each model a policy needs and whether a local copy exists")
    ls.add_argument("policy", nargs="?", default=None,
                    help="policy file or built-in name (default: default; with --model: the model's own policy)")
    ls.add_argument("--json", action="store_true", help="print one JSON object: {policy, models: [...], missing}")
    ls.add_argument("--model", metavar="PATH_OR_HUB_ID", help=f"also the model's {BUNDLED_POLICY}; the policy is loaded for it")
    add_trust_flag(ls)
    ls.set_defaults(handler=list_models)
    pf = cmds.add_parser(
        "prefetch",
        help="download what is missing (or, offline / with --verify, check it is present); exit 1 if anything is missing",
    )
    pf.add_argument("policy", nargs="?", default=None,
                    help="policy file or built-in name (default: default; with --model: the model's own policy)")
    pf.add_argument("--verify", action="store_true", help="never download; only check that every model is present")
    pf.add_argument("--json", action="store_true", help="print one JSON object: {policy, models: [...], missing}")
    pf.add_argument("--model", metavar="PATH_OR_HUB_ID",
                    help=f"also fetch the model's {BUNDLED_POLICY} (and its signature), then the models its policy needs "
                         "(not the model's weights)")
    add_trust_flag(pf)
    pf.set_defaults(handler=prefetch)


@dataclass
class Need:
    """One model of a policy, with every filter that needs it."""

    spec: ModelSpec
    filters: list[str] = field(default_factory=list)
    status: str = "missing"
    path: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.spec.key, "revision": self.spec.revision, "filters": self.filters, "note": self.spec.note,
            "status": self.status, "path": self.path, "error": self.error,
        }


def policy_models(guard: Guard) -> list[Need]:
    """Every model the policy's filters need, in policy order, each listed once."""
    needs: dict[tuple[str, str | None], Need] = {}
    for stage in ("input", "output"):
        for bound in guard.filters(stage):
            f = bound.filter
            specs = f.model_specs() if hasattr(f, "model_specs") else [ModelSpec(k) for k in f.required_models()]
            for spec in specs:
                need = needs.setdefault((spec.key, spec.revision), Need(spec))
                need.filters.append(f"{stage}.{bound.id}")
    return list(needs.values())


def _locate(need: Need) -> None:
    found = locate_model(need.spec.key, revision=need.spec.revision)
    if found is not None:
        need.status, need.path = "present", str(found)


def _model_need(src: ModelSource) -> Need:
    """The row of a model's bundled guardrails.yaml (``--model``)."""
    need = Need(ModelSpec(src.key, note=f"{BUNDLED_POLICY}: the model's own policy"), ["model policy"])
    if src.status == "found":
        need.status, need.path = ("downloaded" if src.fetched else "present"), str(src.policy_file)
    elif src.status == "absent":
        need.status, need.error = "none", f"the model ships no {BUNDLED_POLICY}"
    else:
        need.error = src.detail
    return need


def _guard(args: argparse.Namespace, *, offline: bool) -> tuple[Guard, list[Need]]:
    """The guard of POLICY (for --model: loaded for that model), and the row of the model's own policy."""
    if not args.model:
        return Guard.from_policy(args.policy or "default", trust_plugins=trust_of(args)), []
    src = find_model_policy(args.model, offline=offline)
    loaded = load_for_model(args.model, args.policy, trust_plugins=trust_of(args), verify_weights=False, source=src)
    return Guard(loaded.policy), [_model_need(src)]


def list_models(args: argparse.Namespace) -> int:
    guard, own = _guard(args, offline=True)  # list never downloads
    needs = policy_models(guard)
    for need in needs:
        _locate(need)
    _print(own + needs, args.json, guard.policy.name)
    return EXIT_OK


def prefetch(args: argparse.Namespace) -> int:
    guard, own = _guard(args, offline=args.verify or is_offline())
    needs = policy_models(guard)
    offline = args.verify or is_offline(guard.policy.offline)
    for need in needs:
        _locate(need)
        if need.status == "present":
            continue
        if offline:
            need.error = "not present (offline: nothing downloaded)"
            continue
        spec = need.spec
        try:
            path = resolve_model(
                spec.key,
                revision=spec.revision,
                allow_patterns=list(spec.allow_patterns) if spec.allow_patterns else None,
                ignore_patterns=None if spec.allow_patterns else FOREIGN_WEIGHTS,
            )
        except ModelNotFound as exc:
            need.status, need.error = "error", str(exc)
            continue
        need.status, need.path = "downloaded", str(path)
    needs = own + needs
    missing = [n for n in needs if n.status not in ("present", "downloaded", "none")]
    _print(needs, args.json, guard.policy.name, missing=len(missing))
    if missing and not args.json:
        print(f"{len(missing)} of {len(needs)} model(s) missing", file=sys.stderr)
    return EXIT_MISSING if missing else EXIT_OK


def _print(needs: list[Need], as_json: bool, policy: str, missing: int | None = None) -> None:
    if as_json:  # one document, also when the policy needs no model
        if missing is None:
            missing = sum(n.status == "missing" for n in needs)
        doc = {"policy": policy, "models": [n.to_dict() for n in needs], "missing": missing}
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    if not needs:
        print("this policy needs no model files")
        return
    for need in needs:
        rev = f"@{need.spec.revision}" if need.spec.revision else ""
        where = need.path or need.error or ""
        note = f" ({need.spec.note})" if need.spec.note else ""
        print(f"{need.status:<10} {need.spec.key}{rev}{note}  [{', '.join(need.filters)}]  {where}".rstrip())
