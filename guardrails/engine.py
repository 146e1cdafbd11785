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
from typing import TYPE_CHECKING, Any, Generator, Mapping, Sequence, TypeVar

from guardrails import registry
from guardrails.errors import GuardrailsError, PolicyError
from guardrails.filters.base import BaseFilter, action_level
from guardrails.policy import Policy, load_policy, policy_from_dict, use_filter_catalog
from guardrails.signing import TrustedKeys, require_verified
from guardrails.spans import apply_spans
from guardrails.check_cache import DEFAULT_SIZE, CheckCache
from guardrails.conversation import CONTENT, ROLES, Part, parts_of, rewrite, role_group, write_back
from guardrails.types import Action, Context, FilterResult, Finding, Message, Span, Stage, message_text, render_conversation
from guardrails.verdict import Verdict, Violation

if TYPE_CHECKING:
    from guardrails.streaming import OutputStream

logger = logging.getLogger(__name__)

# Policies (a lower layer) find filter classes through the registry; the engine wires it in.
use_filter_catalog(registry)

_E = TypeVar("_E", bound="Engine")

# What a check reads: a plain text, chat messages, or one message (an assistant answer, tool calls and all).
Content = str | Sequence[Message] | Sequence[Mapping[str, Any]] | Mapping[str, Any]
# Contexts that tell BaseFilter.cacheable only the stage.
_STAGE_CTX = {Stage.INPUT: Context(stage=Stage.INPUT), Stage.OUTPUT: Context(stage=Stage.OUTPUT)}

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


@dataclass
class _Call:
    bound: BoundFilter
    text: str
    ctx: Context
    load_s: float = 0.0  # set by the driver when the filter was loaded on demand (kept out of latency_ms)


@dataclass(frozen=True)
class _Failure:
    reason: str


_Outcome = FilterResult | _Failure


