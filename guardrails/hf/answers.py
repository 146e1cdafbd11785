"""Answer encoding: the token ids that mark an answer's end, and the ids of answers the guard rewrote
(a refusal in place of a blocked answer, redacted text in place of the model's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardrails.streaming import OutputStream


def pad_id(model: Any, tokenizer: Any) -> int:
    """The id that pads rebuilt rows: the tokenizer's pad token, else the model's, else end-of-sequence, else 0."""
    for candidate in (
        getattr(tokenizer, "pad_token_id", None),
        getattr(getattr(model, "generation_config", None), "pad_token_id", None),
        getattr(tokenizer, "eos_token_id", None),
    ):
        if isinstance(candidate, int):
            return candidate
    return 0


def eos_ids(tokenizer: Any, gen_config: Any) -> set[int]:
    """Every id that ends an answer (the generation config may name several)."""
    ids: set[int] = set()
    for source in (getattr(gen_config, "eos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(int(x) for x in source)
    return ids


def strip_after_eos(ids: list[int], eos: set[int]) -> list[int]:
    """An answer's ids up to (without) its first end-of-sequence id."""
    for i, t in enumerate(ids):
        if t in eos:
            return ids[:i]
    return ids


def encode_answer(tokenizer: Any, text: str, eos: set[int]) -> list[int]:
    """The ids of a rewritten answer, ended like a generated one."""
    ids: list[int] = tokenizer.encode(text, add_special_tokens=False)
    end = tokenizer.eos_token_id
    if end is None and eos:
        end = min(eos)
    return ids + ([end] if end is not None else [])


def approved_text(stream: "OutputStream") -> str:
    """The approved answer text: what the stream released (redacted, placeholders restored)."""
    verdict = stream.verdict
    if verdict is None:
        return ""
    return verdict.text


def right_pad(rows: list[list[int]], pad: int, like: Any) -> Any:
    """Rows of ids as one right-padded tensor with the dtype and device of ``like``."""
    import torch

    width = max(len(x) for x in rows)
    return torch.tensor([x + [pad] * (width - len(x)) for x in rows], dtype=like.dtype, device=like.device)
