"""Prompt preparation: the prompt rows of a ``generate`` call, their input check, and the ids the model sees.

Chat prompts rendered through ``GuardedModel.apply_chat_template`` are remembered (``ChatMemory``)
so that the input filters read the messages, not the rendering; other ids are checked as their
decoded text. A redacted prompt is encoded again (chat: rendered again) for the model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from guardrails.types import Context, Message
from guardrails.verdict import Verdict

if TYPE_CHECKING:
    from guardrails.engine import Engine


# ctx.metadata key set when the chat template was given tools= (the answer may be tool calls).
TOOLS_KEY = "guardrails.hf.tools"


@dataclass
class Prompt:
    """One prompt row after the input stage."""

    ids: list[int]  # the caller's ids without padding
    ctx: Context
    verdict: Verdict
    model_ids: list[int] | None = None  # what the model sees, when it differs (redaction)


class ChatMemory:
    """The conversations rendered by ``apply_chat_template`` (the latest ``size``), by their token ids."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._chats: dict[tuple[int, ...], tuple[list[Message], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def remember(self, rendered: Any, conversation: Sequence[Message], template_kwargs: dict[str, Any]) -> None:
        """Note the messages behind ``rendered`` (what apply_chat_template returned) and how they were rendered."""
        ids = first_row_ids(rendered)
        if ids is None:
            return
        entry = ([Message(**m) for m in conversation], _template_kwargs(template_kwargs))
        with self._lock:
            if len(self._chats) >= self.size:
                self._chats.pop(next(iter(self._chats)))
            self._chats[tuple(ids)] = entry

    def get(self, ids: list[int]) -> tuple[list[Message], dict[str, Any]] | None:
        """The messages and template options behind these prompt ids, if they were rendered here."""
        return self._chats.get(tuple(ids))


def input_tensors(inputs: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """The prompt ids (2-D tensor) and attention mask of a ``generate`` call; both leave ``kwargs``."""
    import torch

    input_ids = kwargs.pop("input_ids", None)
    if input_ids is None:
        input_ids = inputs
    if input_ids is None:
        raise TypeError("generate(): input ids are required (positional, input_ids= or messages=)")
    if not isinstance(input_ids, torch.Tensor):
        input_ids = torch.as_tensor(input_ids)
    if input_ids.dim() == 1:
        input_ids = input_ids[None]
    attention_mask = kwargs.pop("attention_mask", None)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    return input_ids, attention_mask


def check_prompt(guard: "Engine", tokenizer: Any, chats: ChatMemory, ids: list[int], mask: list[int]) -> Prompt:
    """Run the input stage on one prompt row (padding dropped): on its messages when it is a remembered chat."""
    ids = [t for t, m in zip(ids, mask) if m]
    chat = chats.get(ids)
    if chat is not None:
        return _check_chat(guard, tokenizer, ids, *chat)
    return _check_text(guard, tokenizer, ids)


def _check_chat(guard: "Engine", tokenizer: Any, ids: list[int], conversation: list[Message], template_kwargs: dict[str, Any]) -> Prompt:
    ctx = Context()
    if template_kwargs.get("tools"):
        ctx.metadata[TOOLS_KEY] = True  # the answer may hold tool calls: guardrails.hf.tool_calls reads them
    verdict = guard.check_input(conversation, ctx=ctx)
    model_ids = None
    if verdict.allowed and verdict.messages is not None and verdict.messages != conversation:
        rendered = tokenizer.apply_chat_template(verdict.messages, **template_kwargs)
        model_ids = list(first_row_ids(rendered) or [])
    return Prompt(ids, ctx, verdict, model_ids)


def _check_text(guard: "Engine", tokenizer: Any, ids: list[int]) -> Prompt:
    ctx = Context()
    text = tokenizer.decode(ids, skip_special_tokens=True)
    verdict = guard.check_input(text, ctx=ctx)
    model_ids = None
    if verdict.allowed and verdict.text != text:
        model_ids = reencode_prompt(tokenizer, ids, verdict.text)
    return Prompt(ids, ctx, verdict, model_ids)


def reencode_prompt(tokenizer: Any, ids: list[int], text: str) -> list[int]:
    """``text`` encoded in place of a prompt's text, keeping the special tokens around it (BOS, ...)."""
    special = set(tokenizer.all_special_ids)
    lead = []
    for t in ids:
        if t not in special:
            break
        lead.append(t)
    trail = []
    for t in reversed(ids[len(lead) :]):
        if t not in special:
            break
        trail.append(t)
    body: list[int] = tokenizer.encode(text, add_special_tokens=False)
    return lead + body + trail[::-1]


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    """Rows of ids as one left-padded batch: (ids, attention mask)."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad_id] * (width - len(r)) + r for r in rows], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], dtype=torch.long)
    return ids, mask


def first_row_ids(out: Any) -> list[int] | None:
    """The ids of a single rendered prompt (a list, a tensor or a BatchEncoding); None for text or a batch."""
    ids = out.get("input_ids") if hasattr(out, "get") else out
    if ids is None or isinstance(ids, str):
        return None
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if ids and isinstance(ids[0], list):
        if len(ids) != 1:
            return None
        ids = ids[0]
    return list(ids)


def _template_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The caller's chat template options, set to render ids (to re-render a redacted chat alike)."""
    keep = {k: v for k, v in kwargs.items() if k not in ("return_tensors", "return_dict", "tokenize")}
    return {**keep, "tokenize": True, "return_dict": False}
