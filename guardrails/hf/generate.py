"""One guarded ``generate`` call, step by step (``GuardedGeneration``).

1. ``GenerationSetup.read``: what the model and the call's options say (rows per prompt, beams,
   pad and end-of-sequence ids, encoder-decoder).
2. ``run_model``: the allowed prompts (redacted where needed) go to ``model.generate`` with the
   output checks attached: an ``OutputMonitor`` stopping criterion (greedy decoding, sampling)
   or a ``BeamGuard`` (beam search). Then each returned row is judged: its output verdict, and
   the refusal or the redacted text where the answer changed.
3. ``refuse_blocked_prompts``: the rows of blocked prompts get the refusal.
4. ``verdicts`` and ``output``: the call's GenerationVerdicts, and what ``generate`` returns
   (the model's own output when nothing changed, else the rows rebuilt: prompt ids + answer ids).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guardrails.hf.answers import approved_text, encode_answer, eos_ids, pad_id, right_pad, strip_after_eos
from guardrails.hf.beam import BeamGuard
from guardrails.hf.monitor import OutputMonitor, stopping_criterion
from guardrails.hf.options import WrapOptions
from guardrails.hf.prompts import TOOLS_KEY, Prompt, left_pad
from guardrails.hf.streamer import StreamerProxy, stream_text
from guardrails.hf.tool_calls import combined, find_tool_calls, message_of, write_calls
from guardrails.hf.verdicts import GenerationVerdicts
from guardrails.types import Action, Context
from guardrails.verdict import Verdict

if TYPE_CHECKING:
    from guardrails.engine import Engine


@dataclass(frozen=True)
class GenerationSetup:
    """What one generate call needs to know about the model, its tokenizer and the call's options."""

    n_return: int  # returned rows per prompt (num_return_sequences)
    num_beams: int
    pad_id: int
    eos_ids: set[int]
    encoder_decoder: bool
    decoder_start: list[int]  # encoder-decoder models return only decoder ids, which start with this

    @classmethod
    def read(cls, model: Any, tokenizer: Any, kwargs: dict[str, Any]) -> "GenerationSetup":
        gen_config = kwargs.get("generation_config") or getattr(model, "generation_config", None)
        start_id = getattr(gen_config, "decoder_start_token_id", None)
        return cls(
            n_return=int(kwargs.get("num_return_sequences") or getattr(gen_config, "num_return_sequences", 1) or 1),
            num_beams=int(kwargs.get("num_beams") or getattr(gen_config, "num_beams", 1) or 1),
            pad_id=pad_id(model, tokenizer),
            eos_ids=eos_ids(tokenizer, gen_config),
            encoder_decoder=bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False)),
            decoder_start=[start_id] if isinstance(start_id, int) else [],
        )


@dataclass
class RowOutcome:
    """What the guard decided for one returned row (the defaults: a row that was not generated)."""

    verdict: Verdict | None = None  # the output verdict; None when the prompt was blocked
    new_tokens: int = 0
    stopped_early: bool = False
    checks: int = 0
    answer: list[int] | None = None  # ids replacing the model's answer (refusal, redaction); None: keep it


