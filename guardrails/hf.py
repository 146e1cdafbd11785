"""Guard a transformers model or text-generation pipeline in one line.

``guard.wrap(model, tokenizer)`` returns a proxy whose ``generate()`` checks the prompt before
the model runs and the answer *while* it is generated: a stopping criterion decodes the new
tokens of each row incrementally, feeds them to an ``OutputStream`` and stops a row as soon as
its answer is blocked. Every other attribute passes through to the model.

What callers get back:

- ``generate()`` returns what ``model.generate`` would: the caller's prompt ids followed by the
  answer ids. A blocked row (input or output) gets the policy's refusal instead of its answer;
  a redacted answer is re-encoded. Rows are independent.
- A streamer passed to ``generate()`` only ever receives approved (and redacted) text. On a block
  it receives the refusal text (``stream_refusal=False``: nothing), then the end of the stream.
- ``guarded.last_verdicts`` holds the verdicts of the latest call (input per prompt row, output
  per returned row). Verdict summaries go to the ``guardrails`` loggers, never the text.

Chat: use ``guarded.apply_chat_template(messages, ...)`` (or ``generate(messages=...)``) so the
input filters see the messages; ids from the tokenizer's own template are checked as decoded text.
Options of ``wrap``: ``check_every_tokens`` (4), ``max_overhead`` (0.02 of generation time for
incremental checks; None = no limit), ``hold_chars`` / ``check_every_chars`` (OutputStream),
``stream_refusal`` (True). Beam search: blocked beams are pruned, the returned rows are checked
after generation. With ``return_dict_in_generate`` only ``sequences`` is rewritten.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from guardrails.types import Context, Message
from guardrails.verdict import Verdict

if TYPE_CHECKING:
    from guardrails.engine import Guard
    from guardrails.streaming import OutputStream

logger = logging.getLogger(__name__)

# Decode and check the new tokens every this many generation steps (a sentence end in the
# delta triggers the OutputStream check right away, see guardrails.streaming).
DEFAULT_CHECK_EVERY_TOKENS = 4
# Incremental checks may take at most this fraction of the generation time; past it they are
# spaced out (the final check still sees everything). None: check at every opportunity.
DEFAULT_MAX_OVERHEAD = 0.02


@dataclass
class GenerationVerdicts:
    """The verdicts of one guarded call: one input verdict per prompt, one output verdict per returned row."""

    inputs: list[Verdict] = field(default_factory=list)
    outputs: list[Verdict | None] = field(default_factory=list)
    new_tokens: list[int] = field(default_factory=list)  # tokens the model generated per returned row
    stopped_early: list[bool] = field(default_factory=list)  # row stopped by a block before its natural end
    checks: list[int] = field(default_factory=list)  # output checks run per returned row

    @property
    def blocked(self) -> bool:
        """True when any prompt or any answer of the call was blocked."""
        return any(not v.allowed for v in self.inputs) or any(v is not None and not v.allowed for v in self.outputs)

    def summary(self) -> dict[str, Any]:
        """A log-safe view (no text)."""
        return {
            "inputs": [v.action.value for v in self.inputs],
            "outputs": [v.action.value if v is not None else None for v in self.outputs],
            "new_tokens": list(self.new_tokens),
            "stopped_early": list(self.stopped_early),
            "checks": list(self.checks),
        }


# -- incremental decoding ---------------------------------------------------------------------


class _RowDecoder:
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


class _Monitor:
    """Per-call output moderation state: one OutputStream and one decoder per generated row.

    New tokens are decoded every ``check_every_tokens`` steps into a per-row buffer. Buffers are
    pushed to the rows' OutputStreams (which check every few dozen characters and at sentence
    ends) as long as the time spent checking stays under ``max_overhead`` of the time spent
    generating; with expensive filters or a fast model, checks become less frequent instead of
    slowing generation down. The final check always sees the whole answer.
    """

    def __init__(
        self,
        guard: "Guard",
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
        self.decoders: list[_RowDecoder] = []
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
            self.decoders.append(_RowDecoder())
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


# -- stopping criterion, beam pruning and streamer proxy ---------------------------------------


def _stopping_criterion(monitor: _Monitor) -> Any:
    from transformers import StoppingCriteria

    class GuardrailsStoppingCriteria(StoppingCriteria):
        """Stops the rows whose answer the output filters blocked."""

        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return monitor.step(input_ids)

    return GuardrailsStoppingCriteria()


class _BeamGuard:
    """Beam search: beams are reordered every step, so each check decodes whole beams.

    Blocked beams get -inf scores (a logits processor) and drop out; when every running beam
    is blocked, the stopping criterion ends the search. The final rows are checked after.
    """

    def __init__(self, guard: "Guard", tokenizer: Any, ctxs: list[Context], gen_start: int, every: int) -> None:
        self.guard = guard
        self.tokenizer = tokenizer
        self.ctxs = ctxs
        self.gen_start = gen_start
        self.every = max(1, every)
        self.steps = 0
        self.cache: dict[tuple[int, ...], bool] = {}
        self.all_blocked = False
        self.checks = 0

    def _blocked(self, ids: list[int], ctx: Context) -> bool:
        key = tuple(ids)
        hit = self.cache.get(key)
        if hit is None:
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            self.checks += 1
            hit = not self.guard.check_output(text, ctx=ctx).allowed if text else False
            self.cache[key] = hit
        return hit

    def logits_processor(self) -> Any:
        from transformers import LogitsProcessor

        owner = self

        class GuardrailsBeamPruner(LogitsProcessor):
            def __call__(self, input_ids: Any, scores: Any) -> Any:
                owner.steps += 1
                if owner.steps % owner.every:
                    return scores
                rows = input_ids.shape[0]
                blocked = []
                for r, ids in enumerate(input_ids[:, owner.gen_start :].tolist()):
                    ctx = owner.ctxs[r * len(owner.ctxs) // rows]
                    blocked.append(owner._blocked(ids, ctx))
                owner.all_blocked = bool(blocked) and all(blocked)
                if any(blocked):
                    scores = scores.clone()
                    for r, b in enumerate(blocked):
                        if b:
                            scores[r] = float("-inf")
                return scores

        return GuardrailsBeamPruner()

    def stopping_criterion(self) -> Any:
        from transformers import StoppingCriteria

        owner = self

        class GuardrailsBeamStop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                import torch

                return torch.full((input_ids.shape[0],), owner.all_blocked, dtype=torch.bool, device=input_ids.device)

        return GuardrailsBeamStop()


class _StreamerProxy:
    """Stands in for the caller's streamer: only approved text reaches it, and only once checked.

    TextStreamer-like streamers (with ``on_finalized_text``) receive text directly; other
    streamers receive the approved text re-encoded as token ids.
    """

    def __init__(self, target: Any, monitor: _Monitor, tokenizer: Any, guard: Any, stream_refusal: bool) -> None:
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


# -- the wrapper --------------------------------------------------------------------------------


@dataclass
class _Prompt:
    """One prompt row after the input stage."""

    ids: list[int]  # the caller's ids without padding
    ctx: Context
    verdict: Verdict
    model_ids: list[int] | None = None  # what the model sees, when it differs (redaction)


class GuardedModel:
    """A transformers model whose ``generate`` runs the guard's input and output stages.

    ``last_verdicts`` belongs to the wrapper, not to a thread: with concurrent calls it holds the
    call that finished last (read it right after your call, or use one wrapper per worker).
    """

    _guard: "Guard"
    _model: Any
    _tokenizer: Any

    def __init__(
        self,
        guard: "Guard",
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
        if check_every_tokens < 1:
            raise ValueError(f"check_every_tokens: expected an integer >= 1, got {check_every_tokens!r}")
        # Bypass __setattr__ passthrough concerns: these live on the proxy itself.
        object.__setattr__(self, "_guard", guard)
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_tokenizer", tokenizer)
        if max_overhead is not None and not 0 < max_overhead:
            raise ValueError(f"max_overhead: expected a positive fraction (e.g. 0.02) or None, got {max_overhead!r}")
        object.__setattr__(self, "_every", check_every_tokens)
        object.__setattr__(self, "_max_overhead", max_overhead)
        object.__setattr__(self, "_stream_refusal", stream_refusal)
        stream_options: dict[str, Any] = {}
        if hold_chars is not None:
            stream_options["hold_chars"] = hold_chars
        if check_every_chars is not None:
            stream_options["check_every"] = check_every_chars
        object.__setattr__(self, "_stream_options", stream_options)
        object.__setattr__(self, "_chats", {})
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
    def guard(self) -> "Guard":
        return self._guard

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    # -- chat templates -----------------------------------------------------------------------

    def apply_chat_template(self, conversation: Sequence[Message], **kwargs: Any) -> Any:
        """The tokenizer's ``apply_chat_template``; remembers the messages so generate() checks them, not the rendering."""
        out = self._tokenizer.apply_chat_template(conversation, **kwargs)
        ids = _first_row_ids(out)
        if ids is not None:
            chats = self._chats
            if len(chats) >= 64:
                chats.pop(next(iter(chats)))
            chats[tuple(ids)] = ([dict(m) for m in conversation], _template_kwargs(kwargs))
        return out

    # -- generate -----------------------------------------------------------------------------

    def generate(self, inputs: Any = None, *, messages: Sequence[Message] | None = None, **kwargs: Any) -> Any:
        """``model.generate`` with the prompt checked first and the answer checked while it is generated.

        ``messages=`` (instead of ids) checks the chat messages and applies the chat template.
        """
        import torch

        start = time.perf_counter()
        if messages is not None:
            if inputs is not None or kwargs.get("input_ids") is not None:
                raise TypeError("generate(): give either messages= or input ids, not both")
            enc = self.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
            device = getattr(self._model, "device", None)
            kwargs["input_ids"] = enc["input_ids"].to(device) if device is not None else enc["input_ids"]
            mask = enc.get("attention_mask")
            kwargs["attention_mask"] = mask.to(device) if mask is not None and device is not None else mask
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
        prompts = [self._check_prompt(ids, mask) for ids, mask in zip(input_ids.tolist(), attention_mask.tolist())]
        return self._generate(input_ids, attention_mask, prompts, start, kwargs)

    def _check_prompt(self, ids: list[int], mask: list[int]) -> _Prompt:
        ids = [t for t, m in zip(ids, mask) if m]
        ctx = Context()
        chat = self._chats.get(tuple(ids))
        if chat is not None:
            conversation, template_kwargs = chat
            verdict = self._guard.check_input(conversation, ctx=ctx)
            model_ids = None
            if verdict.allowed and verdict.messages is not None and verdict.messages != conversation:
                rendered = self._tokenizer.apply_chat_template(verdict.messages, **template_kwargs)
                model_ids = list(_first_row_ids(rendered) or [])
            return _Prompt(ids, ctx, verdict, model_ids)
        text = self._tokenizer.decode(ids, skip_special_tokens=True)
        verdict = self._guard.check_input(text, ctx=ctx)
        model_ids = None
        if verdict.allowed and verdict.text != text:
            model_ids = self._reencode_prompt(ids, verdict.text)
        return _Prompt(ids, ctx, verdict, model_ids)

    def _reencode_prompt(self, ids: list[int], text: str) -> list[int]:
        # Keep the special tokens the caller's encoding put around the text (BOS, ...).
        special = set(self._tokenizer.all_special_ids)
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
        body: list[int] = self._tokenizer.encode(text, add_special_tokens=False)
        return lead + body + trail[::-1]

    def _generate(self, input_ids: Any, attention_mask: Any, prompts: list[_Prompt], start: float, kwargs: dict[str, Any]) -> Any:
        import torch

        model = self._model
        tok = self._tokenizer
        gen_config = kwargs.get("generation_config") or getattr(model, "generation_config", None)
        n_return = int(kwargs.get("num_return_sequences") or getattr(gen_config, "num_return_sequences", 1) or 1)
        num_beams = int(kwargs.get("num_beams") or getattr(gen_config, "num_beams", 1) or 1)
        pad_id = _pad_id(model, tok)
        eos_ids = _eos_ids(model, tok, gen_config)
        encoder_decoder = bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))
        verdicts = GenerationVerdicts(inputs=[p.verdict for p in prompts])

        allowed = [i for i, p in enumerate(prompts) if p.verdict.allowed]
        answers: dict[int, list[int]] = {}  # output row -> answer ids (only rows we rewrite)
        kept: Any = None  # model output rows we return unchanged
        outputs_by_row: dict[int, Verdict | None] = {}
        new_tokens: dict[int, int] = {}
        stopped: dict[int, bool] = {}
        checks: dict[int, int] = {}
        result: Any = None
        rewrite_prompt = True
        # Encoder-decoder models return only decoder ids, which start with the decoder start token.
        start_id = getattr(gen_config, "decoder_start_token_id", None)
        decoder_prefix: list[int] = [start_id] if isinstance(start_id, int) else []

        streamer = kwargs.pop("streamer", None)
        if streamer is not None and len(prompts) != 1:
            raise ValueError("generate(): a streamer needs a batch of one prompt (as in transformers)")
        if allowed:
            rewrite_prompt = len(allowed) != len(prompts) or any(prompts[i].model_ids is not None for i in allowed)
            if rewrite_prompt:
                model_ids, model_mask = _left_pad([prompts[i].model_ids or prompts[i].ids for i in allowed], pad_id)
                model_ids, model_mask = model_ids.to(input_ids.device), model_mask.to(input_ids.device)
            else:
                model_ids, model_mask = input_ids, attention_mask
            ctxs = [prompts[i].ctx for i in allowed]
            gen_start = 1 if encoder_decoder else model_ids.shape[1]
            from transformers import LogitsProcessorList, StoppingCriteriaList

            criteria = StoppingCriteriaList(list(kwargs.pop("stopping_criteria", None) or []))
            monitor: _Monitor | None = None
            beam: _BeamGuard | None = None
            if num_beams > 1:
                beam = _BeamGuard(self._guard, tok, ctxs, gen_start, self._every)
                processors = LogitsProcessorList(list(kwargs.pop("logits_processor", None) or []))
                processors.append(beam.logits_processor())
                kwargs["logits_processor"] = processors
                criteria.append(beam.stopping_criterion())
            else:
                monitor = _Monitor(
                    self._guard, tok, ctxs, gen_start, eos_ids, self._every, self._stream_options, self._max_overhead
                )
                criteria.append(_stopping_criterion(monitor))
                if streamer is not None:
                    kwargs["streamer"] = _StreamerProxy(streamer, monitor, tok, self._guard, self._stream_refusal)
            kwargs["stopping_criteria"] = criteria
            result = model.generate(input_ids=model_ids, attention_mask=model_mask, **kwargs)
            sequences = result.sequences if hasattr(result, "sequences") else result
            generated = sequences[:, gen_start:]
            if encoder_decoder:
                decoder_prefix = sequences[0, :gen_start].tolist()
            if monitor is not None:
                monitor.finish()
            for j, i in enumerate(allowed):
                for k in range(n_return):
                    row = j * n_return + k
                    out_row = i * n_return + k
                    row_ids = generated[row].tolist()
                    raw = _strip_after_eos(row_ids, eos_ids)
                    new_tokens[out_row] = len(raw)
                    if monitor is not None:
                        stream = monitor.streams[row]
                        verdict = stream.verdict
                        stopped[out_row] = monitor.stopped[row]
                        if monitor.stop_at[row] is not None:
                            # Later positions of a stopped row are padding, kept while other rows ran on.
                            new_tokens[out_row] = min(new_tokens[out_row], monitor.stop_at[row] or 0)
                        checks[out_row] = stream.checks
                        final = None if stream.blocked else _approved_text(stream)
                        raw_text = stream.text
                    else:
                        raw_text = tok.decode(raw, skip_special_tokens=True)
                        verdict = self._guard.check_output(raw_text, ctx=prompts[i].ctx)
                        final = verdict.text if verdict.allowed else None
                        stopped[out_row] = beam is not None and beam.all_blocked
                        checks[out_row] = 1
                    outputs_by_row[out_row] = verdict
                    if final is None:
                        assert verdict is not None  # a blocked stream always has its verdict
                        answers[out_row] = self._encode_answer(self._guard.reply(verdict), eos_ids)
                    elif final != raw_text:
                        answers[out_row] = self._encode_answer(final, eos_ids)
            kept = generated
        for i, p in enumerate(prompts):
            if not p.verdict.allowed:
                for k in range(n_return):
                    out_row = i * n_return + k
                    answers[out_row] = self._encode_answer(self._guard.reply(p.verdict), eos_ids)
                    outputs_by_row[out_row] = None
                    new_tokens[out_row] = 0
                    stopped[out_row] = False
                if streamer is not None:
                    _stream_text(streamer, self._guard.reply(p.verdict) if self._stream_refusal else "", tok)

        total = len(prompts) * n_return
        verdicts.outputs = [outputs_by_row.get(r) for r in range(total)]
        verdicts.new_tokens = [new_tokens.get(r, 0) for r in range(total)]
        verdicts.stopped_early = [stopped.get(r, False) for r in range(total)]
        verdicts.checks = [checks.get(r, 0) for r in range(total)]
        self.last_verdicts = verdicts
        if logger.isEnabledFor(logging.INFO):
            logger.info("generate %s latency_ms=%.1f", verdicts.summary(), (time.perf_counter() - start) * 1000)

        if not answers and not rewrite_prompt and result is not None:
            return result  # nothing rewritten: exactly what the model returned
        rows: list[list[int]] = []
        for r in range(total):
            i = r // n_return
            answer = answers.get(r)
            if answer is None:
                j = allowed.index(i)
                answer = kept[j * n_return + r % n_return].tolist()
            prefix = decoder_prefix if encoder_decoder else input_ids[i].tolist()
            rows.append(prefix + answer)
        width = max(len(x) for x in rows)
        sequences = torch.tensor([x + [pad_id] * (width - len(x)) for x in rows], dtype=input_ids.dtype, device=input_ids.device)
        if result is not None and hasattr(result, "sequences"):
            result.sequences = sequences
            return result
        return sequences

    def _encode_answer(self, text: str, eos_ids: set[int]) -> list[int]:
        ids: list[int] = self._tokenizer.encode(text, add_special_tokens=False)
        eos = self._tokenizer.eos_token_id
        if eos is None and eos_ids:
            eos = min(eos_ids)
        return ids + ([eos] if eos is not None else [])


