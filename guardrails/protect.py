"""``@guard.protect``: both stages around any prompt -> text callable.

Works on plain functions, coroutine functions, generator functions and async generator
functions (and on functions that return an iterator of chunks), and on methods. The prompt is
the parameter named ``prompt`` if there is one, else the first parameter (after ``self``/``cls``);
it may be a string or a list of chat messages.

- A blocked prompt returns (or yields) the policy's refusal (or, for a category whose action is
  ``respond``, that category's message); the function is not called.
- A redacted prompt is what the function receives.
- Returned text is checked as a whole; yielded chunks are checked incrementally through
  ``guard.stream()``: only approved text is yielded, and a block ends the generator after
  yielding the refusal (the caller may already have received approved text before it).
- Verdicts, per call: pass a record, ``answer(prompt, verdicts=rec)`` with ``rec = VerdictRecord()``;
  when the call is over (a generator: when it has ended) ``rec.value`` holds its ``CallVerdicts``.
  The keyword is the wrapper's when its value is a ``VerdictRecord``, and never reaches ``fn``.
  ``wrapper.last_verdicts`` is a convenience holding the latest call's ``CallVerdicts`` (per
  wrapper, not per thread: read it right after the call in single-threaded code). Verdict
  summaries are logged, never the text.
"""

from __future__ import annotations

import functools
import inspect
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator, TypeVar

from guardrails.types import Context
from guardrails.verdict import Verdict, VerdictRecord

if TYPE_CHECKING:
    from guardrails.engine import Engine

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CallVerdicts:
    """The verdicts of one protected call; ``output`` is None when the prompt was blocked."""

    input: Verdict
    output: Verdict | None = None

    @property
    def blocked(self) -> bool:
        return not self.input.allowed or (self.output is not None and not self.output.allowed)


def _prompt_parameter(fn: Callable[..., Any]) -> tuple[inspect.Signature | None, str | None]:
    """The parameter that carries the prompt: ``prompt`` if there is one, else the first (after self/cls)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None, None
    named = [
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in ("self", "cls")
    ]
    if "prompt" in named:
        return sig, "prompt"
    return sig, (named[0] if named else None)


class _Call:
    """One call's prompt handling: find the prompt, check it, substitute the redacted form.

    ``record`` is the caller's ``VerdictRecord`` (keyword ``verdicts=``), taken out of the arguments."""

    def __init__(self, fn: Callable[..., Any], where: tuple[inspect.Signature | None, str | None], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        sig, name = where
        self.record: VerdictRecord[CallVerdicts] | None = None
        if isinstance(kwargs.get("verdicts"), VerdictRecord):
            kwargs = dict(kwargs)
            self.record = kwargs.pop("verdicts")
        self.bound: inspect.BoundArguments | None = None
        self.args, self.kwargs = args, kwargs
        self.name = name
        if sig is not None and name is not None:
            try:
                self.bound = sig.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{fn.__qualname__}(): {exc}") from None
        if self.bound is not None and name in self.bound.arguments:
            self.prompt = self.bound.arguments[name]
        elif self.bound is None and args:
            self.prompt = args[0]
        else:
            raise TypeError(f"{fn.__qualname__}(): a protected function takes the prompt as its first argument or prompt=")
        if not isinstance(self.prompt, (str, list, tuple)):
            raise TypeError(f"{fn.__qualname__}(): the prompt must be a str or a list of chat messages, got {type(self.prompt).__name__}")
        self.ctx = Context()

    def redacted_arguments(self, verdict: Verdict) -> tuple[tuple[Any, ...], dict[str, Any]]:
        value: Any = verdict.text if isinstance(self.prompt, str) else (verdict.messages or list(self.prompt))
        if self.bound is not None and self.name is not None:
            self.bound.arguments[self.name] = value
            return tuple(self.bound.args), dict(self.bound.kwargs)
        return (value, *self.args[1:]), self.kwargs


def protect(guard: "Engine", fn: F) -> F:
    """Decorate ``fn`` so its prompt is checked before it runs and its output before it is returned."""
    if inspect.isasyncgenfunction(fn):
        wrapper: Any = _protect_async_gen(guard, fn)
    elif inspect.isgeneratorfunction(fn):
        wrapper = _protect_gen(guard, fn)
    elif inspect.iscoroutinefunction(fn):
        wrapper = _protect_async(guard, fn)
    elif callable(fn):
        wrapper = _protect_sync(guard, fn)
    else:
        raise TypeError(f"guard.protect: expected a callable, got {type(fn).__name__}")
    wrapper.last_verdicts = None
    return wrapper  # type: ignore[no-any-return]


def _record(wrapper: Any, verdicts: CallVerdicts, call: _Call) -> None:
    wrapper.last_verdicts = verdicts
    if call.record is not None:
        call.record.value = verdicts
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "protect %s request=%s input=%s output=%s",
            getattr(wrapper, "__qualname__", "?"),
            call.ctx.request_id,
            verdicts.input.action.value,
            verdicts.output.action.value if verdicts.output is not None else None,
        )