class GuardedGeneration:
    """The state of one guarded generate call; see the module docstring for its steps."""

    def __init__(
        self, guard: "Engine", model: Any, tokenizer: Any, options: WrapOptions, prompts: list[Prompt], kwargs: dict[str, Any]
    ) -> None:
        self.guard = guard
        self.model = model
        self.tokenizer = tokenizer
        self.options = options
        self.prompts = prompts
        self.kwargs = kwargs  # model.generate's keyword arguments; the output checks are added to them
        self.setup = GenerationSetup.read(model, tokenizer, kwargs)
        self.streamer = kwargs.pop("streamer", None)
        if self.streamer is not None and len(prompts) != 1:
            raise ValueError("generate(): a streamer needs a batch of one prompt (as in transformers)")
        self.allowed = [i for i, p in enumerate(prompts) if p.verdict.allowed]
        self.rows = [RowOutcome() for _ in range(len(prompts) * self.setup.n_return)]
        self.monitor: OutputMonitor | None = None
        self.beam: BeamGuard | None = None
        self.result: Any = None  # what model.generate returned
        self.generated: Any = None  # its answer ids: one row per returned sequence of an allowed prompt
        self.decoder_prefix = self.setup.decoder_start  # encoder-decoder: the decoder ids before the answer
        self.rewrite_prompt = True  # the model did not see the caller's exact batch: rebuild the returned rows

    # -- step 2: the model, with the output checks attached --------------------------------------

    def run_model(self, input_ids: Any, attention_mask: Any) -> None:
        """Generate the allowed prompts' answers under the output checks, then judge each returned row."""
        if not self.allowed:
            return
        model_ids, model_mask = self._model_inputs(input_ids, attention_mask)
        gen_start = 1 if self.setup.encoder_decoder else model_ids.shape[1]
        self._attach_checks([self.prompts[i].ctx for i in self.allowed], gen_start)
        self.result = self.model.generate(input_ids=model_ids, attention_mask=model_mask, **self.kwargs)
        sequences = self.result.sequences if hasattr(self.result, "sequences") else self.result
        self.generated = sequences[:, gen_start:]
        if self.setup.encoder_decoder:
            self.decoder_prefix = sequences[0, :gen_start].tolist()
        if self.monitor is not None:
            self.monitor.finish()
        self._judge_rows()

    def _model_inputs(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
        """The caller's tensors when every prompt passed unchanged; else the allowed prompts (redacted), padded again."""
        prompts = [self.prompts[i] for i in self.allowed]
        self.rewrite_prompt = len(prompts) != len(self.prompts) or any(p.model_ids is not None for p in prompts)
        if not self.rewrite_prompt:
            return input_ids, attention_mask
        ids, mask = left_pad([p.model_ids or p.ids for p in prompts], self.setup.pad_id)
        return ids.to(input_ids.device), mask.to(input_ids.device)

    def _attach_checks(self, ctxs: list[Context], gen_start: int) -> None:
        from transformers import StoppingCriteriaList

        criteria = StoppingCriteriaList(list(self.kwargs.pop("stopping_criteria", None) or []))
        if self.setup.num_beams > 1:
            criteria.append(self._attach_beam_guard(ctxs, gen_start))
        else:
            criteria.append(self._attach_monitor(ctxs, gen_start))
        self.kwargs["stopping_criteria"] = criteria

    def _attach_beam_guard(self, ctxs: list[Context], gen_start: int) -> Any:
        """Beam search: blocked beams are pruned by a logits processor; returns the criterion that ends the search."""
        from transformers import LogitsProcessorList

        self.beam = BeamGuard(self.guard, self.tokenizer, ctxs, gen_start, self.options.check_every_tokens)
        processors = LogitsProcessorList(list(self.kwargs.pop("logits_processor", None) or []))
        processors.append(self.beam.logits_processor())
        self.kwargs["logits_processor"] = processors
        return self.beam.stopping_criterion()

    def _attach_monitor(self, ctxs: list[Context], gen_start: int) -> Any:
        """Greedy decoding and sampling: rows are checked as they grow; the caller's streamer gets approved text only."""
        o = self.options
        self.monitor = OutputMonitor(
            self.guard, self.tokenizer, ctxs, gen_start, self.setup.eos_ids, o.check_every_tokens, o.stream_options, o.max_overhead
        )
        if self.streamer is not None:
            self.kwargs["streamer"] = StreamerProxy(self.streamer, self.monitor, self.tokenizer, self.guard, o.stream_refusal)
        return stopping_criterion(self.monitor)

    # -- step 2, continued: judging the returned rows ---------------------------------------------

    def _judge_rows(self) -> None:
        n = self.setup.n_return
        for j, i in enumerate(self.allowed):
            for k in range(n):
                self.rows[i * n + k] = self._judge_row(j * n + k, self.prompts[i].ctx)

    def _judge_row(self, row: int, ctx: Context) -> RowOutcome:
        """Row ``row`` of the model's output: its verdict, and the ids replacing its answer if it changed."""
        raw = strip_after_eos(self.generated[row].tolist(), self.setup.eos_ids)
        if self.monitor is not None:
            outcome, final, raw_text = self._streamed_row(self.monitor, row, len(raw))
        else:
            outcome, final, raw_text = self._checked_row(raw, ctx)
        if final is not None and ctx.metadata.get(TOOLS_KEY):
            final = self._check_tool_calls(outcome, final, ctx)
        if final is None:
            assert outcome.verdict is not None  # a blocked stream always has its verdict
            outcome.answer = self._encode(self.guard.reply(outcome.verdict))
        elif final != raw_text:
            outcome.answer = self._encode(final)
        return outcome

    def _check_tool_calls(self, outcome: RowOutcome, text: str, ctx: Context) -> str | None:
        """The approved answer's tool calls (the chat was rendered with tools=), checked as an assistant
        message; returns the answer with redacted arguments written back, or None when a call is blocked."""
        calls = find_tool_calls(text)
        if not calls:
            return text
        verdict = self.guard.check_output(message_of(text, calls), ctx=ctx)
        outcome.verdict = combined(outcome.verdict, verdict)
        if not verdict.allowed:
            return None
        if verdict.action is Action.REDACT and verdict.messages:
            return write_calls(text, calls, dict(verdict.messages[0]))
        return text

    def _streamed_row(self, monitor: OutputMonitor, row: int, generated: int) -> tuple[RowOutcome, str | None, str]:
        """A row the monitor checked while it grew: (outcome, approved text or None if blocked, text as generated)."""
        stream = monitor.streams[row]
        new_tokens = generated
        if monitor.stop_at[row] is not None:
            # Later positions of a stopped row are padding, kept while other rows ran on.
            new_tokens = min(new_tokens, monitor.stop_at[row] or 0)
        outcome = RowOutcome(stream.verdict, new_tokens, monitor.stopped[row], stream.checks)
        final = None if stream.blocked else approved_text(stream)
        return outcome, final, stream.text

    def _checked_row(self, raw: list[int], ctx: Context) -> tuple[RowOutcome, str | None, str]:
        """A beam search row, checked once as a whole: (outcome, approved text or None if blocked, text as generated)."""
        raw_text = self.tokenizer.decode(raw, skip_special_tokens=True)
        verdict = self.guard.check_output(raw_text, ctx=ctx)
        final = verdict.text if verdict.allowed else None
        stopped = self.beam is not None and self.beam.all_blocked
        return RowOutcome(verdict, len(raw), stopped, 1), final, raw_text

    # -- step 3: blocked prompts ----------------------------------------------------------------

    def refuse_blocked_prompts(self) -> None:
        """Each row of a blocked prompt answers with the refusal; a streamer gets it too (or nothing), then its end."""
        n = self.setup.n_return
        for i, prompt in enumerate(self.prompts):
            if prompt.verdict.allowed:
                continue
            refusal = self.guard.reply(prompt.verdict)
            for k in range(n):
                self.rows[i * n + k] = RowOutcome(answer=self._encode(refusal))
            if self.streamer is not None:
                stream_text(self.streamer, refusal if self.options.stream_refusal else "", self.tokenizer)

    # -- step 4: what the caller gets -----------------------------------------------------------

    def verdicts(self) -> GenerationVerdicts:
        return GenerationVerdicts(
            inputs=[p.verdict for p in self.prompts],
            outputs=[r.verdict for r in self.rows],
            new_tokens=[r.new_tokens for r in self.rows],
            stopped_early=[r.stopped_early for r in self.rows],
            checks=[r.checks for r in self.rows],
        )

    def output(self, input_ids: Any) -> Any:
        """What generate returns: the model's output, with its rows rebuilt when an answer or a prompt changed."""
        if self.result is not None and not self.rewrite_prompt and all(r.answer is None for r in self.rows):
            return self.result  # nothing rewritten: exactly what the model returned
        sequences = right_pad([self._row_ids(r, input_ids) for r in range(len(self.rows))], self.setup.pad_id, like=input_ids)
        if self.result is not None and hasattr(self.result, "sequences"):
            self.result.sequences = sequences
            return self.result
        return sequences

    def _row_ids(self, r: int, input_ids: Any) -> list[int]:
        """Returned row ``r``: the caller's prompt ids (encoder-decoder: the decoder prefix), then the answer."""
        n = self.setup.n_return
        i = r // n
        answer = self.rows[r].answer
        if answer is None:
            answer = self.generated[self.allowed.index(i) * n + r % n].tolist()
        prefix = self.decoder_prefix if self.setup.encoder_decoder else input_ids[i].tolist()
        return prefix + answer

    def _encode(self, text: str) -> list[int]:
        return encode_answer(self.tokenizer, text, self.setup.eos_ids)
