"""The Verdict: what a check decided, in the same shape for the API, the CLI and HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Generic, Mapping, TypeVar

from guardrails.types import Action, Message, Span, Stage


@dataclass(frozen=True)
class Violation:
    """One finding of one filter that crossed its threshold (or one filter error).

    ``monitor`` is true when the filter runs in monitor (shadow) mode (``mode: monitor``): ``action`` is
    then what the finding *would* have done; it did nothing (see ``Verdict``)."""

    filter: str
    category: str
    score: float
    action: Action
    spans: tuple[Span, ...] = ()
    message: int | None = None  # index of the chat message the spans refer to
    error: str | None = None  # set when the filter crashed or timed out
    monitor: bool = False  # the filter is in monitor mode: the action was recorded, not taken
    role: str | None = None  # role of that chat message
    part: str | None = None  # where in the message the spans refer to: "content", "content[1].text",
    # "tool_calls[0].function.arguments", "tool_calls[0].function.name", "name", ...; "turns" for a
    # finding in several turns read together (its spans then refer to no single part, and are empty)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filter": self.filter,
            "category": self.category,
            "score": round(self.score, 4),
            "action": self.action.value,
            "spans": [s.to_dict() for s in self.spans],
        }
        if self.message is not None:
            out["message"] = self.message
        if self.role is not None:
            out["role"] = self.role
        if self.part is not None:
            out["part"] = self.part
        if self.error is not None:
            out["error"] = self.error
        if self.monitor:
            out["monitor"] = True
        return out


@dataclass(frozen=True)
class Verdict:
    """The outcome of one stage of checks.

    ``action`` is the strongest action taken; ``allowed`` is false only for ``block``.
    ``text`` is the text after redaction (for chat input: the last message's content);
    ``messages`` holds the redacted conversation when chat messages were checked.
    ``scores`` maps filter id to the raw score of every category that filter scored.
    ``response`` is the message to answer with when the action is ``respond`` (a category's
    policy-defined message, e.g. support resources for self-harm).
    ``policy_signer`` is the key id that signed the policy file, when it was loaded with
    ``trusted_keys`` (guardrails.signing); ``to_dict`` and ``summary`` include it only then.

    Monitor (shadow) mode: a filter in ``mode: monitor`` (the policy's, or its entry's) runs and its
    findings are listed in ``violations`` with ``monitor=True`` and the action they *would* have
    taken, but they change nothing: ``action``, ``allowed``, ``text``, ``messages`` and ``response``
    reflect only the enforced filters. ``would_action`` is the strongest action of the monitored
    violations (``allow`` when none fired; ``would_block`` when that is ``block`` or ``respond``).
    ``to_dict`` and ``summary`` write ``"would_action"`` only when a monitored filter fired, and
    ``"monitor": true`` on each monitored violation: a record with ``"would_action": "block"`` (or
    ``"respond"``) is a decision that monitor mode let through and enforcement would have blocked.
    """

    allowed: bool
    action: Action
    stage: Stage
    text: str
    violations: tuple[Violation, ...]
    policy: str
    policy_hash: str
    latency_ms: float
    messages: list[Message] | None = None
    scores: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    response: str | None = None
    # Key id of the verified signature of the policy file (loaded with trusted_keys); None otherwise.
    policy_signer: str | None = None
    # The strongest action of the monitored (mode: monitor) violations: what they would have done.
    would_action: Action = Action.ALLOW

    @property
    def blocked(self) -> bool:
        return not self.allowed

    @property
    def monitored(self) -> list[Violation]:
        """The violations of filters in monitor mode (recorded, not acted on)."""
        return [v for v in self.violations if v.monitor]

    @property
    def would_block(self) -> bool:
        """A monitored filter would have blocked (or answered with a message): enforcing it would block."""
        return self.would_action.blocks

    def _would(self) -> dict[str, Any]:
        return {"would_action": self.would_action.value} if any(v.monitor for v in self.violations) else {}

    @property
    def errors(self) -> list[Violation]:
        return [v for v in self.violations if v.error is not None]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "allowed": self.allowed,
            "action": self.action.value,
            "stage": self.stage.value,
            "text": self.text,
            **self._would(),
            "violations": [v.to_dict() for v in self.violations],
            "policy": self.policy,
            "policy_hash": self.policy_hash,
            **({"policy_signer": self.policy_signer} if self.policy_signer is not None else {}),
            "latency_ms": round(self.latency_ms, 3),
        }
        if self.response is not None:
            out["response"] = self.response
        if self.messages is not None:
            out["messages"] = [dict(m) for m in self.messages]
        if self.scores:
            out["scores"] = {f: {c: round(s, 4) for c, s in cats.items()} for f, cats in self.scores.items()}
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def summary(self) -> dict[str, Any]:
        """A log-safe view: no text, no spans' contents; ids, actions, categories and scores only."""
        return {
            "stage": self.stage.value,
            "action": self.action.value,
            **self._would(),
            "policy": self.policy,
            "policy_hash": self.policy_hash,
            **({"policy_signer": self.policy_signer} if self.policy_signer is not None else {}),
            "latency_ms": round(self.latency_ms, 3),
            "violations": [
                {"filter": v.filter, "category": v.category, "score": round(v.score, 4), "action": v.action.value}
                | ({"error": v.error} if v.error else {})
                | ({"monitor": True} if v.monitor else {})
                for v in self.violations
            ],
        }


T = TypeVar("T")


class VerdictRecord(Generic[T]):
    """Receives the verdicts of one wrapped call: the per-call, thread-safe way to read them.

    Pass one as ``verdicts=`` to a call of a wrapper; when the call is over, ``value`` holds
    that call's verdicts, the same object the wrapper's ``last_verdicts`` would show::

        rec = VerdictRecord()
        out = guarded.generate(**enc, max_new_tokens=64, verdicts=rec)   # guard.wrap(model, tok)
        rec.value.outputs[0].allowed                                     # GenerationVerdicts
        pipe(chats, verdicts=rec); rec.value[0].inputs                   # guard.wrap_pipeline: one per prompt
        answer(prompt, verdicts=rec); rec.value.output                   # @guard.protect: CallVerdicts

    ``value`` is None until the call has finished; for a stream (a streamer, a protected
    generator) until the stream has ended. Use a new record per call, or reuse one in a single
    thread: the latest call through it overwrites ``value``.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: T | None = None

    def __repr__(self) -> str:
        return f"VerdictRecord({self.value!r})"
