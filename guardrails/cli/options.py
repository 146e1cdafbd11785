"""Options several sub-commands share."""

from __future__ import annotations

import argparse
import os
from typing import Any

TRUST_ENV = "GUARDRAILS_TRUST_PLUGINS"


def add_trust_flag(parser: Any) -> None:
    parser.add_argument(
        "--trust-plugins", nargs="?", const="*", default=None, metavar="MODULES",
        help="allow module:Class filters named in the policy (they import and run that code): all, or only "
             f"modules starting with the comma-separated names given; default: none, or ${TRUST_ENV}",
    )


def trust_of(args: argparse.Namespace) -> bool | list[str]:
    """What --trust-plugins (or GUARDRAILS_TRUST_PLUGINS) allows: True (any module), False, or prefixes."""
    value = getattr(args, "trust_plugins", None)
    if value is None:
        value = os.environ.get(TRUST_ENV, "")
    value = value.strip()
    if not value or value.lower() in ("0", "false", "no"):
        return False
    if value in ("*", "1", "true", "yes"):
        return True
    return [m.strip() for m in value.split(",") if m.strip()]
