"""@guard.protect on sync, async, generator and async generator callables."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, AsyncIterator, Iterator

import pytest

from guardrails import Guard, VerdictRecord
from guardrails.protect import CallVerdicts

POLICY = {
    "version": 1,
    "name": "protect-test",
    "input": [
        {"filter": "deny_list", "id": "banned", "words": ["forbidden"], "action": "block"},
        {"filter": "regex", "id": "pin", "patterns": [r"\bPIN \d{4}\b"], "category": "pin", "action": "redact"},
    ],
    "output": [
        {"filter": "deny_list", "id": "bad_out", "words": ["napalm"], "action": "block"},
        {"filter": "regex", "id": "card", "patterns": [r"\b\d{4}-\d{4}-\d{4}-\d{4}\b"], "category": "card", "action": "redact"},
    ],
    "refusal": "Refused.",
}


@pytest.fixture
def guard() -> Guard:
    return Guard.from_policy(POLICY)


def test_protect_sync_clean_prompt_returns_function_output(guard: Guard) -> None:
    @guard.protect
    def answer(prompt: str) -> str:
        return f"echo: {prompt}"

    assert answer("hello there") == "echo: hello there"
    assert answer.last_verdicts.input.allowed and answer.last_verdicts.output.allowed
    assert answer.__name__ == "answer"


def test_protect_sync_blocked_prompt_skips_function(guard: Guard) -> None:
    calls: list[str] = []

    @guard.protect
    def answer(prompt: str) -> str:
        calls.append(prompt)
        return "never"

    assert answer("tell me the forbidden thing") == "Refused."
    assert calls == []
    assert answer.last_verdicts.blocked and answer.last_verdicts.output is None


def test_protect_sync_redacted_prompt_reaches_function(guard: Guard) -> None:
    seen: list[str] = []

    @guard.protect
    def answer(prompt: str, *, temperature: float = 0.0) -> str:
        seen.append(prompt)
        return "ok"

    assert answer(prompt="my PIN 1234 please", temperature=0.5) == "ok"
    assert seen == ["my <PIN> please"]


def test_protect_sync_blocked_output_returns_refusal(guard: Guard) -> None:
    @guard.protect
    def answer(prompt: str) -> str:
        return "here is how to make napalm at home"

    assert answer("hi") == "Refused."
    assert answer.last_verdicts.output is not None and answer.last_verdicts.output.blocked


def test_protect_sync_output_redaction_applies(guard: Guard) -> None:
    @guard.protect
    def answer(prompt: str) -> str:
        return "card 4111-1111-1111-1111 on file"

    assert answer("hi") == "card <CARD> on file"


def test_protect_chat_messages_prompt_redacted(guard: Guard) -> None:
    seen: list[object] = []

    @guard.protect
    def chat(messages: list[dict[str, str]]) -> str:
        seen.append(messages)
        return "fine"

    assert chat([{"role": "system", "content": "be nice"}, {"role": "user", "content": "PIN 9876 is mine"}]) == "fine"
    assert seen[0] == [{"role": "system", "content": "be nice"}, {"role": "user", "content": "<PIN> is mine"}]


def test_protect_no_prompt_argument_raises_type_error(guard: Guard) -> None:
    @guard.protect
    def answer(prompt: str = "x") -> str:
        return prompt

    with pytest.raises(TypeError, match="first argument or prompt="):
        answer()


def test_protect_non_text_return_raises_type_error(guard: Guard) -> None:
    @guard.protect
    def answer(prompt: str) -> int:
        return 3

    with pytest.raises(TypeError, match="returned int"):
        answer("hi")


def test_protect_async_blocked_output_returns_refusal(guard: Guard) -> None:
    @guard.protect
    async def answer(prompt: str) -> str:
        await asyncio.sleep(0)
        return "napalm recipe" if "bad" in prompt else "card 4111-1111-1111-1111"

    assert asyncio.run(answer("bad")) == "Refused."
    assert asyncio.run(answer("good")) == "card <CARD>"
    assert asyncio.run(answer("forbidden")) == "Refused."


def test_protect_generator_blocked_chunk_stops_producer(guard: Guard) -> None:
    produced: list[int] = []

    @guard.protect
    def stream(prompt: str) -> Iterator[str]:
        for i in range(1000):
            produced.append(i)
            yield "napalm. " if i == 5 else f"word{i} is fine. "

    out = list(stream("go"))
    assert out[-1] == "Refused."
    assert "napalm" not in "".join(out)
    assert len(produced) < 20  # stopped right after the blocked chunk, not after 1000
    assert stream.last_verdicts.output is not None and stream.last_verdicts.output.blocked


def test_protect_generator_clean_stream_yields_everything_redacted(guard: Guard) -> None:
    chunks = ["Your card ", "4111-1111-", "1111-1111 is ", "ready. ", "Bye"]

    @guard.protect
    def stream(prompt: str) -> Iterator[str]:
        yield from chunks

    out = "".join(stream("go"))
    assert out == "Your card <CARD> is ready. Bye"
    assert "4111" not in out


def test_protect_generator_blocked_prompt_yields_refusal_only(guard: Guard) -> None:
    @guard.protect
    def stream(prompt: str) -> Iterator[str]:
        raise AssertionError("must not run")
        yield ""

    assert list(stream("forbidden")) == ["Refused."]


def test_protect_sync_function_returning_iterator_is_moderated(guard: Guard) -> None:
    @guard.protect
    def answer(prompt: str) -> Iterator[str]:
        return iter(["all good. ", "then napalm. ", "more"])

    out = list(answer("x"))
    assert out[-1] == "Refused." and "napalm" not in "".join(out)


def test_protect_async_generator_blocks_midway(guard: Guard) -> None:
    closed: list[bool] = []

    @guard.protect
    async def stream(prompt: str) -> AsyncIterator[str]:
        try:
            for i in range(100):
                await asyncio.sleep(0)
                yield "napalm! " if i == 3 else f"fine {i}. "
        finally:
            closed.append(True)

    async def collect() -> list[str]:
        return [piece async for piece in stream(prompt="go")]

    out = asyncio.run(collect())
    assert out[-1] == "Refused." and "napalm" not in "".join(out)
    assert closed == [True]


def test_protect_logs_verdicts_without_text(guard: Guard, caplog: pytest.LogCaptureFixture) -> None:
    @guard.protect
    def answer(prompt: str) -> str:
        return "fine"

    with caplog.at_level(logging.INFO, logger="guardrails"):
        answer("secret PIN 4321 here")
    assert any("protect" in r.getMessage() and "input=redact" in r.getMessage() for r in caplog.records)
    assert all("4321" not in r.getMessage() for r in caplog.records)


def test_protect_method_prompt_after_self_is_checked(guard: Guard) -> None:
    class Bot:
        def __init__(self) -> None:
            self.seen: list[str] = []

        @guard.protect
        def ask(self, question: str, style: str = "plain") -> str:
            self.seen.append(question)
            return f"{style}: ok"

    bot = Bot()
    assert bot.ask("my PIN 1111 is", style="short") == "short: ok"
    assert bot.seen == ["my <PIN> is"]
    assert bot.ask("forbidden") == "Refused." and len(bot.seen) == 1


def test_protect_prompt_keyword_wins_over_first_parameter(guard: Guard) -> None:
    seen: list[tuple[str, str]] = []

    @guard.protect
    def answer(system: str, prompt: str) -> str:
        seen.append((system, prompt))
        return "ok"

    assert answer("PIN 2222 stays", "PIN 3333 goes") == "ok"
    assert seen == [("PIN 2222 stays", "<PIN> goes")]


# -- per-call verdicts ------------------------------------------------------------------------------


def test_protect_concurrent_calls_each_get_their_own_verdicts(guard: Guard) -> None:
    both_inside = threading.Barrier(2)  # each call waits here until the other one is running too

    @guard.protect
    def answer(prompt: str) -> str:
        both_inside.wait(timeout=30)
        return f"napalm for {prompt}" if "b" in prompt else f"card 4111-1111-1111-1111 for {prompt}"

    records: dict[str, VerdictRecord[CallVerdicts]] = {"a": VerdictRecord(), "b": VerdictRecord()}
    returned: dict[str, str] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            returned[name] = answer(f"PIN 123{name == 'b':d} from {name}", verdicts=records[name])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    a, b = records["a"].value, records["b"].value
    assert a is not None and b is not None
    assert a.input.text == "<PIN> from a" and b.input.text == "<PIN> from b"
    assert a.output is not None and a.output.allowed and a.output.text == "card <CARD> for <PIN> from a" == returned["a"]
    assert b.output is not None and b.output.blocked and returned["b"] == "Refused."
    assert answer.last_verdicts in (a, b)  # the convenience: whichever call finished last


def test_protect_verdict_record_for_each_kind_of_callable(guard: Guard) -> None:
    @guard.protect
    def blocked(prompt: str) -> str:
        raise AssertionError("must not run")

    @guard.protect
    async def coro(prompt: str) -> str:
        return "napalm"

    @guard.protect
    def gen(prompt: str) -> Iterator[str]:
        yield from ["fine. ", "card 4111-1111-1111-1111"]

    @guard.protect
    async def agen(prompt: str) -> AsyncIterator[str]:
        yield "fine. "
        yield "napalm"

    rec: VerdictRecord[CallVerdicts] = VerdictRecord()
    assert blocked("forbidden", verdicts=rec) == "Refused."
    assert rec.value is not None and rec.value.input.blocked and rec.value.output is None

    rec = VerdictRecord()
    assert asyncio.run(coro("hi", verdicts=rec)) == "Refused."
    assert rec.value is not None and rec.value.output is not None and rec.value.output.blocked

    rec = VerdictRecord()
    stream = gen("hi", verdicts=rec)
    assert rec.value is None  # a generator's verdicts arrive when it ends
    assert "".join(stream) == "fine. card <CARD>"
    assert rec.value is not None and rec.value.output is not None and rec.value.output.action.value == "redact"

    rec = VerdictRecord()

    async def collect() -> list[str]:
        return [piece async for piece in agen(prompt="hi", verdicts=rec)]

    assert asyncio.run(collect())[-1] == "Refused."
    assert rec.value is not None and rec.value.output is not None and rec.value.output.blocked


def test_protect_verdicts_keyword_that_is_not_a_record_reaches_the_function(guard: Guard) -> None:
    @guard.protect
    def answer(prompt: str, verdicts: Any = None) -> str:
        return f"got {verdicts}"

    assert answer("hi", verdicts=3) == "got 3"
