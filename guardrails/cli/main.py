"""Entry point of the ``guardrails`` console script."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from guardrails.errors import GuardrailsError

# Sub-command modules, each exposing register(subparsers); imported when the parser is built,
# so each keeps its heavy imports (fastapi, torch) inside its handler.
COMMANDS = ("check", "policy", "serve", "eval", "models", "keygen", "audit", "calibrate", "adapt")

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    from guardrails import __version__

    parser = argparse.ArgumentParser(prog="guardrails", description="Safety filters for open-weights language models.")
    parser.add_argument("--version", action="version", version=f"guardrails {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module_name = f"guardrails.cli.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a command that this build does not include
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)], stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args))
    except GuardrailsError as exc:
        print(f"guardrails: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
