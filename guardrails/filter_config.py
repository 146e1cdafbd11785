"""The keys every filter entry of a policy accepts (``FilterConfig``): the policy's own schema of an entry.

It lives below the filters (a policy is read and validated without importing any filter); each filter
extends it with its own keys (``BaseFilter.Config``), and ``guardrails.filters.base`` re-exports it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from guardrails.thresholds import Threshold

__all__ = ["FilterConfig", "http_base_url"]

# Names the roles and parts keys accept (guardrails.conversation.ROLES and PART_KINDS).
_ROLES = ("user", "tool", "system", "assistant")
_PARTS = ("content", "tool_arguments", "tool_names", "metadata")


class FilterConfig(BaseModel):
    """Keys every filter entry of a policy accepts. Filters subclass it to add their own keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filter: str = Field(description="A registered filter name, or 'package.module:ClassName'.")
    id: str | None = Field(None, description="Unique id within the stage; defaults to the filter name.")
    action: str = Field("block", description="block | redact | flag (some filters accept more).")
    threshold: Threshold | None = Field(None, description="Score at or above which a finding is a violation (0-1).")
    on_error: Literal["block", "allow"] | None = Field(
        None, description="What a crash or timeout does; defaults to the policy's on_error."
    )
    timeout_ms: int | None = Field(None, gt=0, description="Per-check time limit in milliseconds.")
    enabled: bool = Field(True, description="false removes an entry inherited through extends.")
    mode: Literal["monitor", "enforce"] | None = Field(
        None, description="monitor: the filter runs and its findings are recorded (verdict, audit, metrics) as what it "
                          "would have done, but nothing is blocked or changed; enforce: act on them. Defaults to the "
                          "policy's mode.",
    )
    locked: bool = Field(
        default=False, exclude_if=lambda v: not v,
        description="true: a policy that extends this one may make this entry stricter (lower thresholds, stronger "
                    "actions, more categories, entities, patterns or words), never weaker or absent "
                    "(guardrails.policy_locks; docs/security.md, Locked floors).",
    )

    roles: tuple[Literal["user", "tool", "system", "assistant"], ...] | None = Field(
        None,
        description="Input stage: which chat messages the entry reads (developer counts as system, function as tool, "
                    "custom roles as user). Default: the filter's own (builtin: user and tool; pattern and PII filters: "
                    "every role). The output stage reads the assistant's answer.",
    )
    parts: tuple[Literal["content", "tool_arguments", "tool_names", "metadata"], ...] | None = Field(
        None,
        description="Which parts of a message the entry reads: content (text parts, refusal, reasoning), "
                    "tool_arguments and tool_names (tool_calls[].function), metadata (name, tool_call_id, ids). "
                    "Default: the filter's own (builtin: content and tool_arguments; others: all).",
    )

    @field_validator("roles", "parts", mode="before")
    @classmethod
    def _known_names(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return value
        known = _ROLES if info.field_name == "roles" else _PARTS
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"expected a non-empty list of {', '.join(known)}")
        for item in value:
            if item not in known:
                raise ValueError(f"unknown {str(info.field_name)[:-1]} {item!r}; expected some of {', '.join(known)}")
        return tuple(dict.fromkeys(value))

    @field_validator("roles")
    @classmethod
    def _output_reads_the_answer(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and (info.context or {}).get("stage") == "output" and set(value) != {"assistant"}:
            raise ValueError("the output stage reads the assistant's answer: write roles: [assistant] or leave roles out")
        return value

    def files_read(self) -> tuple[str, ...]:
        """Files this entry reads besides the policy (e.g. a deny list): hot reload watches them."""
        return ()

    def respond_categories(self) -> tuple[str, ...]:
        """Categories whose action is ``respond`` (the policy must hold a message for each)."""
        return ()


def http_base_url(value: str | None) -> str | None:
    """Validate an ``endpoint:`` key: an http(s) base URL (or unset)."""
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// base URL, got {value!r}")
    return value
