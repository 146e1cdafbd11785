"""The Engine: runs a policy's filters on a stage and turns their findings into a Verdict.

The engine only knows the filter protocol; concrete filters come from the registry. It never
imports the layers above it (``guardrails.hf``, ``guardrails.protect``, the server, the CLI):
the public ``guardrails.Guard`` (``guardrails.guard``) is this Engine plus ``wrap`` /
``wrap_pipeline`` / ``protect``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator, Sequence, TypeVar

from guardrails import registry
from guardrails.errors import GuardrailsError, PolicyError
from guardrails.filters.base import BaseFilter, action_level
from guardrails.policy import Policy, load_policy, policy_from_dict, use_filter_catalog
from guardrails.signing import TrustedKeys, require_verified
from guardrails.spans import apply_spans
from guardrails.types import Action, Context, FilterResult, Finding, Message, Span, Stage, message_text, render_conversation
from guardrails.verdict import Verdict, Violation

if TYPE_CHECKING:
    from guardrails.streaming import OutputStream

logger = logging.getLogger(__name__)

# Policies (a lower layer) find filter classes through the registry; the engine wires it in.
use_filter_catalog(registry)

_E = TypeVar("_E", bound="Engine")

_pool_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _timeout_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="guardrails-filter")
        return _pool


@dataclass(frozen=True)
class BoundFilter:
    """A filter instance with the policy settings the engine applies around it."""

    id: str
    filter: BaseFilter
    action: Action
    on_error: Action
    timeout_s: float | None
    monitor: bool = False  # mode: monitor: findings are recorded (Violation.monitor), never acted on


@dataclass(frozen=True)
class _Call:
    bound: BoundFilter
    text: str
    ctx: Context


@dataclass(frozen=True)
class _Failure:
    reason: str


_Outcome = FilterResult | _Failure


class Engine:
    """Runs a policy: ``check_input`` before the model, ``check_output`` on what it generates.

    Users build the subclass ``guardrails.Guard``, which adds the model and function wrappers."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._hash = policy.hash
        self._signer = policy.signer  # key id of its verified signature (guardrails.signing), or None
        self._stages: dict[Stage, list[BoundFilter]] = {
            Stage.INPUT: self._bind(policy, "input"),
            Stage.OUTPUT: self._bind(policy, "output"),
        }

    @classmethod
    def from_policy(cls: type[_E], source: str | Path | Policy | dict[str, Any] = "default", *,
                    trust_plugins: bool | Sequence[str] = True, trusted_keys: TrustedKeys | None = None) -> _E:
        """Build one (``Guard.from_policy``: a Guard) from a built-in policy name, a policy file,
        a dict, or a Policy.

        ``trust_plugins``: which ``package.module:ClassName`` filters a policy may import (all by
        default here; the CLI and the sidecar allow none unless told to; see ``load_policy``).
        ``trusted_keys``: a folder of ``*.pub`` files or a list of public keys; every policy file
        must then be signed by one of them (see ``load_policy``, ``guardrails.signing``)."""
        if trusted_keys is not None and not isinstance(source, (str, Path)):
            if isinstance(source, Policy):
                require_verified(source, trusted_keys)  # it was loaded with trusted_keys, by these keys
                return cls(source)
            raise PolicyError("trusted_keys: a policy given as a dict has no signature; load it from a signed file")
        if isinstance(source, Policy):
            return cls(source)
        if isinstance(source, dict):
            return cls(policy_from_dict(source, trust_plugins=trust_plugins))
        return cls(load_policy(source, trust_plugins=trust_plugins, trusted_keys=trusted_keys))

    @staticmethod
    def _bind(policy: Policy, stage: str) -> list[BoundFilter]:
        bound = []
        for cfg in policy.stage(stage):
            cls = registry.resolve(cfg.filter)
            on_error = cfg.on_error or policy.on_error
            # Model-backed filters declare an `offline` key; the policy-wide offline: true turns it on.
            if policy.offline and "offline" in type(cfg).model_fields and not getattr(cfg, "offline"):
                cfg = cfg.model_copy(update={"offline": True})
            bound.append(
                BoundFilter(
                    id=cfg.id or cfg.filter,
                    filter=cls(cfg),
                    action=action_level(cfg.action),
                    on_error=Action.BLOCK if on_error == "block" else Action.ALLOW,
                    timeout_s=cfg.timeout_ms / 1000 if cfg.timeout_ms else None,
                    monitor=(cfg.mode or policy.mode) == "monitor",
                )
            )
        # Cheap filters first, so that a block from a pattern skips the expensive models.
        return sorted(bound, key=lambda b: b.filter.cost)

    @property
    def refusal(self) -> str:
        return self.policy.refusal

    def reply(self, verdict: Verdict) -> str:
        """What to answer in place of blocked content: the category's message (action respond), else
        the policy's refusal."""
        return verdict.response if verdict.response is not None else self.policy.refusal

    @property
    def policy_hash(self) -> str:
        return self._hash

    @property
    def policy_signer(self) -> str | None:
        """Key id that signed the policy file when it was loaded with ``trusted_keys``; else None."""
        return self._signer

    def filters(self, stage: Stage | str) -> list[BoundFilter]:
        return list(self._stages[Stage(stage)])

    def load(self) -> None:
        """Load every filter's models now (instead of on first use)."""
        for stage in self._stages.values():
            for b in stage:
                b.filter.ensure_loaded()

    def _load_stage(self, stage: Stage) -> None:
        """Load a stage's filters before timing a check; a failure is left for on_error to handle."""
        for b in self._stages[stage]:
            if not b.filter._loaded:
                try:
                    b.filter.ensure_loaded()
                except Exception:  # noqa: BLE001 - _call() retries and reports it as a filter error
                    pass

    # -- synchronous API -------------------------------------------------------------------

    def check_input(self, prompt: str | Sequence[Message], *, ctx: Context | None = None) -> Verdict:
        """Check a prompt, or a list of chat messages, before the model sees it."""
        return self.check(prompt, Stage.INPUT, ctx=ctx)

    def check_output(self, text: str, *, prompt: str | None = None, ctx: Context | None = None) -> Verdict:
        """Check generated text. Output filters read the answer with its ``prompt`` (default: the
        prompt of the input check that used the same ``ctx``; pass the request's ctx also to restore
        pseudonymised values)."""
        return self.check(text, Stage.OUTPUT, ctx=_with_prompt(ctx, prompt))

    def check(
        self, content: str | Sequence[Message], stage: Stage | str = Stage.INPUT, *, ctx: Context | None = None, max_cost: int | None = None
    ) -> Verdict:
        """Run one stage. ``max_cost`` skips filters costlier than it (used between stream checkpoints)."""
        self._load_stage(Stage(stage))
        plan = self._evaluate(content, Stage(stage), ctx, max_cost)
        try:
            call = next(plan)
            while True:
                call = plan.send(self._call(call))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def check_alone(
        self, filter_id: str, content: str | Sequence[Message], stage: Stage | str = Stage.INPUT, *, ctx: Context | None = None
    ) -> Verdict:
        """Run one filter of a stage by itself, through the same path as ``check`` (loading, timeout,
        on_error, thresholds, actions): what that filter alone decides. Evaluation scores the filters
        a check skipped after an earlier block this way."""
        stage = Stage(stage)
        alone = [b for b in self._stages[stage] if b.id == filter_id]
        if not alone:
            raise KeyError(f"no {stage.value} filter with id {filter_id!r}")
        view = copy.copy(self)
        view._stages = {**self._stages, stage: alone}
        return view.check(content, stage, ctx=ctx)

    # -- asynchronous API ------------------------------------------------------------------

    async def acheck_input(self, prompt: str | Sequence[Message], *, ctx: Context | None = None) -> Verdict:
        return await self.acheck(prompt, Stage.INPUT, ctx=ctx)

    async def acheck_output(self, text: str, *, prompt: str | None = None, ctx: Context | None = None) -> Verdict:
        return await self.acheck(text, Stage.OUTPUT, ctx=_with_prompt(ctx, prompt))

    async def acheck(
        self, content: str | Sequence[Message], stage: Stage | str = Stage.INPUT, *, ctx: Context | None = None, max_cost: int | None = None
    ) -> Verdict:
        if not all(b.filter._loaded for b in self._stages[Stage(stage)]):
            await asyncio.to_thread(self._load_stage, Stage(stage))
        plan = self._evaluate(content, Stage(stage), ctx, max_cost)
        try:
            call = next(plan)
            while True:
                call = plan.send(await self._acall(call))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    # -- streamed output (the wrappers of transformers models and functions: guardrails.guard.Guard) --

    def stream(self, ctx: Context | None = None, **options: Any) -> "OutputStream":
        """An incremental output checker for streamed generation (see guardrails.streaming)."""
        from guardrails.streaming import OutputStream

        return OutputStream(self, ctx=ctx, **options)

    # -- the evaluation plan, shared by the sync and async drivers ----------------------------

    def _evaluate(
        self, content: str | Sequence[Message], stage: Stage, ctx: Context | None, max_cost: int | None = None
    ) -> Generator[_Call, _Outcome, Verdict]:
        start = time.perf_counter()
        ctx = ctx if ctx is not None else Context()
        ctx.stage = stage
        out_messages: list[Message] | None = None
        if isinstance(content, str):
            texts: list[tuple[str | None, str]] = [(None, content)]
            messages: list[Message] | None = None
        else:
            messages = [dict(m) for m in content]  # type: ignore[misc]
            texts = [(m.get("role"), message_text(m)) for m in messages]
            ctx.messages = messages
        if stage is Stage.INPUT and max_cost is None:
            ctx.prompt = _prompt_of(texts)
        violations: list[Violation] = []
        scores: dict[str, dict[str, float]] = {}
        redactions: dict[int, list[Span]] = {}
        blocked = False
        for bound in self._stages[stage]:
            if max_cost is not None and bound.filter.cost > max_cost:
                continue
            targets: list[tuple[str | None, str, int | None]]
            if bound.filter.conversation and messages is not None:
                targets = [(None, render_conversation(messages), None)]
            else:
                targets = [(role, text, (i if messages is not None else None)) for i, (role, text) in enumerate(texts)]
            for role, text, index in targets:
                ctx.role = role
                started = time.perf_counter()
                outcome = yield _Call(bound, text, ctx)
                if ctx.filter_times is not None:  # opt-in per-filter timing (see Context)
                    ctx.filter_times.append((bound.id, time.perf_counter() - started))
                decided = outcome if isinstance(outcome, _Failure) else _decide(bound, outcome, text, ctx)
                if isinstance(decided, _Failure):
                    logger.warning("filter %s failed (%s); on_error=%s", bound.id, decided.reason, bound.on_error.value)
                    violations.append(Violation(bound.id, "filter_error", 1.0, bound.on_error, (), index, decided.reason,
                                                monitor=bound.monitor))
                    blocked = blocked or (bound.on_error.blocks and not bound.monitor)
                    continue
                _merge_scores(scores.setdefault(bound.id, {}), outcome.scores)  # type: ignore[union-attr]
                for finding, action in decided:
                    spans = finding.spans if index is not None or messages is None else ()
                    violations.append(Violation(bound.id, finding.category, finding.score, action, spans, index,
                                                monitor=bound.monitor))
                    if bound.monitor:
                        continue  # monitor mode: recorded as what it would have done; nothing changes
                    if action is Action.REDACT:
                        redactions.setdefault(index or 0, []).extend(spans)
                    blocked = blocked or action.blocks
            if blocked:
                break  # nothing a later filter finds can weaken a block
        ctx.role = None
        action = Action.strongest([v.action for v in violations if not v.monitor])
        if messages is None:
            out_text = apply_spans(texts[0][1], redactions.get(0, []))
        else:
            out_messages = [
                Message(**{**m, "content": apply_spans(texts[i][1], redactions[i])}) if i in redactions else m
                for i, m in enumerate(messages)
            ]
            out_text = message_text(out_messages[-1]) if out_messages else ""
        if stage is Stage.OUTPUT and not blocked and ctx.vault:
            out_text = ctx.restore(out_text)
        response = None
        if action is Action.RESPOND:
            first = next(v for v in violations if v.action is Action.RESPOND and not v.monitor)
            response = self.policy.response_for(first.category, ctx.locale)
        verdict = Verdict(
            allowed=not action.blocks,
            action=action,
            stage=stage,
            text=out_text,
            violations=tuple(violations),
            policy=self.policy.name,
            policy_hash=self._hash,
            policy_signer=self._signer,
            latency_ms=(time.perf_counter() - start) * 1000,
            messages=out_messages,
            scores=scores,
            response=response,
            would_action=Action.strongest([v.action for v in violations if v.monitor]),
        )
        _log(verdict, ctx)
        return verdict

    def _call(self, call: _Call) -> _Outcome:
        bound = call.bound
        try:
            bound.filter.ensure_loaded()
            if bound.timeout_s is None:
                return bound.filter.check(call.text, call.ctx)
            future = _timeout_pool().submit(bound.filter.check, call.text, call.ctx)
            return future.result(timeout=bound.timeout_s)
        except concurrent.futures.TimeoutError:
            return _Failure(f"timeout after {bound.timeout_s * 1000:.0f} ms")  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001 - any filter failure follows on_error
            return _Failure(_describe_error(exc))

    async def _acall(self, call: _Call) -> _Outcome:
        bound = call.bound
        try:
            if not bound.filter._loaded:
                await asyncio.to_thread(bound.filter.ensure_loaded)
            coro = bound.filter.acheck(call.text, call.ctx)
            if bound.timeout_s is None:
                return await coro
            return await asyncio.wait_for(coro, bound.timeout_s)
        except (asyncio.TimeoutError, TimeoutError):
            return _Failure(f"timeout after {bound.timeout_s * 1000:.0f} ms")  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001
            return _Failure(_describe_error(exc))


