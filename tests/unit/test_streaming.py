"""Incremental output moderation: hold-back, redaction in stream, block mid-stream."""

from __future__ import annotations

from typing import Any

from guardrails import Context, Guard


def stream_all(guard: Guard, chunks: list[str], ctx: Context | None = None, **options: Any) -> tuple[str, bool, int]:
    """Push ``chunks`` until the stream blocks; (released text, blocked, chunks fed). ``options``: ``guard.stream``'s."""
    s = guard.stream(ctx=ctx, **options)
    out = ""
    fed = 0
    for chunk in chunks:
        out += s.push(chunk)
        fed += 1
        if s.blocked:
            break
    out += s.finish()
    return out, s.blocked, fed


def words(text: str) -> list[str]:
    return [w + " " for w in text.split(" ")]


def test_stream_clean_text_passes_unchanged() -> None:
    g = Guard.from_policy({"name": "t", "output": [{"filter": "deny_list", "words": ["bomb"]}]})
    text = "The quick brown fox jumps over the lazy dog. It was a sunny day and everyone was happy."
    out, blocked, _ = stream_all(g, words(text))
    assert not blocked and out.strip() == text


def test_stream_block_stops_before_bad_text_is_emitted() -> None:
    g = Guard.from_policy({"name": "t", "output": [{"filter": "deny_list", "words": ["bomb"]}]})
    text = "Sure, here is a long and friendly introduction before the answer. Step one: build the bomb with care and more text."
    chunks = words(text)
    out, blocked, fed = stream_all(g, chunks)
    assert blocked
    assert "bomb" not in out
    assert fed < len(chunks)  # the caller was told to stop early
    assert out.startswith("Sure, here is")


def test_stream_redaction_never_leaks_secret_across_chunks() -> None:
    g = Guard.from_policy({"name": "t", "output": [{"filter": "secrets", "action": "redact"}]})
    secret = "AKIAIOSFODNN7EXAMPLE"
    text = f"Your key is {secret} and keep it safe, do not share it with anyone at all please."
    chunks = [text[i : i + 3] for i in range(0, len(text), 3)]  # the key arrives split over 7 chunks
    out, blocked, _ = stream_all(g, chunks)
    assert not blocked
    assert secret not in out and "<AWS_ACCESS_KEY_ID>" in out
    assert out == text.replace(secret, "<AWS_ACCESS_KEY_ID>")


def test_stream_restores_vault_placeholders() -> None:
    g = Guard.from_policy({"name": "t", "output": [{"filter": "secrets"}]})
    ctx = Context()
    ctx.vault["<PERSON_1>"] = "Ada Lovelace"
    text = "Dear <PERSON_1>, thank you for your letter about the analytical engine and its notes."
    chunks = [text[i : i + 4] for i in range(0, len(text), 4)]
    out, _, _ = stream_all(g, chunks, ctx)
    assert out == text.replace("<PERSON_1>", "Ada Lovelace")


def test_stream_holds_back_a_tail_until_finish() -> None:
    g = Guard.from_policy({"name": "t", "output": [{"filter": "secrets"}]})
    s = g.stream(hold_chars=20, check_every=1)
    emitted = s.push("a" * 10 + " " + "b" * 30 + " end")
    assert len(emitted) <= 11 + 1
    rest = s.finish()
    assert emitted + rest == "a" * 10 + " " + "b" * 30 + " end"


def test_stream_model_filters_run_less_often_but_see_text_before_release() -> None:
    from tests.helpers.fakes import KeywordFilter

    g = Guard.from_policy({
        "name": "t",
        "output": [
            {"filter": "secrets"},
            {"filter": "tests.helpers.fakes:KeywordFilter", "id": "model", "word": "bomb"},  # cost 2
        ],
    })
    KeywordFilter.calls.clear()
    s = g.stream(check_every=8, model_every=120)
    text = "no sentence end here just many plain words that go on " * 3 + "and then bomb appears"
    out = ""
    for ch in text:
        out += s.push(ch)
        if s.blocked:
            break
    out += s.finish()
    assert s.blocked and "bomb" not in out
    assert 0 < len(KeywordFilter.calls) < s.checks
    # Nothing was released beyond what the model filter had already checked.
    assert len(out) <= s._full_len


def test_stream_long_answer_checks_a_window_and_still_redacts() -> None:
    g = Guard.from_policy({"name": "t", "output": [{"filter": "secrets", "action": "redact"}]})
    secret = "AKIAIOSFODNN7EXAMPLE"
    filler = "plain words without anything sensitive in them " * 40
    text = filler + f"key {secret} end. " + filler
    s = g.stream(check_every=16, context_chars=64)
    out = ""
    longest = 0
    for i in range(0, len(text), 5):
        before = s.checks
        out += s.push(text[i : i + 5])
        if s.checks > before and s.verdict is not None:
            longest = max(longest, len(s.verdict.text))
    out += s.finish()
    assert out == text.replace(secret, "<AWS_ACCESS_KEY_ID>")
    # Intermediate checks read a bounded window, not the whole growing answer.
    assert longest < 64 + 48 + 16 + 64


def test_a_word_still_being_written_is_not_matched_as_a_shorter_deny_listed_word() -> None:
    """'hell' of 'hello', 'ass' of 'assistant': wherever a check lands, an intermediate check must not read the
    end of a half-written word as a word end (it used to block such streams mid-word)."""
    g = Guard.from_policy({"name": "t", "output": [{"filter": "deny_list", "words": ["ass", "hell", "class"]}]})
    text = "The assistant said hello to the shell users of our classic classroom, and passed."
    for every in range(1, 40):
        out, blocked, _ = stream_all(g, list(text), check_every=every)
        assert not blocked and out == text, every


def test_a_deny_listed_word_completed_later_still_blocks_before_it_is_released() -> None:
    g = Guard.from_policy({"name": "t", "output": [{"filter": "deny_list", "words": ["hell"]}]})
    text = "Well, what the hell is going on here, friends?"
    for every in range(1, 40):
        out, blocked, _ = stream_all(g, list(text), check_every=every)
        assert blocked and "hell " not in out and not out.endswith("hel"), every
