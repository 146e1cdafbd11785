"""``--model`` and ``--model-policy``: the options of sub-commands that load a policy for a model."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from guardrails.bundled import MODEL_POLICY_MODES, ModelPolicyMode
from guardrails.guard import Guard


def add_model_flags(parser: Any) -> None:
    parser.add_argument(
        "--model", metavar="PATH_OR_HUB_ID", default=None,
        help="load the policy for this model: its own guardrails.yaml applies (alone without --policy), "
             "'extends: model' in --policy builds on it, and its weight pins are checked",
    )
    parser.add_argument(
        "--model-policy", choices=MODEL_POLICY_MODES, default=None,
        help="when --policy does not extend the model's guardrails.yaml: stack (default: run both), "
             "refuse (error) or ignore (run --policy alone)",
    )


def model_mode(args: argparse.Namespace) -> ModelPolicyMode | None:
    mode: ModelPolicyMode | None = getattr(args, "model_policy", None)
    return mode


def guard_for(args: argparse.Namespace, *, trust_plugins: bool | Sequence[str], default_policy: str = "default") -> Guard:
    """``Guard.for_model(--model, --policy)`` with --model, else ``Guard.from_policy(--policy)``."""
    if getattr(args, "model", None):
        guard = Guard.for_model(args.model, args.policy, model_policy=model_mode(args), trust_plugins=trust_plugins)
        binding = guard.model_binding
        if binding is not None:
            ok = "ok" if binding.weights_ok else "MISMATCH (warned)"
            pins = f", weights {ok}" if binding.weights else ""
            print(f"model {binding.key}: policy {guard.policy.name!r} ({binding.mode}{pins})", file=sys.stderr)
        return guard
    return Guard.from_policy(args.policy or default_policy, trust_plugins=trust_plugins)
