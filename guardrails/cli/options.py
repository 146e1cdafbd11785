"""Options several sub-commands share."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any, Callable

TRUST_ENV = "GUARDRAILS_TRUST_PLUGINS"
_MODULE_LIST = re.compile(r"[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*")
_FILE_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl", ".txt", ".gz", ".log")
_TRUST_ALL = ("*", "1", "true", "yes")
_TRUST_NONE = ("0", "false", "no")  # compared lower-cased


def add_trust_flag(parser: Any) -> None:
    parser.add_argument(
        "--trust-plugins", nargs="?", const="*", default=None, metavar="MODULES", type=_module_prefixes,
        help="allow module:Class filters named in the policy (they import and run that code): all, or only "
             f"modules starting with the comma-separated names given; default: none, or ${TRUST_ENV}",
    )


def _module_prefixes(value: str) -> str:
    """Refuse a --trust-plugins value that is not a module list: it most likely swallowed the text or file
    argument that followed the flag (argparse gives an optional value the next word)."""
    stripped = value.strip()
    if stripped in _TRUST_ALL or stripped.lower() in _TRUST_NONE:
        return stripped
    looks_like_file = stripped.lower().endswith(_FILE_SUFFIXES) or os.sep in stripped or Path(stripped).exists()
    if looks_like_file or not _MODULE_LIST.fullmatch(stripped):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a comma-separated list of module names; the flag takes the next word as its "
            "list: to trust every module, put --trust-plugins after the text or files (or write --trust-plugins=*), "
            "to trust some, write --trust-plugins=acme_filters,ourco.guards")
    return stripped


def trust_of(args: argparse.Namespace) -> bool | list[str]:
    """What --trust-plugins (or GUARDRAILS_TRUST_PLUGINS) allows: True (any module), False, or prefixes."""
    value = getattr(args, "trust_plugins", None)
    if value is None:
        value = os.environ.get(TRUST_ENV, "")
    value = value.strip()
    if not value or value.lower() in _TRUST_NONE:
        return False
    if value in _TRUST_ALL:
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