def _decide(bound: BoundFilter, result: FilterResult, text: str, ctx: Context) -> list[tuple[Finding, Action]] | _Failure:
    """The findings that are violations, with their actions: the engine applies each category's
    threshold and action (the filter only scores). A result that breaks the filter contract is a
    failure of that filter (its ``on_error`` follows), never a crash of the check."""
    filt = bound.filter
    problem = _contract_breach(result, len(text))
    if problem:
        return _Failure(f"{type(filt).__name__}.check {problem}")
    out = []
    for finding in result.findings:
        if finding.score < filt.threshold_for(finding.category, ctx):
            continue
        named = filt.action_for(finding.category, ctx)
        action = action_level(named) if named else bound.action
        if action is Action.REDACT and not finding.spans:
            return _Failure(f"{type(filt).__name__}: action redact, but its {finding.category!r} finding has no spans "
                            "to redact (a filter that redacts must report spans)")
        out.append((finding, action))
    return out


def _contract_breach(result: Any, length: int) -> str | None:
    if not isinstance(result, FilterResult):
        return f"returned {type(result).__name__}, expected FilterResult"
    for finding in result.findings:
        if not isinstance(finding, Finding):
            return f"returned a finding of type {type(finding).__name__}, expected Finding"
        if not _is_unit(finding.score):
            return f"returned score {finding.score!r} for {finding.category!r}, expected a number between 0 and 1"
        for span in finding.spans:
            if not isinstance(span, Span) or not 0 <= span.start <= span.end <= length:
                return f"returned span {span!r} outside the text (0..{length})"
    for category, score in dict(result.scores).items():
        if not _is_unit(score):
            return f"returned score {score!r} for {category!r}, expected a number between 0 and 1"
    return None


def _is_unit(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


def _describe_error(exc: Exception) -> str:
    # Our own errors carry safe messages; a third-party exception message may quote the input.
    if isinstance(exc, GuardrailsError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _merge_scores(into: dict[str, float], new: Any) -> None:
    for category, score in dict(new).items():
        into[category] = max(score, into.get(category, 0.0))


def _with_prompt(ctx: Context | None, prompt: str | None) -> Context | None:
    """The context of an output check: ``prompt`` (when given) is the request the answer responds to."""
    if prompt is None:
        return ctx
    ctx = ctx if ctx is not None else Context()
    ctx.prompt = prompt
    return ctx


def _prompt_of(texts: list[tuple[str | None, str]]) -> str:
    """The request an answer will respond to: the last user turn (a plain text: all of it)."""
    for role, text in reversed(texts):
        if role in (None, "user"):
            return text
    return texts[-1][1] if texts else ""


def _log(verdict: Verdict, ctx: Context) -> None:
    level = logging.INFO if verdict.action is not Action.ALLOW or verdict.would_action is not Action.ALLOW else logging.DEBUG
    if logger.isEnabledFor(level):
        logger.log(level, "verdict request=%s %s", ctx.request_id, verdict.summary())
