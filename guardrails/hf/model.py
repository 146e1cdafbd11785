"""``GuardedModel``: the proxy ``guard.wrap(model, tokenizer)`` returns.

Its ``generate`` checks the prompts, then runs one ``GuardedGeneration`` (see ``generate``);
every other attribute passes through to the model.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import TYPE_CHECKING, Any, Sequence

from guardrails.hf.generate import GuardedGeneration
from guardrails.hf.options import DEFAULT_CHECK_EVERY_TOKENS, DEFAULT_MAX_OVERHEAD, WrapOptions
from guardrails.hf.prompts import ChatMemory, Prompt, check_prompt, input_tensors
from guardrails.hf.verdicts import GenerationVerdicts
from guardrails.types import Message
from guardrails.verdict import VerdictRecord

if TYPE_CHECKING:
    from guardrails.engine import Engine

logger = logging.getLogger("guardrails.hf")


class GuardedModel:
    """A transformers model whose ``generate`` runs the guard's input and output stages.

    Verdicts: ``generate(..., verdicts=rec)`` fills a ``VerdictRecord`` with that call's
    ``GenerationVerdicts`` (per call, safe with threads). ``last_verdicts`` is a convenience that
    belongs to the wrapper, not to a thread: with concurrent calls it holds the call that finished
    last (read it right after your call in single-threaded code, or pass a record).
    """

    _guard: "Engine"
    _model: Any
    _tokenizer: Any
    _options: WrapOptions
    _chats: ChatMemory
    last_verdicts: GenerationVerdicts | None

    def __init__(
        self,
        guard: "Engine",
        model: Any,
        tokenizer: Any,
        *,
        check_every_tokens: int = DEFAULT_CHECK_EVERY_TOKENS,
        stream_refusal: bool = True,
        hold_chars: int | None = None,
        check_every_chars: int | None = None,
        max_overhead: float | None = DEFAULT_MAX_OVERHEAD,
    ) -> None:
        if tokenizer is None:
            raise TypeError("guard.wrap(model, tokenizer): a tokenizer is needed to decode prompts and answers")
        if not hasattr(model, "generate"):
            raise TypeError(f"guard.wrap: {type(model).__name__} has no generate(); pass a transformers generative model")
        options = WrapOptions.of(
            check_every_tokens=check_every_tokens, stream_refusal=stream_refusal, hold_chars=hold_chars,
            check_every_chars=check_every_chars, max_overhead=max_overhead,
        )
        # These live on the proxy itself (__setattr__ passes every other attribute to the model).
        object.__setattr__(self, "_guard", guard)
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_tokenizer", tokenizer)
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_chats", ChatMemory())
        object.__setattr__(self, "last_verdicts", None)

    # -- passthrough ------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        model = object.__getattribute__(self, "_model")
        value = getattr(model, name)
        if not callable(value) or isinstance(value, type):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            # model.to(...), .eval(), .half() return the model: keep the caller on the wrapper.
            return self if result is model else result

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "last_verdicts":
            object.__setattr__(self, name, value)
        else:
            setattr(self._model, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._model(*args, **kwargs)

    def __repr__(self) -> str:
        return f"GuardedModel({type(self._model).__name__}, policy={self._guard.policy.name!r})"

    @property
    def model(self) -> Any:
        """The wrapped model."""
        return self._model

    @property
    def guard(self) -> "Engine":
        return self._guard

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    # -- chat templates -----------------------------------------------------------------------

    def apply_chat_template(self, conversation: Sequence[Message], **kwargs: Any) -> Any:
        """The tokenizer's ``apply_chat_template``; remembers the messages so generate() checks them, not the rendering."""
        out = self._tokenizer.apply_chat_template(conversation, **kwargs)
        self._chats.remember(out, conversation, kwargs)
        return out

    # -- generate -----------------------------------------------------------------------------

    def generate(
        self,
        inputs: Any = None,
        *,
        messages: Sequence[Message] | None = None,
        verdicts: VerdictRecord[GenerationVerdicts] | None = None,
        **kwargs: Any,
    ) -> Any:
        """``model.generate`` with the prompt checked first and the answer checked while it is generated.

        ``messages=`` (instead of ids) checks the chat messages and applies the chat template.
        ``verdicts=`` a ``VerdictRecord``: receives this call's ``GenerationVerdicts``.
        """
        start = time.perf_counter()
        if verdicts is not None and not isinstance(verdicts, VerdictRecord):
            raise TypeError(f"generate(): verdicts= takes a guardrails.VerdictRecord, got {type(verdicts).__name__}")
        if messages is not None:
            if inputs is not None or kwargs.get("input_ids") is not None:
                raise TypeError("generate(): give either messages= or input ids, not both")
            self._encode_messages(messages, kwargs)
        input_ids, attention_mask = input_tensors(inputs, kwargs)
        prompts = [
            check_prompt(self._guard, self._tokenizer, self._chats, ids, mask)
            for ids, mask in zip(input_ids.tolist(), attention_mask.tolist())
        ]
        out, record = self._generate(input_ids, attention_mask, prompts, start, kwargs)
        if verdicts is not None:
            verdicts.value = record
        return out

    def _encode_messages(self, messages: Sequence[Message], kwargs: dict[str, Any]) -> None:
        """Render chat messages (remembered, so the input stage checks them) into ``kwargs``' ids and mask."""
        enc = self.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        device = getattr(self._model, "device", None)
        kwargs["input_ids"] = enc["input_ids"].to(device) if device is not None else enc["input_ids"]
        mask = enc.get("attention_mask")
        kwargs["attention_mask"] = mask.to(device) if mask is not None and device is not None else mask

    def _generate(
        self, input_ids: Any, attention_mask: Any, prompts: list[Prompt], start: float, kwargs: dict[str, Any]
    ) -> tuple[Any, GenerationVerdicts]:
        """Generate for prompts already checked; returns what generate returns and the call's verdicts."""
        call = GuardedGeneration(self._guard, self._model, self._tokenizer, self._options, prompts, kwargs)
        call.run_model(input_ids, attention_mask)
        call.refuse_blocked_prompts()
        verdicts = call.verdicts()
        self.last_verdicts = verdicts
        if logger.isEnabledFor(logging.INFO):
            logger.info("generate %s latency_ms=%.1f", verdicts.summary(), (time.perf_counter() - start) * 1000)
        return call.output(input_ids), verdicts
