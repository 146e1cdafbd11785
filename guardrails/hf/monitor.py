"""Output moderation while the model generates: each row's new tokens are decoded incrementally
and pushed to that row's ``OutputStream``; a stopping criterion stops a row as soon as its answer
is blocked. Used for greedy decoding and sampling (beam search: see ``beam``)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Sequence

from guardrails.types import Context

if TYPE_CHECKING:
    from guardrails.engine import Engine
    from guardrails.streaming import OutputStream


class RowDecoder:
    """Decodes one row's tokens incrementally: only a short window is decoded per call.

    The window keeps one step of context (``prefix``) so that tokenizers that merge bytes or
    drop a leading space at the start of a decode still yield the right characters.
    """

    __slots__ = ("ids", "prefix", "read")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.prefix = 0
        self.read = 0

    def feed(self, tokenizer: Any, new_ids: Sequence[int]) -> str:
        self.ids.extend(new_ids)
        if len(self.ids) == self.read:
            return ""
        before: str = tokenizer.decode(self.ids[self.prefix : self.read], skip_special_tokens=True)
        after: str = tokenizer.decode(self.ids[self.prefix :], skip_special_tokens=True)
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.ids)
            return after[len(before) :]
        return ""

    def flush(self, tokenizer: Any) -> str:
        """Whatever is left, including an incomplete character at the very end."""
        if len(self.ids) == self.read:
            return ""
        before: str = tokenizer.decode(self.ids[self.prefix : self.read], skip_special_tokens=True)
        after: str = tokenizer.decode(self.ids[self.prefix :], skip_special_tokens=True)
        self.prefix = self.read = len(self.ids)
        return after[len(before) :]


class OutputMonitor:
    """Per-call output moderation state: one OutputStream and one decoder per generated row.

    New tokens are decoded every ``check_every_tokens`` steps into a per-row buffer. Buffers are
    pushed to the rows' OutputStreams (which check every few dozen characters and at sentence
    ends) as long as the time spent checking stays under ``max_overhead`` of the time spent
    generating; with expensive filters or a fast model, checks become less frequent instead of
    slowing generation down. The final check always sees the whole answer.
    """

    def __init__(
        self,
        guard: "Engine",
        tokenizer: Any,
        ctxs: list[Context],
        gen_start: int,
        eos_ids: set[int],
        check_every_tokens: int,
        stream_options: dict[str, Any],
        max_overhead: float | None,
    ) -> None:
        self.guard = guard
        self.tokenizer = tokenizer
        self.ctxs = ctxs
        self.gen_start = gen_start
        self.eos_ids = eos_ids
        self.every = max(1, check_every_tokens)
        self.stream_options = stream_options
        self.max_overhead = max_overhead
        self.streams: list[OutputStream] = []
        self.decoders: list[RowDecoder] = []
        self.buffers: list[str] = []  # decoded text not yet pushed to the row's stream
        self.ended: list[bool] = []  # row produced EOS: later tokens are padding
        self.stopped: list[bool] = []  # row blocked while generating (generation stopped early)
        self.stop_at: list[int | None] = []  # tokens generated for the row when it was stopped
        self.pending: list[list[str]] = []  # approved text not yet handed to a streamer
        self.consumed = 0  # generated positions already fed to the decoders
        self.steps = 0
        self.last_ids: Any = None
        self.finished = False
        self.check_seconds = 0.0
        self._started: float | None = None
        self._done: Any = None
        self._lock = threading.Lock()

    def _ensure_rows(self, rows: int) -> None:
        while len(self.streams) < rows:
            # One Context per prompt, shared by that prompt's returned rows (num_return_sequences).
            ctx = self.ctxs[len(self.streams) * len(self.ctxs) // rows]
            self.streams.append(self.guard.stream(ctx=ctx, **self.stream_options))
            self.decoders.append(RowDecoder())
            self.buffers.append("")
            self.ended.append(False)
            self.stopped.append(False)
            self.stop_at.append(None)
            self.pending.append([])

    @property
    def blocked_rows(self) -> list[bool]:
        return [s.blocked for s in self.streams]

    def step(self, input_ids: Any) -> Any:
        """Called once per generated token with the whole batch; returns the rows to stop."""
        self.last_ids = input_ids
        self.steps += 1
        rows = input_ids.shape[0]
        if self._done is None or self._done.shape[0] != rows:
            import torch

            self._ensure_rows(rows)
            self._done = torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
            self._started = time.perf_counter()
        if self.steps % self.every == 0:
            self._advance(input_ids, final=False)
        return self._done

    def _within_budget(self) -> bool:
        if self.max_overhead is None or self._started is None:
            return True
        generating = time.perf_counter() - self._started - self.check_seconds
        return self.check_seconds <= self.max_overhead * generating

    def _advance(self, input_ids: Any, final: bool) -> None:
        with self._lock:
            start = self.gen_start + self.consumed
            if input_ids.shape[1] > start:
                new = input_ids[:, start:].tolist()
                self.consumed = input_ids.shape[1] - self.gen_start
                for row, ids in enumerate(new):
                    if self.streams[row].blocked or self.ended[row]:
                        continue
                    self.buffers[row] += self.decoders[row].feed(self.tokenizer, self._until_eos(row, ids))
            if not final and not self._within_budget():
                return
            began = time.perf_counter()
            changed = False
            for row, stream in enumerate(self.streams):
                delta, self.buffers[row] = self.buffers[row], ""
                if not delta or stream.blocked:
                    continue
                out = stream.push(delta)
                if out:
                    self.pending[row].append(out)
                if stream.blocked:
                    changed = True
                    self.stopped[row] = not final
                    self.stop_at[row] = self.consumed
            self.check_seconds += time.perf_counter() - began
            if changed:
                import torch

                self._done = torch.tensor(self.blocked_rows, dtype=torch.bool, device=input_ids.device)

    def _until_eos(self, row: int, ids: list[int]) -> list[int]:
        for i, token in enumerate(ids):
            if token in self.eos_ids:
                self.ended[row] = True
                return ids[:i]
        return ids

    def finish(self) -> None:
        """Feed the last tokens and run each row's final check (idempotent)."""
        with self._lock:
            if self.finished:
                return
            self.finished = True
        if self.last_ids is not None:
            self._ensure_rows(self.last_ids.shape[0])
            self._advance(self.last_ids, final=True)
        for row, stream in enumerate(self.streams):
            if stream.blocked:
                continue
            tail = self.decoders[row].flush(self.tokenizer)
            out = stream.push(tail) if tail else ""
            if out:
                self.pending[row].append(out)
            out = stream.finish()
            if out:
                self.pending[row].append(out)

    def take(self, row: int) -> str:
        """Approved text of a row not yet handed out."""
        if row >= len(self.pending) or not self.pending[row]:
            return ""
        text = "".join(self.pending[row])
        self.pending[row].clear()
        return text


def stopping_criterion(monitor: OutputMonitor) -> Any:
    from transformers import StoppingCriteria

    class GuardrailsStoppingCriteria(StoppingCriteria):
        """Stops the rows whose answer the output filters blocked."""

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return monitor.step(input_ids)

    return GuardrailsStoppingCriteria()
