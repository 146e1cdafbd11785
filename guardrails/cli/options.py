"""Options several sub-commands share."""

from __future__ import annotations

import argparse
import os
from typing import Any, Callable

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


def unit_interval(*, include_low: bool = True, include_high: bool = True) -> Callable[[str], float]:
    """An argparse ``type`` for a number in [0, 1]; ``include_low``/``include_high`` False exclude an end."""
    exclusive = " (exclusive)" if not (include_low or include_high) else ""

    def parse(value: str) -> float:
        try:
            f = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {value!r}") from None
        if not ((0 <= f if include_low else 0 < f) and (f <= 1 if include_high else f < 1)):
            raise argparse.ArgumentTypeError(f"expected a number between 0 and 1{exclusive}, got {value!r}")
        return f

    return parse
