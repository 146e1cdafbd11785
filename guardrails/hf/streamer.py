"""What the caller's streamer receives: approved (and redacted) text only, then the end of the stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardrails.hf.monitor import OutputMonitor


class StreamerProxy:
    """Stands in for the caller's streamer: only approved text reaches it, and only once checked.

    TextStreamer-like streamers (with ``on_finalized_text``) receive text directly; other
    streamers receive the approved text re-encoded as token ids.
    """

    def __init__(self, target: Any, monitor: OutputMonitor, tokenizer: Any, guard: Any, stream_refusal: bool) -> None:
        self.target = target
        self.monitor = monitor
        self.tokenizer = tokenizer
        self.guard = guard
        self.stream_refusal = stream_refusal
        self.textual = hasattr(target, "on_finalized_text")
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            self._put_prompt(value)
            return
        self._emit(self.monitor.take(0))

    def _put_prompt(self, value: Any) -> None:
        if not self.textual:
            self.target.put(value)
            return
        self.target.next_tokens_are_prompt = False
        if not getattr(self.target, "skip_prompt", False):
            ids = value[0] if len(value.shape) > 1 else value
            kwargs = getattr(self.target, "decode_kwargs", {})
            self.target.on_finalized_text(self.tokenizer.decode(ids.tolist(), **kwargs))

    def _emit(self, text: str) -> None:
        if not text:
            return
        if self.textual:
            self.target.on_finalized_text(text)
        else:
            import torch

            self.target.put(torch.tensor(self.tokenizer.encode(text, add_special_tokens=False), dtype=torch.long))

    def end(self) -> None:
        self.monitor.finish()
        if self.monitor.streams and self.monitor.streams[0].blocked:
            self.monitor.take(0)
            if self.stream_refusal:
                self._emit(self.guard.reply(self.monitor.streams[0].verdict))
        else:
            self._emit(self.monitor.take(0))
        self.target.end()


def stream_text(streamer: Any, text: str, tokenizer: Any) -> None:
    """A blocked prompt: the streamer sees the refusal (or nothing), then its end."""
    if text:
        if hasattr(streamer, "on_finalized_text"):
            streamer.on_finalized_text(text)
        else:
            import torch

            streamer.put(torch.tensor(tokenizer.encode(text, add_special_tokens=False), dtype=torch.long))
    streamer.end()