class Engine:
    """Runs a policy: ``check_input`` before the model, ``check_output`` on what it generates.

    Users build the subclass ``guardrails.Guard``, which adds the model and function wrappers."""

    def __init__(self, policy: Policy, *, cache_size: int = DEFAULT_SIZE) -> None:
        self.policy = policy
        # Results of cacheable filters on texts already checked (earlier turns of a conversation); 0: none.
        self.cache: CheckCache | None = CheckCache(cache_size) if cache_size > 0 else None
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
            if not b.filter._loaded and not b.filter.load_on_demand:
                try:
                    b.filter.ensure_loaded()
                except Exception:  # noqa: BLE001 - _call() retries and reports it as a filter error
                    pass

    # -- synchronous API -------------------------------------------------------------------

    def check_input(self, prompt: Content, *, ctx: Context | None = None) -> Verdict:
        """Check a prompt, or a list of chat messages, before the model sees it."""
        return self.check(prompt, Stage.INPUT, ctx=ctx)

    def check_output(self, text: Content, *, prompt: str | None = None, ctx: Context | None = None) -> Verdict:
        """Check generated text, or an assistant message (its content, and its ``tool_calls``' names and
        arguments, which may be a partial JSON fragment while streaming; ``verdict.messages`` holds it
        redacted). Output filters read the answer with its ``prompt`` (default: the prompt of the input
        check that used the same ``ctx``; pass the request's ctx also to restore pseudonymised values)."""
        return self.check(text, Stage.OUTPUT, ctx=_with_prompt(ctx, prompt))

    def check(
        self, content: Content, stage: Stage | str = Stage.INPUT, *, ctx: Context | None = None, max_cost: int | None = None
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
        self, filter_id: str, content: Content, stage: Stage | str = Stage.INPUT, *, ctx: Context | None = None
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

    async def acheck_input(self, prompt: Content, *, ctx: Context | None = None) -> Verdict:
        return await self.acheck(prompt, Stage.INPUT, ctx=ctx)

    async def acheck_output(self, text: Content, *, prompt: str | None = None, ctx: Context | None = None) -> Verdict:
        return await self.acheck(text, Stage.OUTPUT, ctx=_with_prompt(ctx, prompt))

    async def acheck(
        self, content: Content, stage: Stage | str = Stage.INPUT, *, ctx: Context | None = None, max_cost: int | None = None
    ) -> Verdict:
        if not all(b.filter._loaded or b.filter.load_on_demand for b in self._stages[Stage(stage)]):
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
        self, content: Content, stage: Stage, ctx: Context | None, max_cost: int | None = None
    ) -> Generator[_Call, _Outcome, Verdict]:
        start = time.perf_counter()
        loading = 0.0  # on-demand filter loads, not part of the check's latency
        ctx = ctx if ctx is not None else Context()
        ctx.stage = stage
        messages: list[dict[str, Any]] | None = None
        parts: list[Part]
        if isinstance(content, str):
            parts = [Part(0, "", "", "", content)]
            prompt = content
        else:
            messages = [dict(m) for m in ([content] if isinstance(content, Mapping) else content)]
            parts = parts_of(messages)
            prompt = _prompt_of(messages)
            if stage is Stage.INPUT:
                ctx.messages = messages  # type: ignore[assignment]
        if stage is Stage.INPUT and max_cost is None:
            ctx.prompt = prompt
        violations: list[Violation] = []
        scores: dict[str, dict[str, float]] = {}
        redactions: dict[tuple[int, str], list[Span]] = {}
        blocked = False
        for bound in self._stages[stage]:
            if max_cost is not None and bound.filter.cost > max_cost:
                continue
            found: set[str] = set()
            for target in self._targets(bound, stage, messages, parts):
                if target.window and found:
                    continue  # turns read together add only what no single turn showed
                ctx.role, ctx.part = target.role, target.kind
                hit = self._cached(bound, stage, target)
                outcome: _Outcome
                if hit is not None:
                    outcome = hit
                else:
                    started = time.perf_counter()
                    call = _Call(bound, target.text, ctx)
                    outcome = yield call
                    loading += call.load_s
                    if ctx.filter_times is not None:  # opt-in per-filter timing (see Context)
                        ctx.filter_times.append((bound.id, time.perf_counter() - started - call.load_s))
                    self._remember(bound, stage, target, outcome)
                decided = outcome if isinstance(outcome, _Failure) else _decide(bound, outcome, target.text, ctx)
                if isinstance(decided, _Failure):
                    logger.warning("filter %s failed (%s); on_error=%s", bound.id, decided.reason, bound.on_error.value)
                    where = target.where()
                    violations.append(Violation(bound.id, "filter_error", 1.0, bound.on_error, (), where[0], decided.reason,
                                                monitor=bound.monitor, role=where[1], part=where[2]))
                    blocked = blocked or (bound.on_error.blocks and not bound.monitor)
                    continue
                _merge_scores(scores.setdefault(bound.id, {}), outcome.scores)  # type: ignore[union-attr]
                for finding, action in decided:
                    found.add(finding.category)
                    for (index, role, path), spans in target.locate(finding.spans):
                        violations.append(Violation(bound.id, finding.category, finding.score, action, spans, index,
                                                    monitor=bound.monitor, role=role, part=path))
                        if not bound.monitor and action is Action.REDACT:
                            redactions.setdefault((index or 0, path or ""), []).extend(spans)
                    if not bound.monitor:
                        blocked = blocked or action.blocks
            if blocked:
                break  # nothing a later filter finds can weaken a block
        ctx.role = ctx.part = None
        action = Action.strongest([v.action for v in violations if not v.monitor])
        restore = stage is Stage.OUTPUT and not blocked and bool(ctx.vault)
        out_messages: list[Message] | None = None
        if messages is None:
            out_text = apply_spans(content, redactions.get((0, ""), []))  # type: ignore[arg-type]
            out_text = ctx.restore(out_text) if restore else out_text
        else:
            written = write_back(messages, parts, redactions) if redactions else messages
            if restore:
                written = rewrite(written, parts_of(written), lambda part: ctx.restore(part.text))
            out_messages = written  # type: ignore[assignment]
            out_text = message_text(written[-1]) if written else ""
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
            latency_ms=(time.perf_counter() - start - loading) * 1000,
            messages=out_messages,
            scores=scores,
            response=response,
            would_action=Action.strongest([v.action for v in violations if v.monitor]),
        )
        _log(verdict, ctx)
        return verdict

    @staticmethod
    def _targets(bound: BoundFilter, stage: Stage, messages: list[dict[str, Any]] | None,
                 parts: list[Part]) -> list[_Target]:
        """The texts one filter checks: the plain text; or each message part its roles and parts select
        (then, for ``turn_window`` filters, the recent turns of each role read together); or, for a
        ``conversation`` filter's input check, the whole conversation rendered once."""
        filt = bound.filter
        if messages is None:
            return [_Target(parts[0].text, (parts[0],), (0,), plain=True)]
        if filt.conversation and stage is Stage.INPUT:
            return [_Target(render_conversation(messages), (), (), role=None, kind=None)]
        kinds = filt.parts()
        roles = filt.roles() if stage is Stage.INPUT else None
        chosen = [p for p in parts if p.text and p.kind in kinds and (roles is None or p.group in roles)]
        out = [_Target(p.text, (p,), (0,), role=p.role, kind=p.kind) for p in chosen]
        if filt.turn_window > 0 and stage is Stage.INPUT:
            for group in ROLES:
                if group in (roles or ()):
                    window = _turns(chosen, group, filt.turn_window)
                    if window is not None:
                        out.append(window)
        return out

    def _cached(self, bound: BoundFilter, stage: Stage, target: _Target) -> FilterResult | None:
        if self.cache is None or not bound.filter.cacheable(_STAGE_CTX[stage]):
            return None
        return self.cache.get(self._key(bound, stage, target))

    def _remember(self, bound: BoundFilter, stage: Stage, target: _Target, outcome: _Outcome) -> None:
        if self.cache is not None and isinstance(outcome, FilterResult) and bound.filter.cacheable(_STAGE_CTX[stage]):
            self.cache.put(self._key(bound, stage, target), outcome)

    def _key(self, bound: BoundFilter, stage: Stage, target: _Target) -> Any:
        role = role_group(target.role) if target.role is not None else ""
        kind = "turns" if target.window else (target.kind or "")
        return CheckCache.key(self._hash, bound.id, stage.value, role, kind, target.text)

    def _call(self, call: _Call) -> _Outcome:
        bound = call.bound
        try:
            screened = bound.filter.screen(call.text, call.ctx)
            if screened is not None:
                return screened
            if not bound.filter._loaded:
                started = time.perf_counter()
                bound.filter.ensure_loaded()
                call.load_s = time.perf_counter() - started
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
            screened = bound.filter.screen(call.text, call.ctx)
            if screened is not None:
                return screened
            if not bound.filter._loaded:
                started = time.perf_counter()
                await asyncio.to_thread(bound.filter.ensure_loaded)
                call.load_s = time.perf_counter() - started
            coro = bound.filter.acheck(call.text, call.ctx)
            if bound.timeout_s is None:
                return await coro
            return await asyncio.wait_for(coro, bound.timeout_s)
        except (asyncio.TimeoutError, TimeoutError):
            return _Failure(f"timeout after {bound.timeout_s * 1000:.0f} ms")  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001
            return _Failure(_describe_error(exc))