def _approved_text(stream: "OutputStream") -> str:
    """The approved answer text: what the stream released (redacted, placeholders restored)."""
    verdict = stream.verdict
    if verdict is None:
        return ""
    return verdict.text


class GuardedPipeline:
    """A text-generation pipeline whose prompts (or chats) and answers are checked."""

    def __init__(self, guard: "Guard", pipe: Any, **options: Any) -> None:
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

    def __call__(self, text_inputs: Any, **kwargs: Any) -> Any:
        """Run the pipeline: blocked prompts get the refusal without reaching the model."""
        single = isinstance(text_inputs, str) or _is_chat(text_inputs)
        items = [text_inputs] if single else list(text_inputs)
        ctxs: list[Context] = []
        checked: list[Verdict] = []
        for item in items:
            ctx = Context()
            checked.append(self._guard.check_input(item if isinstance(item, str) else _chat_messages(item), ctx=ctx))
            ctxs.append(ctx)
        todo = [i for i, v in enumerate(checked) if v.allowed]
        results: dict[int, Any] = {}
        calls: list[GenerationVerdicts] = []
        if todo:
            model_inputs = [_redacted_item(items[i], checked[i]) for i in todo]
            proxy = _PipelineModel(self._guarded, [ctxs[i] for i in todo], [checked[i] for i in todo], calls)
            with self._lock:  # the pipeline's model attribute is swapped for the duration of the call
                original = self._pipe.model
                self._pipe.model = proxy
                try:
                    out = self._pipe(model_inputs, **kwargs)
                finally:
                    self._pipe.model = original
            for i, res in zip(todo, out):
                results[i] = res
        n = int(kwargs.get("num_return_sequences", 1) or 1)
        per_prompt = iter(_per_prompt(calls))
        verdicts: list[GenerationVerdicts] = []
        for i, v in enumerate(checked):
            if v.allowed:
                verdicts.append(next(per_prompt))
            else:
                results[i] = [self._refusal_record(items[i], kwargs, self._guard.reply(v)) for _ in range(n)]
                verdicts.append(GenerationVerdicts([v], [None] * n, [0] * n, [False] * n, [0] * n))
        self.last_verdicts = verdicts  # one entry per prompt, in input order
        ordered = [results[i] for i in range(len(items))]
        return ordered[0] if single else ordered

    def _refusal_record(self, item: Any, kwargs: dict[str, Any], refusal: str) -> dict[str, Any]:
        full = kwargs.get("return_full_text", True)
        if isinstance(item, str):
            return {"generated_text": item + refusal if full else refusal}
        return {"generated_text": [*_chat_messages(item), {"role": "assistant", "content": refusal}] if full else refusal}