def _check_text(guard: "Engine", result: Any, call: _Call, fn: Callable[..., Any]) -> tuple[str, Verdict]:
    if not isinstance(result, str):
        raise TypeError(f"{fn.__qualname__}() returned {type(result).__name__}; a protected function returns str or yields str chunks")
    verdict = guard.check_output(result, ctx=call.ctx)
    return (verdict.text if verdict.allowed else guard.reply(verdict)), verdict


def _protect_sync(guard: "Engine", fn: Callable[..., Any]) -> Callable[..., Any]:
    where = _prompt_parameter(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(fn, where, args, kwargs)
        verdict = guard.check_input(call.prompt, ctx=call.ctx)
        if not verdict.allowed:
            _record(wrapper, CallVerdicts(verdict), call)
            return guard.reply(verdict)
        a, kw = call.redacted_arguments(verdict)
        result = fn(*a, **kw)
        if not isinstance(result, str) and isinstance(result, Iterator):
            # A plain function that returns a generator of chunks: moderate it as a stream.
            return _moderate(guard, result, call, verdict, wrapper)
        text, out = _check_text(guard, result, call, fn)
        _record(wrapper, CallVerdicts(verdict, out), call)
        return text

    return wrapper


def _protect_async(guard: "Engine", fn: Callable[..., Any]) -> Callable[..., Any]:
    where = _prompt_parameter(fn)

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(fn, where, args, kwargs)
        verdict = await guard.acheck_input(call.prompt, ctx=call.ctx)
        if not verdict.allowed:
            _record(wrapper, CallVerdicts(verdict), call)
            return guard.reply(verdict)
        a, kw = call.redacted_arguments(verdict)
        result = await fn(*a, **kw)
        if not isinstance(result, str) and isinstance(result, AsyncIterator):
            return _amoderate(guard, result, call, verdict, wrapper)
        if not isinstance(result, str):
            raise TypeError(f"{fn.__qualname__}() returned {type(result).__name__}; a protected function returns str")
        out = await guard.acheck_output(result, ctx=call.ctx)
        _record(wrapper, CallVerdicts(verdict, out), call)
        return out.text if out.allowed else guard.reply(out)

    return wrapper


def _protect_gen(guard: "Engine", fn: Callable[..., Any]) -> Callable[..., Any]:
    where = _prompt_parameter(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[str]:
        call = _Call(fn, where, args, kwargs)
        verdict = guard.check_input(call.prompt, ctx=call.ctx)
        if not verdict.allowed:
            _record(wrapper, CallVerdicts(verdict), call)
            yield guard.reply(verdict)
            return
        a, kw = call.redacted_arguments(verdict)
        yield from _moderate(guard, fn(*a, **kw), call, verdict, wrapper)

    return wrapper


def _protect_async_gen(guard: "Engine", fn: Callable[..., Any]) -> Callable[..., Any]:
    where = _prompt_parameter(fn)

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[str]:
        call = _Call(fn, where, args, kwargs)
        verdict = await guard.acheck_input(call.prompt, ctx=call.ctx)
        if not verdict.allowed:
            _record(wrapper, CallVerdicts(verdict), call)
            yield guard.reply(verdict)
            return
        a, kw = call.redacted_arguments(verdict)
        async for piece in _amoderate(guard, fn(*a, **kw), call, verdict, wrapper):
            yield piece

    return wrapper


def _moderate(guard: "Engine", chunks: Iterator[Any], call: _Call, input_verdict: Verdict, wrapper: Any) -> Iterator[str]:
    stream = guard.stream(ctx=call.ctx)
    try:
        for chunk in chunks:
            if not isinstance(chunk, str):
                raise TypeError(f"a protected generator yields str chunks, got {type(chunk).__name__}")
            out = stream.push(chunk)
            if out:
                yield out
            if stream.blocked:
                break
        if not stream.blocked:
            out = stream.finish()
            if out:
                yield out
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stop the producer as soon as the answer is blocked (or the caller stops)
        _record(wrapper, CallVerdicts(input_verdict, stream.verdict), call)
    if stream.blocked:
        yield guard.reply(stream.verdict)  # type: ignore[arg-type]  # blocked implies a verdict


async def _amoderate(guard: "Engine", chunks: AsyncIterator[Any], call: _Call, input_verdict: Verdict, wrapper: Any) -> AsyncIterator[str]:
    import asyncio

    stream = guard.stream(ctx=call.ctx)
    try:
        async for chunk in chunks:
            if not isinstance(chunk, str):
                raise TypeError(f"a protected generator yields str chunks, got {type(chunk).__name__}")
            # A check may run model-backed filters: keep it off the event loop.
            out = await asyncio.to_thread(stream.push, chunk)
            if out:
                yield out
            if stream.blocked:
                break
        if not stream.blocked:
            out = await asyncio.to_thread(stream.finish)
            if out:
                yield out
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
        _record(wrapper, CallVerdicts(input_verdict, stream.verdict), call)
    if stream.blocked:
        yield guard.reply(stream.verdict)  # type: ignore[arg-type]  # blocked implies a verdict

