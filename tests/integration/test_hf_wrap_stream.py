"""Streamers of a wrapped model: pseudonymised values that the model writes back as placeholders split over several
tokens come back restored; the policy's ``stream:`` window is used; planted violations leak no more than the bound."""

from __future__ import annotations

import random
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from guardrails import Guard  # noqa: E402
from tests.helpers.tiny_models import build_tiny_llama, load_causal_lm  # noqa: E402
from tests.helpers.forced import ForcedAnswer, one_torch_thread  # noqa: E402,F401  (one_torch_thread: an autouse fixture)

pytestmark = pytest.mark.integration

EMAIL = "jane.roe@example.org"
PLACEHOLDER = "<EMAIL_ADDRESS_1>"
PROMPT = f"Please write to {EMAIL} about the refund."



@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    return load_causal_lm(build_tiny_llama(tmp_path_factory.mktemp("llama")))



class Recording(transformers.TextStreamer):
    def __init__(self, tok: Any) -> None:
        super().__init__(tok, skip_prompt=True)
        self.pieces: list[str] = []

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self.pieces.append(text)


def _stream(guard: Guard, llama: tuple[Any, Any], answer: str, prompt: str = "Tell me a story.", **wrap: Any) -> Recording:
    model, tok = llama
    ids = tok(answer, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == answer
    guarded = guard.wrap(model, tok, **wrap)
    streamer = Recording(tok)
    guarded.generate(**tok(prompt, return_tensors="pt"), max_new_tokens=len(ids) + 1, do_sample=False, streamer=streamer,
                     logits_processor=transformers.LogitsProcessorList([ForcedAnswer(ids, tok.eos_token_id)]))
    return streamer


def _pseudonymizing() -> Guard:
    from guardrails import registry
    from guardrails.errors import FilterLoadError

    try:
        registry.resolve("pii")
    except FilterLoadError:
        pytest.skip("the pii filter is not available in this build")
    return Guard.from_policy({"name": "pseudo", "input": [{"filter": "pii", "entities": ["EMAIL_ADDRESS"],
                                                           "action": "pseudonymize"}],
                              "output": [{"filter": "secrets"}]})


@pytest.mark.parametrize("answer", [
    f"Sure, I wrote to {PLACEHOLDER} and copied you.",
    f"Done. The reply goes to {PLACEHOLDER}",  # the placeholder is the very end of the answer
    "ref:" + ("weather" * 36)[:250] + PLACEHOLDER + " ok",  # in a run without a word end, which is released at the hold boundary
])
@pytest.mark.parametrize("wrap", [{"hold_chars": 0, "check_every_tokens": 1, "check_every_chars": 1}, {"hold_chars": 4}, {}],
                         ids=["hold0-every-token", "hold4", "defaults"])
def test_wrap_streamer_restores_a_placeholder_split_over_tokens(llama: tuple[Any, Any], answer: str,
                                                                 wrap: dict[str, Any]) -> None:
    tok = llama[1]
    assert len(tok(PLACEHOLDER, add_special_tokens=False)["input_ids"]) >= 3  # the model writes it in pieces
    streamer = _stream(_pseudonymizing(), llama, answer, prompt=PROMPT, **wrap)
    assert "".join(streamer.pieces) == answer.replace(PLACEHOLDER, EMAIL)
    assert not any("<EMAIL" in p or "ADDRESS" in p or "_1>" in p for p in streamer.pieces)


def test_wrap_uses_the_policys_stream_window(llama: tuple[Any, Any]) -> None:
    answer = "The river was calm. The morning light fell on the old stone bridge while people walked to work."
    held = Guard.from_policy({"name": "held", "output": [{"filter": "secrets"}], "stream": {"hold_chars": 10000}})
    streamer = _stream(held, llama, answer)
    assert streamer.pieces == [answer]  # nothing released before the end
    eager = Guard.from_policy({"name": "eager", "output": [{"filter": "secrets"}], "stream": {"hold_chars": 0, "check_every": 1}})
    # max_overhead=None: under load the time budget would otherwise (rightly) space the checks out and merge pieces
    assert len(_stream(eager, llama, answer, max_overhead=None).pieces) > 5
    assert _stream(held, llama, answer, hold_chars=0, max_overhead=None).pieces != [answer]  # wrap(hold_chars=...) overrides the policy


@pytest.mark.parametrize("hold", [0, 16, 48])
def test_wrap_streamer_leaks_no_more_than_the_bound(llama: tuple[Any, Any], hold: int) -> None:
    guard = Guard.from_policy({"name": "deny", "output": [{"filter": "deny_list", "words": ["nitroglycerin"]}],
                               "refusal": "REFUSED", "stream": {"hold_chars": hold}})
    words = "the river was calm and the light fell on the old stone bridge while people walked".split()
    rng = random.Random(hold)
    for _ in range(3):
        before = " ".join(rng.choice(words) for _ in range(rng.randint(5, 40))) + " "
        answer = before + "nitroglycerin " + " ".join(rng.choice(words) for _ in range(20))
        streamer = _stream(guard, llama, answer)
        text = "".join(streamer.pieces)
        assert text.endswith("REFUSED")
        emitted = text[: -len("REFUSED")]
        assert answer.startswith(emitted)
        assert len(emitted) - len(before) <= max(0, len("nitroglycerin") - hold - 1)