def _per_prompt(calls: list[GenerationVerdicts]) -> list[GenerationVerdicts]:
    """Split the verdicts of batched generate calls into one GenerationVerdicts per prompt."""
    out = []
    for call in calls:
        rows = len(call.inputs)
        n = len(call.outputs) // rows if rows else 0
        for i, v in enumerate(call.inputs):
            part = slice(i * n, (i + 1) * n)
            out.append(GenerationVerdicts([v], call.outputs[part], call.new_tokens[part], call.stopped_early[part], call.checks[part]))
    return out


class _PipelineModel:
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
            _Prompt([t for t, m in zip(ids, mask) if m], ctx, v)
            for ids, mask, ctx, v in zip(input_ids.tolist(), attention_mask.tolist(), ctxs, verdicts)
        ]
        out = self._guarded._generate(input_ids, attention_mask, prompts, start, kwargs)
        self._calls.append(self._guarded.last_verdicts)
        return out


# -- entry points ---------------------------------------------------------------------------------


def wrap(guard: "Guard", model: Any, tokenizer: Any = None, **options: Any) -> Any:
    """Guard a transformers model (``GuardedModel``) or a text-generation pipeline (``GuardedPipeline``)."""
    if tokenizer is None and hasattr(model, "model") and hasattr(model, "tokenizer") and hasattr(model, "task"):
        return GuardedPipeline(guard, model, **options)
    return GuardedModel(guard, model, tokenizer, **options)


