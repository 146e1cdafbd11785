"""``tool_calls``: which tools a model may call, and how much it may pass them.

    - filter: tool_calls
      deny: [delete_repository, "shell_*"]     # names (glob patterns), case-insensitive
      allow: [search, get_weather]             # optional: any other name is a violation
      max_argument_chars: 2000                 # optional: longer arguments are a violation
      action: block

It reads the names (``tool_calls[k].function.name``) and arguments of the tool calls in an assistant
message (the answer at the output stage; earlier assistant turns at the input stage): categories
``denied_tool`` (a name on the deny list), ``unlisted_tool`` (a name not on the allow list) and
``oversized_arguments``. What the arguments say is for the other filters of the stage (``secrets``,
``pii``, ``regex``, ``builtin``), which read tool-call arguments by default. In a streamed answer
the arguments are checked as their fragments arrive (OpenAI-compatible servers send a call's name
whole, in its first delta).
"""

from __future__ import annotations

import fnmatch

from pydantic import Field, model_validator

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult, Finding, Span

CATEGORIES = ("denied_tool", "unlisted_tool", "oversized_arguments")


class ToolCallsConfig(FilterConfig):
    deny: list[str] = Field([], description="Tool names (glob patterns such as 'shell_*') the model may not call.")
    allow: list[str] | None = Field(None, description="When given, the only tool names (glob patterns) allowed.")
    max_argument_chars: int | None = Field(None, gt=0, description="Longest tool-call arguments text allowed.")

    @model_validator(mode="after")
    def _has_a_rule(self) -> "ToolCallsConfig":
        if not self.deny and self.allow is None and self.max_argument_chars is None:
            raise ValueError("give deny, allow or max_argument_chars")
        return self


class ToolCallsFilter(BaseFilter):
    """Deny list, allow list and argument size limit for the tool calls of assistant messages."""

    name = "tool_calls"
    Config = ToolCallsConfig
    cost = 0
    actions = frozenset({"block", "flag"})
    default_roles = frozenset({"assistant"})
    default_parts = frozenset({"tool_names", "tool_arguments"})

    def __init__(self, config: ToolCallsConfig) -> None:
        super().__init__(config)
        self.config: ToolCallsConfig = config

    def is_light(self) -> bool:
        return True

    def cacheable(self, ctx: Context) -> bool:
        return True  # a function of the text and the part it is

    def check(self, text: str, ctx: Context) -> FilterResult:
        if ctx.part == "tool_names":
            return self._name(text)
        if ctx.part == "tool_arguments":
            limit = self.config.max_argument_chars
            over = limit is not None and len(text) > limit
            score = 1.0 if over else 0.0
            found = (Finding("oversized_arguments", 1.0, (Span(0, len(text), "oversized_arguments"),)),) if over else ()
            return FilterResult(found, {"oversized_arguments": score})
        return FilterResult.clean()  # any other text holds no tool call

    def _name(self, text: str) -> FilterResult:
        name = text.strip().casefold()
        denied = any(fnmatch.fnmatchcase(name, p.casefold()) for p in self.config.deny)
        allow = self.config.allow
        unlisted = allow is not None and not any(fnmatch.fnmatchcase(name, p.casefold()) for p in allow)
        findings = []
        if denied:
            findings.append(Finding("denied_tool", 1.0, (Span(0, len(text), "denied_tool"),)))
        if unlisted:
            findings.append(Finding("unlisted_tool", 1.0, (Span(0, len(text), "unlisted_tool"),)))
        return FilterResult(tuple(findings), {"denied_tool": float(denied), "unlisted_tool": float(unlisted)})