@dataclass(frozen=True)
class _Target:
    """One text a filter checks and the message parts it is made of (``offsets``: where each starts)."""

    text: str
    parts: tuple[Part, ...]
    offsets: tuple[int, ...]
    role: str | None = None
    kind: str | None = None
    window: bool = False  # several turns read together
    plain: bool = False  # a plain text, not chat messages

    def where(self) -> tuple[int | None, str | None, str | None]:
        if self.plain:
            return None, None, None
        if len(self.parts) == 1 and not self.window:
            p = self.parts[0]
            return p.message, p.role, p.path
        if self.parts:
            last = self.parts[-1]
            return last.message, last.role, "turns"
        return None, None, None

    def locate(self, spans: tuple[Span, ...]) -> list[tuple[tuple[int | None, str | None, str | None], tuple[Span, ...]]]:
        """Where a finding's spans are: per part touched, spans relative to that part (a span across
        two parts is cut in two); a finding without spans is located at the target itself."""
        if self.plain:
            return [((None, None, None), spans)]
        if not self.window:
            if not self.parts:  # a conversation filter read the rendered conversation: no part to point at
                return [((None, None, None), ())]
            return [(self.where(), spans)]
        out: list[tuple[tuple[int | None, str | None, str | None], tuple[Span, ...]]] = []
        for part, offset in zip(self.parts, self.offsets):
            end = offset + len(part.text)
            local = tuple(Span(max(s.start, offset) - offset, min(s.end, end) - offset, s.label, s.replacement)
                          for s in spans if s.start < end and s.end > offset)
            if local:
                out.append(((part.message, part.role, part.path), local))
        return out or [(self.where(), ())]


def _turns(parts: list[Part], group: str, size: int) -> _Target | None:
    """The last ``size`` turns of one role group, their content read together (None: fewer than two)."""
    chosen = [p for p in parts if p.group == group and p.kind == CONTENT]
    turns = sorted({p.message for p in chosen})[-size:]
    if len(turns) < 2:
        return None
    inside = [p for p in chosen if p.message in turns]
    offsets, pos = [], 0
    for p in inside:
        offsets.append(pos)
        pos += len(p.text) + 1
    return _Target("\n".join(p.text for p in inside), tuple(inside), tuple(offsets), role=group, kind=CONTENT, window=True)


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


def _prompt_of(messages: list[dict[str, Any]]) -> str:
    """The request an answer will respond to: the last user turn."""
    for m in reversed(messages):
        if m.get("role", "user") == "user":
            return message_text(m)
    return message_text(messages[-1]) if messages else ""


def _log(verdict: Verdict, ctx: Context) -> None:
    level = logging.INFO if verdict.action is not Action.ALLOW or verdict.would_action is not Action.ALLOW else logging.DEBUG
    if logger.isEnabledFor(level):
        logger.log(level, "verdict request=%s %s", ctx.request_id, verdict.summary())
