"""``guardrails check``: run a policy on one text or on a JSONL batch."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any, Iterator

from guardrails.cli.model_options import add_model_flags, guard_for
from guardrails.cli.options import add_trust_flag, trust_of
from guardrails.eval.dataset import parse_messages
from guardrails.guard import Guard
from guardrails.types import Stage
from guardrails.verdict import Verdict

EXIT_OK, EXIT_BLOCKED, EXIT_USAGE = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="check a text (or a JSONL batch) against a policy",
                       description="Exit 0 = allowed (maybe redacted or flagged, or only a filter in monitor mode would have "
                                   "blocked), 1 = blocked, 2 = usage or policy error.")
    p.add_argument("text", nargs="?", help="the text to check; '-' reads stdin")
    p.add_argument("--policy", default=None, help="policy file or built-in name (default: default; with --model: "
                                                  "the model's own guardrails.yaml)")
    p.add_argument("--stage", choices=[s.value for s in Stage], default="input")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.add_argument("--jsonl", metavar="FILE", help="check each line {text, stage?, id?} of FILE ('-' = stdin), or {messages: [OpenAI chat "
                                                 "messages], ...} in place of text; one verdict per line")
    add_trust_flag(p)
    add_model_flags(p)  # --model PATH_OR_HUB_ID, --model-policy (guardrails.cli.model_options)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.jsonl is None and args.text is None:
        hint = ""
        if args.trust_plugins not in (None, "*"):  # `check --trust-plugins hello` reads hello as the module list
            hint = (f" (--trust-plugins took {args.trust_plugins!r} as its module list: put the text before "
                    "--trust-plugins, or write --trust-plugins=MODULES)")
        print(f"guardrails check: error: give TEXT, '-' for stdin, or --jsonl FILE{hint}", file=sys.stderr)
        return EXIT_USAGE
    if args.jsonl is not None and args.text is not None:
        print("guardrails check: error: give TEXT or --jsonl, not both", file=sys.stderr)
        return EXIT_USAGE
    guard = guard_for(args, trust_plugins=trust_of(args))
    if args.jsonl is not None:
        return _run_batch(guard, args.jsonl, Stage(args.stage))
    text = _read_stdin() if args.text == "-" else args.text
    verdict = guard.check(text, Stage(args.stage))
    if args.json and guard.model_binding is not None:  # --model: how the model's policy and pins applied
        print(json.dumps({**verdict.to_dict(), "model": guard.model_binding.to_dict()}, ensure_ascii=False))
    elif args.json:
        print(verdict.to_json())
    else:
        _print_human(verdict)
    return EXIT_OK if verdict.allowed else EXIT_BLOCKED


def _read_stdin() -> str:
    """Stdin less the one line end that ``echo`` and editors add (the verdict's text is what the user wrote)."""
    text = sys.stdin.read()
    for end in ("\r\n", "\n"):
        if text.endswith(end):
            return text[: -len(end)]
    return text


def _print_human(v: Verdict) -> None:
    # Monitor mode: what the monitored filters would have done, after what was done (which it never changes).
    would = f"; monitor mode: would {v.would_action.value.upper()}" if v.monitored else ""
    print(f"{v.action.value.upper()} ({v.stage.value}, policy {v.policy}, {v.latency_ms:.1f} ms){would}")
    for viol in v.violations:
        where = f" [{len(viol.spans)} span(s)]" if viol.spans else ""
        extra = f" error: {viol.error}" if viol.error else ""
        action = f"would {viol.action.value}" if viol.monitor else viol.action.value
        print(f"  {action:<6} {viol.filter}/{viol.category} score={viol.score:.2f}{where}{extra}")
    if v.response is not None:
        print(v.response)  # action respond: the category's message, in place of an answer
    elif v.allowed and any(x.spans for x in v.violations if not x.monitor):
        print(v.text)


def _run_batch(guard: Guard, source: str, default_stage: Stage) -> int:
    stream: IO[str] = sys.stdin if source == "-" else open(source, encoding="utf-8")
    total = None if source == "-" else sum(1 for _ in open(source, encoding="utf-8"))
    bad = 0
    with stream:
        for n, line in _progress(enumerate(stream, 1), total):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                content = _content(item)
                stage = Stage(item.get("stage", default_stage.value))
            except ValueError as exc:
                bad += 1
                print(f"guardrails check: {source}:{n}: {exc}", file=sys.stderr)
                print(json.dumps({"id": None, "line": n, "error": str(exc)}), flush=True)
                continue
            out = guard.check(content, stage).to_dict()
            if "id" in item:
                out = {"id": item["id"], **out}
            print(json.dumps(out, ensure_ascii=False), flush=True)
    return EXIT_USAGE if bad else EXIT_OK


def _content(item: Any) -> str | list[dict[str, Any]]:
    """What one JSONL line asks to check: its ``text``, or its ``messages`` (read strictly)."""
    if isinstance(item, dict) and isinstance(item.get("text"), str) and item.get("messages") is None:
        return str(item["text"])
    if isinstance(item, dict) and item.get("messages") is not None and "text" not in item:
        return list(parse_messages(item["messages"]))
    raise ValueError("expected an object with a string 'text' or a list of chat 'messages' (one of them)")


def _progress(items: Iterator[Any], total: int | None) -> Iterator[Any]:
    """A progress line on stderr, only when stderr is a terminal and the batch is not tiny."""
    if not sys.stderr.isatty() or (total is not None and total < 50):
        yield from items
        return
    for i, item in enumerate(items, 1):
        if i % 10 == 0 or i == total:
            of = f"/{total}" if total else ""
            sys.stderr.write(f"\rchecked {i}{of}")
            sys.stderr.flush()
        yield item
    sys.stderr.write("\n")
