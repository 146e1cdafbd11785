"""Prompt preparation: the prompt rows of a ``generate`` call, their input check, and the ids the model sees.

Chat prompts rendered through ``GuardedModel.apply_chat_template`` are remembered (``ChatMemory``)
so that the input filters read the messages and what the template renders besides them (tools, documents,
variables: guardrails.template_inputs), not the rendering; other ids are checked as their
decoded text. A redacted prompt is encoded again (chat: rendered again) for the model.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from guardrails.template_inputs import TemplateInputs, UnreadableRedaction, holds_text
from guardrails.types import Action, Context, Message
from guardrails.verdict import Verdict

if TYPE_CHECKING:
    from guardrails.engine import Engine


# ctx.metadata key set when the chat template was given tools= (the answer may be tool calls).
TOOLS_KEY = "guardrails.hf.tools"
# apply_chat_template's own options: every other keyword is a variable the template renders (tools, documents, ...).
_RENDER_OPTIONS = frozenset({
    "chat_template", "add_generation_prompt", "continue_final_message", "tokenize", "sanitize_control_tokens",
    "padding", "truncation", "max_length", "return_tensors", "return_dict", "return_assistant_tokens_mask",
    "tokenizer_kwargs", "processor_kwargs",
})
_LISTS = ("tools", "documents")  # lists whose items are read one by one


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
    messages = verdict.messages if verdict.allowed and verdict.messages is not None else conversation
    kwargs = template_kwargs
    extras = read_template_inputs(template_kwargs) if verdict.allowed else None
    if extras is not None:
        # what the template renders besides the messages (tool definitions, documents, variables), after them
        extra = guard.check_input([extras.message()], ctx=ctx)
        if extra.allowed:
            kwargs = _redacted_kwargs(extras, template_kwargs, extra)
        verdict = _joined(verdict, extra)
    model_ids = None
    if verdict.allowed and (messages != conversation or kwargs is not template_kwargs):
        model_ids = list(first_row_ids(tokenizer.apply_chat_template(messages, **kwargs)) or [])
    return Prompt(ids, ctx, verdict, model_ids)


def _joined(messages: Verdict, extras: Verdict) -> Verdict:
    """One record of a prompt's two checks: its messages' verdict with the template inputs' violations, scores and
    latency added, and the stronger action (a block of either blocks)."""
    scores = {k: dict(v) for k, v in messages.scores.items()}
    for fid, cats in extras.scores.items():
        mine = scores.setdefault(fid, {})
        for cat, score in cats.items():
            mine[cat] = max(score, mine.get(cat, score))
    stronger = extras.action.rank > messages.action.rank
    return dataclasses.replace(
        messages, allowed=messages.allowed and extras.allowed, action=Action.strongest([messages.action, extras.action]),
        violations=messages.violations + extras.violations, scores=scores, latency_ms=messages.latency_ms + extras.latency_ms,
        response=extras.response if stronger else messages.response,
        would_action=Action.strongest([messages.would_action, extras.would_action]),
    )


def read_template_inputs(template_kwargs: dict[str, Any]) -> TemplateInputs | None:
    """What ``apply_chat_template``'s keywords give the template besides the messages (guardrails.template_inputs):
    each tool (a function as the JSON schema transformers renders for it) and document, and every template variable
    that holds text; None when there is none."""
    out = TemplateInputs()
    for name in _LISTS:
        for k, item in enumerate(template_kwargs.get(name) or ()):
            out.add((name, k), _tool_schema(item) if callable(item) else item)
    for name, value in template_kwargs.items():
        if name not in _LISTS and name not in _RENDER_OPTIONS and holds_text(value):
            out.add((name, ""), value)
    return out if out.texts else None


def _tool_schema(tool: Any) -> Any:
    from transformers.utils.chat_template_utils import get_json_schema

    return get_json_schema(tool)


def _redacted_kwargs(extras: TemplateInputs, template_kwargs: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
    """``template_kwargs`` with the verdict's redactions written into the items they fall in (a redacted function
    tool becomes its redacted schema); a redaction that leaves an item's JSON unreadable is an error."""
    try:
        changes = list(extras.redacted(verdict))
    except UnreadableRedaction as exc:
        raise ValueError(f"{exc}: nothing was generated") from None
    if not changes:
        return template_kwargs
    out = {k: list(v) if k in _LISTS and v is not None else v for k, v in template_kwargs.items()}
    for (name, where), value in changes:
        if isinstance(where, int):
            out[name][where] = value
        else:
            out[name] = value
    return out


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
