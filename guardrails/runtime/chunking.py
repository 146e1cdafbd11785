"""Split a text into overlapping token windows that each fit the model, so nothing is truncated.

The text is tokenized once; windows of ``window`` tokens (special tokens included) overlap by
``overlap`` tokens, and each keeps the character range it covers so findings can point at it.
A text's score is the maximum over its chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from guardrails.errors import GuardrailsError


class InputTooLong(GuardrailsError):
    """A text needs more chunks than the filter's ``max_chunks`` allows."""


@dataclass(frozen=True)
class Chunk:
    """One window of token ids (special tokens included) and the characters ``[start, end)`` it covers."""

    ids: tuple[int, ...]
    start: int
    end: int


def encode_chunks(tokenizer: Any, text: str, *, window: int, overlap: int, max_chunks: int | None = None) -> list[Chunk]:
    """Tokenize ``text`` into overlapping windows of at most ``window`` tokens each.

    Uses the fast tokenizer's own overflow handling, so every window carries the model's
    special tokens ([CLS] ... [SEP], <s> ... </s>) exactly as a single short input would.
    """
    enc = tokenizer(
        text,
        truncation=True,
        max_length=window,
        stride=overlap,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        add_special_tokens=True,
    )
    rows = enc["input_ids"]
    offsets = enc["offset_mapping"]
    if rows and isinstance(rows[0], int):  # a tokenizer that returned a single row
        rows, offsets = [rows], [offsets]
    if max_chunks is not None and len(rows) > max_chunks:
        raise InputTooLong(f"input needs {len(rows)} chunks of {window} tokens; max_chunks is {max_chunks}")
    chunks = []
    for ids, spans in zip(rows, offsets):
        real = [(s, e) for s, e in spans if e > s]
        start, end = (real[0][0], real[-1][1]) if real else (0, len(text))
        chunks.append(Chunk(tuple(int(i) for i in ids), int(start), int(end)))
    return chunks


def pad_batch(chunks: Sequence[Chunk], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad chunks to one length: ``(input_ids, attention_mask)`` as int64 arrays."""
    width = max(len(c.ids) for c in chunks)
    ids = np.full((len(chunks), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(chunks), width), dtype=np.int64)
    for row, chunk in enumerate(chunks):
        ids[row, : len(chunk.ids)] = chunk.ids
        mask[row, : len(chunk.ids)] = 1
    return ids, mask


def window_size(tokenizer: Any, config: Any) -> int:
    """The longest input (special tokens included) the model accepts."""
    limits = []
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limits.append(tok_max)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        # RoBERTa-style embeddings reserve positions 0..pad_token_id for padding.
        offset = (config.pad_token_id or 0) + 1 if getattr(config, "model_type", "") in _OFFSET_POSITIONS else 0
        limits.append(positions - offset)
    return min(limits) if limits else 512


_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "longformer", "bart", "mpnet", "xlm-roberta-xl", "data2vec-text"}
