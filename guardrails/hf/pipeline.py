"""``GuardedPipeline``: a transformers text-generation pipeline with both stages.

Prompts (text or chats) are checked before the pipeline runs; blocked ones get a refusal record
without reaching the model. For the others, the pipeline's model is swapped for a
``PipelineModel`` during the call, so that its ``generate`` runs the guarded generation (output
stage) on the prompts checked here.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from guardrails.hf.model import GuardedModel
from guardrails.hf.prompts import Prompt
from guardrails.hf.verdicts import GenerationVerdicts, per_prompt, refused_prompt
from guardrails.types import Context, Message
from guardrails.verdict import Verdict, VerdictRecord

if TYPE_CHECKING:
    from guardrails.engine import Engine


class GuardedPipeline:
    """A text-generation pipeline whose prompts (or chats) and answers are checked.

    Verdicts: ``pipe(inputs, ..., verdicts=rec)`` fills a ``VerdictRecord`` with one
    ``GenerationVerdicts`` per prompt, in input order (per call). ``last_verdicts`` holds the same
    for the latest call of this wrapper (per wrapper, not per thread).
    """

    def __init__(self, guard: "Engine", pipe: Any, **options: Any) -> None:
        if getattr(pipe, "task", "text-generation") not in ("text-generation", None):
            raise TypeError(f"guard.wrap_pipeline: only text-generation pipelines are supported, got {pipe.task!r}")
        self._guard = guard
        self._pipe = pipe
        self._guarded = GuardedModel(guard, pipe.model, pipe.tokenizer, **options)
        self._lock = threading.Lock()
        self.last_verdicts: list[GenerationVerdicts] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    @property
    def pipeline(self) -> Any:
        return self._pipe

    def __call__(self, text_inputs: Any, *, verdicts: VerdictRecord[list[GenerationVerdicts]] | None = None, **kwargs: Any) -> Any:
        """Run the pipeline: blocked prompts get the refusal without reaching the model.

        ``verdicts=`` a ``VerdictRecord``: receives one ``GenerationVerdicts`` per prompt, in input order.
        """
        if verdicts is not None and not isinstance(verdicts, VerdictRecord):
            raise TypeError(f"guarded pipeline: verdicts= takes a guardrails.VerdictRecord, got {type(verdicts).__name__}")
        single = isinstance(text_inputs, str) or _is_chat(text_inputs)
        items = [text_inputs] if single else list(text_inputs)
        ctxs = [Context() for _ in items]
        checked = [self._guard.check_input(_checked_content(item), ctx=ctx) for item, ctx in zip(items, ctxs)]
        todo = [i for i, v in enumerate(checked) if v.allowed]
        calls: list[GenerationVerdicts] = []
        results = self._run(items, ctxs, checked, todo, kwargs, calls) if todo else {}
        n = int(kwargs.get("num_return_sequences", 1) or 1)
        per_call = iter(per_prompt(calls))
        record: list[GenerationVerdicts] = []  # one entry per prompt, in input order
        for i, v in enumerate(checked):
            if v.allowed:
                record.append(next(per_call))
            else:
                results[i] = [self._refusal_record(items[i], kwargs, self._guard.reply(v)) for _ in range(n)]
                record.append(refused_prompt(v, n))
        self.last_verdicts = record
        if verdicts is not None:
            verdicts.value = record
        ordered = [results[i] for i in range(len(items))]
        return ordered[0] if single else ordered

    def _run(
        self, items: list[Any], ctxs: list[Context], checked: list[Verdict], todo: list[int], kwargs: dict[str, Any],
        calls: list[GenerationVerdicts],
    ) -> dict[int, Any]:
        """Run the pipeline on the allowed prompts (redacted); ``calls`` receives each generate call's verdicts."""
        model_inputs = [_redacted_item(items[i], checked[i]) for i in todo]
        proxy = PipelineModel(self._guarded, [ctxs[i] for i in todo], [checked[i] for i in todo], calls)
        with self._lock:  # the pipeline's model attribute is swapped for the duration of the call
            original = self._pipe.model
            self._pipe.model = proxy
            try:
                out = self._pipe(model_inputs, **kwargs)
            finally:
                self._pipe.model = original
        return dict(zip(todo, out))

    def _refusal_record(self, item: Any, kwargs: dict[str, Any], refusal: str) -> dict[str, Any]:
        full = kwargs.get("return_full_text", True)
        if isinstance(item, str):
            return {"generated_text": item + refusal if full else refusal}
        return {"generated_text": [*_chat_messages(item), {"role": "assistant", "content": refusal}] if full else refusal}


class PipelineModel:
    """Stands in for ``pipe.model`` during a guarded call: prompts are already checked."""

    def __init__(self, guarded: GuardedModel, ctxs: list[Context], verdicts: list[Verdict], calls: list[GenerationVerdicts]) -> None:
        self._guarded = guarded
        self._ctxs = list(ctxs)
        self._verdicts = list(verdicts)
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._guarded.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._guarded.model(*args, **kwargs)

    def generate(self, input_ids: Any = None, attention_mask: Any = None, **kwargs: Any) -> Any:
        import torch

        start = time.perf_counter()
        rows = input_ids.shape[0]
        ctxs, self._ctxs = self._ctxs[:rows], self._ctxs[rows:]
        verdicts, self._verdicts = self._verdicts[:rows], self._verdicts[rows:]
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        prompts = [
            Prompt([t for t, m in zip(ids, mask) if m], ctx, v)
            for ids, mask, ctx, v in zip(input_ids.tolist(), attention_mask.tolist(), ctxs, verdicts)
        ]
        out, call = self._guarded._generate(input_ids, attention_mask, prompts, start, kwargs)
        self._calls.append(call)
        return out


def _is_chat(value: Any) -> bool:
    if hasattr(value, "messages") and not isinstance(value, (list, str)):
        return True  # transformers' Chat object
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def _chat_messages(item: Any) -> list[Message]:
    messages = item.messages if hasattr(item, "messages") and not isinstance(item, (list, tuple)) else item
    return [dict(m) for m in messages]  # type: ignore[misc]


def _checked_content(item: Any) -> str | list[Message]:
    """What the input stage reads: the text, or the chat's messages."""
    return item if isinstance(item, str) else _chat_messages(item)


def _redacted_item(item: Any, verdict: Verdict) -> Any:
    if isinstance(item, str):
        return verdict.text
    return verdict.messages if verdict.messages is not None else _chat_messages(item)
