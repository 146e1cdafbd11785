"""Tool calls in answers, checked by the output stage: whole, or while their arguments stream in fragments.

A tool call is checked as an assistant message holding that one call, so output filters read its name and
arguments as their ``roles`` / parts settings say, and each finding names the part it came from
(``tool_calls[0].function.name`` or ``tool_calls[0].function.arguments``). ``ToolArgumentsStream`` is
``OutputStream`` for the arguments: it releases them only once checked, holding back ``hold_chars``, so a
secret or an e-mail address never leaves in fragments; a block cuts the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardrails.streaming import OutputStream
from guardrails.types import Action, Context, Span, Stage
from guardrails.verdict import Verdict

if TYPE_CHECKING:
    from guardrails.engine import Engine

NAME_PART = "tool_calls[0].function.name"
ARGUMENTS_PART = "tool_calls[0].function.arguments"


def tool_call_message(name: str, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    """An assistant message holding one function call (``arguments`` may be a partial JSON fragment)."""
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        call = {"id": call_id, **call}
    return {"role": "assistant", "content": "", "tool_calls": [call]}


def check_tool_call(guard: "Engine", name: str, arguments: str = "", *, ctx: Context | None = None,
                    max_cost: int | None = None) -> Verdict:
    """The output stage's verdict on one tool call (its name, and its arguments so far)."""
    return guard.check([tool_call_message(name, arguments)], Stage.OUTPUT, ctx=ctx, max_cost=max_cost)


def checked_call(verdict: Verdict) -> tuple[str, str] | None:
    """The (name, arguments) of the checked call after the verdict's redactions; None when it has none."""
    messages = verdict.messages or []
    calls = messages[0].get("tool_calls") if messages else None
    if not isinstance(calls, list) or not calls or not isinstance(calls[0], dict):
        return None
    fn = calls[0].get("function")
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not isinstance(fn.get("arguments"), str):
        return None
    return fn["name"], fn["arguments"]


class ToolArgumentsStream(OutputStream):
    """Incremental checks of one tool call's streamed arguments (see OutputStream for the windows and the
    leak bound). The call's ``name`` (checked on its own as it arrived) goes with every check."""

    def __init__(self, guard: "Engine", name: str, ctx: Context | None = None, **options: Any) -> None:
        super().__init__(guard, ctx, **options)
        self.name = name

    def _verdict(self, text: str, max_cost: int | None) -> Verdict:
        return check_tool_call(self.guard, self.name, text, ctx=self.ctx, max_cost=max_cost)

    def _redactions(self, verdict: Verdict) -> list[Span]:
        return [s for v in verdict.violations if v.action is Action.REDACT and not v.monitor
                and v.part == ARGUMENTS_PART for s in v.spans]