def wrap_pipeline(guard: "Guard", pipe: Any, **options: Any) -> GuardedPipeline:
    """Guard a transformers text-generation pipeline."""
    return GuardedPipeline(guard, pipe, **options)


# -- helpers ----------------------------------------------------------------------------------------


def _first_row_ids(out: Any) -> list[int] | None:
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
    keep = {k: v for k, v in kwargs.items() if k not in ("return_tensors", "return_dict", "tokenize")}
    return {**keep, "tokenize": True, "return_dict": False}


def _pad_id(model: Any, tokenizer: Any) -> int:
    for candidate in (
        getattr(tokenizer, "pad_token_id", None),
        getattr(getattr(model, "generation_config", None), "pad_token_id", None),
        getattr(tokenizer, "eos_token_id", None),
    ):
        if isinstance(candidate, int):
            return candidate
    return 0


def _eos_ids(model: Any, tokenizer: Any, gen_config: Any) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(gen_config, "eos_token_id", None), getattr(tokenizer, "eos_token_id", None)):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(int(x) for x in source)
    return ids


def _strip_after_eos(ids: list[int], eos_ids: set[int]) -> list[int]:
    for i, t in enumerate(ids):
        if t in eos_ids:
            return ids[:i]
    return ids


def _left_pad(rows: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad_id] * (width - len(r)) + r for r in rows], dtype=torch.long)
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], dtype=torch.long)
    return ids, mask


def _stream_text(streamer: Any, text: str, tokenizer: Any) -> None:
    """A blocked prompt: the streamer sees the refusal (or nothing), then its end."""
    if text:
        if hasattr(streamer, "on_finalized_text"):
            streamer.on_finalized_text(text)
        else:
            import torch

            streamer.put(torch.tensor(tokenizer.encode(text, add_special_tokens=False), dtype=torch.long))
    streamer.end()


def _is_chat(value: Any) -> bool:
    if hasattr(value, "messages") and not isinstance(value, (list, str)):
        return True  # transformers' Chat object
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def _chat_messages(item: Any) -> list[Message]:
    messages = item.messages if hasattr(item, "messages") and not isinstance(item, (list, tuple)) else item
    return [dict(m) for m in messages]  # type: ignore[misc]


def _redacted_item(item: Any, verdict: Verdict) -> Any:
    if isinstance(item, str):
        return verdict.text
    return verdict.messages if verdict.messages is not None else _chat_messages(item)


__all__ = ["GenerationVerdicts", "GuardedModel", "GuardedPipeline", "wrap", "wrap_pipeline"]
