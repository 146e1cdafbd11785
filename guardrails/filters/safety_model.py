"""``safety_model``: a Llama-Guard-style generative safety classifier, in process or on a server.

The model reads the conversation and answers ``safe`` or ``unsafe`` with hazard codes S1-S14
(see ``guardrails.safety_prompts``). Findings use the hazard's snake_case name as category
(``S1`` -> ``violent_crimes``); only the policy's ``categories`` block or flag, the others are
still reported in ``scores``. An ``unsafe`` answer that names no known category is reported as
category ``unsafe`` and always counts (fail closed). A finding's score is the model's
probability of answering ``unsafe`` when it can be computed (in process always, remote with
``logprobs: true``), else 1.0; ``threshold`` then decides on that probability instead of the
greedy answer, as Llama Guard users do.

Backends: ``model:`` (hub id or local path) runs transformers in this process; ``endpoint:``
calls an OpenAI-compatible server (e.g. vLLM serving Llama Guard) with per-request timeouts
and bounded retries. Prompt text and answers are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Generator, Literal, Sequence

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from guardrails.categories import CATEGORY_SETTING_SCHEMA, CategoryRule, action_override, parse_categories
from guardrails.errors import FilterLoadError, FilterTimeout, GuardrailsError
from guardrails.filter_config import http_base_url
from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.runtime.http_retry import LoopClients, arun_plan, run_plan
from guardrails.runtime.resolve import ModelSpec
from guardrails.safety_prompts import (
    ALL_CODES,
    BY_CODE,
    UNSPECIFIED,
    AnswerParseError,
    Turn,
    build_prompt,
    detect_format,
    guard_turns,
    hazard,
    parse_answer,
)
from guardrails.types import Context, FilterResult, Finding, Stage, render_conversation

logger = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 2.0
_BOS = "<|begin_of_text|>"


class SafetyModelError(GuardrailsError):
    """The safety model or its server failed (bad status, bad payload, retries exhausted)."""


class SafetyModelConfig(FilterConfig):
    model: str | None = Field(None, description="Hub id or local path of the guard model, run in this process.")
    revision: str | None = Field(None, description="Pinned hub revision of model.")
    offline: bool = Field(False, description="Never download model; the policy's offline: true sets it.")
    endpoint: str | None = Field(None, description="Base URL of an OpenAI-compatible server serving the guard model.")
    endpoint_model: str | None = Field(None, description="Model name on the server; default: the first one it lists.")
    api_key: SecretStr | None = Field(
        None, description="The server's API key; write '${ENV_VAR}' (policy dumps show it masked)."
    )
    api: Literal["chat", "completions"] = Field(
        "chat", description="chat: the server applies the guard's chat template; completions: we send the raw prompt."
    )
    format: Literal["auto", "llama_guard_3", "llama_guard_4"] = Field(
        "auto",
        description="auto: the model's own chat template if it has one, else our builder for the format its special "
        "tokens show (remote completions: from endpoint_model's name); a named format always uses our builder.",
    )
    categories: dict[str, CategoryRule] = Field(
        default_factory=lambda: {code: CategoryRule() for code in ALL_CODES},
        description="Hazards that count: a list of codes S1-S14 or names, or a mapping of them to a threshold, off, or "
                    "{threshold, action: block|flag|respond|off} (the same settings as builtin's categories).",
        json_schema_extra={"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object", "additionalProperties": CATEGORY_SETTING_SCHEMA}]},
    )
    max_new_tokens: int = Field(20, ge=1, le=64, description="Answer length limit; 'unsafe\\nS1,S10' is a few tokens.")
    request_timeout_ms: int = Field(10_000, gt=0, description="Per HTTP attempt; timeout_ms bounds all attempts together.")
    retries: int = Field(2, ge=0, le=10, description="Extra attempts after a connection error, timeout or 5xx/429.")
    backoff_ms: int = Field(200, ge=0, le=10_000, description="First retry delay; doubles per attempt (capped at 2 s).")
    logprobs: bool = Field(False, description="Ask the server for logprobs to score P(unsafe) (vLLM supports it).")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N (in-process backend).")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field("auto", description="In-process weight dtype.")

    @field_validator("categories", mode="before")
    @classmethod
    def _known_categories(cls, values: Any) -> dict[str, CategoryRule]:
        if isinstance(values, list):
            if not values:
                raise ValueError("expected at least one hazard category")
            rules: dict[str, Any] = {}
            for i, value in enumerate(values):
                try:
                    rules[hazard(str(value)).code] = CategoryRule()
                except KeyError:
                    raise ValueError(
                        f"unknown hazard category {value!r} at position {i}; expected a code S1-S14 "
                        f"or a name such as 'violent_crimes'"
                    ) from None
            return rules
        known = {*ALL_CODES, *(BY_CODE[c].name for c in ALL_CODES)}
        parsed = parse_categories(values, known, what="hazard category (code S1-S14 or name)")
        return {hazard(key).code: rule for key, rule in parsed.items()}

    def respond_categories(self) -> tuple[str, ...]:
        return tuple(BY_CODE[c].name for c, rule in self.categories.items() if rule.action == "respond")

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_base_url(value)

    @field_validator("model")
    @classmethod
    def _relative_to_policy(cls, value: str | None, info: ValidationInfo) -> str | None:
        from guardrails.runtime.options import local_model_key

        return value if value is None else local_model_key(value, info)

    @model_validator(mode="after")
    def _one_backend(self) -> "SafetyModelConfig":
        if (self.model is None) == (self.endpoint is None):
            raise ValueError("set exactly one of 'model' (run in this process) or 'endpoint' (an OpenAI-compatible server)")
        return self


@dataclass(frozen=True)
class _Answer:
    text: str
    p_unsafe: float | None


class SafetyModelFilter(BaseFilter):
    """Rates the conversation with a Llama Guard model: user turn at input, agent turn at output."""

    name = "safety_model"
    Config = SafetyModelConfig
    cost = 2
    conversation = True
    actions: ClassVar[frozenset[str]] = frozenset({"block", "flag"})

    def __init__(self, config: SafetyModelConfig) -> None:
        super().__init__(config)
        self.config: SafetyModelConfig = config
        self._backend: _LocalGuard | _RemoteGuard = _LocalGuard(config) if config.model else _RemoteGuard(config)

    def load(self) -> None:
        self._backend.load()

    def model_specs(self) -> list[ModelSpec]:
        """The guard model to prefetch for in-process use (none for a remote endpoint)."""
        if not self.config.model:
            return []
        return [ModelSpec(self.config.model, self.config.revision, note="Llama Guard style causal LM")]

    def required_models(self) -> list[str]:
        return [s.key for s in self.model_specs()]

    def check(self, text: str, ctx: Context) -> FilterResult:
        turns = conversation_turns(text, ctx)
        if not turns:
            return FilterResult.clean({UNSPECIFIED: 0.0})
        if isinstance(self._backend, _LocalGuard):
            return self._result(self._backend.classify(turns, self.config.threshold))
        return self._result(self._backend.classify(turns))

    async def acheck(self, text: str, ctx: Context) -> FilterResult:
        if isinstance(self._backend, _LocalGuard):
            return await super().acheck(text, ctx)
        turns = conversation_turns(text, ctx)
        if not turns:
            return FilterResult.clean({UNSPECIFIED: 0.0})
        return self._result(await self._backend.aclassify(turns))

    def _rule(self, category: str) -> CategoryRule | None:
        code = next((c for c in self.config.categories if BY_CODE[c].name == category), None)
        return self.config.categories.get(code) if code is not None else None

    def threshold_for(self, category: str, ctx: Context) -> float:
        # The model's own safe / unsafe answer decides unless the policy sets a threshold on p(unsafe).
        rule = self._rule(category)
        if rule is not None and rule.threshold is not None:
            return rule.threshold
        return self.config.threshold if self.config.threshold is not None else 0.0

    def action_for(self, category: str, ctx: Context) -> str | None:
        rule = self._rule(category)
        return action_override(rule) if rule is not None else None

    def _result(self, answer: _Answer) -> FilterResult:
        parsed = parse_answer(answer.text)
        p = answer.p_unsafe
        unsafe = not parsed.safe
        if self.config.threshold is not None and p is not None:
            unsafe = p >= self.config.threshold
        score = p if p is not None else 1.0
        scores = {UNSPECIFIED: p if p is not None else float(unsafe)}
        for name in parsed.names:
            scores[name] = score
        if not unsafe:
            return FilterResult.clean(scores)
        findings = []
        for code in parsed.codes:
            rule = self.config.categories.get(code)
            if rule is None or rule.off or (rule.threshold is not None and p is not None and p < rule.threshold):
                continue
            findings.append(Finding(BY_CODE[code].name, score))
        if not parsed.codes:
            findings = [Finding(UNSPECIFIED, score)]  # the model named no known hazard: fail closed
        return FilterResult(tuple(findings), scores)


def conversation_turns(text: str, ctx: Context) -> list[Turn]:
    """The turns to rate: the chat the engine passed, plus the answer at output stage.

    Without chat messages the text is one user turn (at either stage).
    """
    messages = ctx.messages
    if messages and text == render_conversation(messages):
        return guard_turns(messages)
    if messages and ctx.stage is Stage.OUTPUT:
        return guard_turns([*messages, {"role": "assistant", "content": text}])
    return [Turn("user", text)] if text.strip() else []


# -- in-process backend ------------------------------------------------------------------


class _LocalGuard:
    """transformers AutoModelForCausalLM, greedy decoding, P(unsafe) from the first answer token."""

    def __init__(self, config: SafetyModelConfig) -> None:
        self.config = config
        self.tokenizer: Any = None
        self.model: Any = None
        self.device = "cpu"
        self._parts: bool | None = None  # whether the chat template wants OpenAI content parts

    def load(self) -> None:
        from guardrails.runtime import resolve_model, shared_model

        try:
            import torch
        except ImportError:
            raise FilterLoadError(
                "safety_model with model: needs torch and transformers: pip install 'openweights-guardrails[models]'"
            ) from None
        from guardrails.runtime.resolve import FOREIGN_WEIGHTS
        from guardrails.runtime.threads import apply_configured

        path = resolve_model(
            self.config.model or "", offline=self.config.offline, revision=self.config.revision, ignore_patterns=FOREIGN_WEIGHTS
        )
        apply_configured()
        device = self.config.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        key = ("safety_model", str(path), device, self.config.dtype)
        self.tokenizer, self.model = shared_model(key, lambda: _load_local(str(path), device, self.config.dtype))
        self.device = device
        vocab = self.tokenizer.get_vocab()
        stops = [vocab[t] for t in ("<|eot_id|>", "<|eot|>", "<|eom_id|>", "<|end_of_text|>") if t in vocab]
        if self.tokenizer.eos_token_id is not None:
            stops.append(self.tokenizer.eos_token_id)
        self._stops = sorted(set(stops)) or None
        self._pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else (self._stops or [0])[0]
        self._format = detect_format(list(vocab)) if self.config.format == "auto" else self.config.format
        self._use_template = self.config.format == "auto" and bool(getattr(self.tokenizer, "chat_template", None))
        unsafe = self.tokenizer.encode("unsafe", add_special_tokens=False)
        safe = self.tokenizer.encode("safe", add_special_tokens=False)
        # P(unsafe) is defined when the first token of "unsafe" differs from the first of "safe".
        self._unsafe_id = unsafe[0] if unsafe and safe and unsafe[0] != safe[0] else None

    def prompt(self, turns: Sequence[Turn]) -> str:
        """The prompt text: the model's own chat template when used, else our builder."""
        if not self._use_template:
            return build_prompt(turns, self._format)
        styles = [self._parts] if self._parts is not None else [False, True]
        for parts in styles:
            messages = [
                {"role": t.role, "content": [{"type": "text", "text": t.content}] if parts else t.content} for t in turns
            ]
            try:
                rendered = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            except Exception:  # noqa: BLE001 - a template that rejects this content style
                continue
            if isinstance(rendered, str) and turns[-1].content.strip() in rendered:
                self._parts = parts
                return rendered
        raise SafetyModelError("the model's chat template did not render the conversation; set format: llama_guard_3 or llama_guard_4")

    def classify(self, turns: Sequence[Turn], threshold: float | None) -> _Answer:
        import torch

        prompt_ids = self.tokenizer(self.prompt(turns), add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
        new, logits = self._generate(prompt_ids)
        position = self._answer_position(new)
        p = None
        if position is not None and self._unsafe_id is not None and logits is not None:
            p = float(torch.softmax(logits[position].float(), dim=-1)[self._unsafe_id])
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        over = threshold is not None and p is not None and p >= threshold
        if over and position is not None and self._unsafe_id is not None and _says_safe(text):
            # Over the threshold although greedy said "safe": force "unsafe" to read the categories.
            forced = torch.cat([new[:position], torch.tensor([self._unsafe_id], device=new.device)])
            more, _ = self._generate(torch.cat([prompt_ids[0], forced]).unsqueeze(0))
            text = self.tokenizer.decode(torch.cat([forced, more]), skip_special_tokens=True)
        return _Answer(text, p)

    def _generate(self, input_ids: Any) -> tuple[Any, Any]:
        import torch

        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=self.config.max_new_tokens,
                do_sample=False,
                eos_token_id=self._stops,
                pad_token_id=self._pad,
                output_logits=True,
                return_dict_in_generate=True,
            )
        new = out.sequences[0, input_ids.shape[-1]:]
        return new, torch.stack([step[0] for step in out.logits]) if out.logits else None

    def _answer_position(self, new: Any) -> int | None:
        """Index of the first generated token that is not whitespace (Llama Guard 4 writes "\\n\\n" first)."""
        for i, token in enumerate(new.tolist()):
            if self.tokenizer.decode([token], skip_special_tokens=True).strip():
                return i
        return None


def _says_safe(text: str) -> bool:
    try:
        return parse_answer(text).safe
    except AnswerParseError:
        return True


def _load_local(path: str, device: str, dtype: str) -> tuple[Any, Any]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    kwargs: dict[str, Any] = {"dtype": "auto" if dtype == "auto" else getattr(torch, dtype)}
    architectures = getattr(AutoConfig.from_pretrained(path), "architectures", None) or []
    model: Any
    if any(a.endswith("ForConditionalGeneration") for a in architectures):
        # Llama Guard 4 (Llama4ForConditionalGeneration) and 3 Vision: multimodal checkpoints, read text-only here.
        from transformers import AutoModelForImageTextToText

        model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
    else:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    return tokenizer, model.to(device).eval()


# -- remote backend ------------------------------------------------------------------------


class _RemoteGuard:
    """POST /v1/chat/completions (or /v1/completions with our prompt) with timeouts and retries."""

    def __init__(self, config: SafetyModelConfig) -> None:
        self.config = config
        base = (config.endpoint or "").rstrip("/")
        self.base = base if base.endswith("/v1") else f"{base}/v1"
        self.model_name = config.endpoint_model
        self._headers: dict[str, str] = {}
        self._client: Any = None
        self._aclients = LoopClients(self._headers)  # the same dict: load() adds the key to it

    def load(self) -> None:
        try:
            import httpx
        except ImportError:
            raise FilterLoadError("safety_model with endpoint: needs httpx: pip install 'openweights-guardrails[server]'") from None
        if self.config.api_key is not None:
            # ${VAR} was already resolved by the policy loader (YAML and dict policies alike).
            self._headers["Authorization"] = f"Bearer {self.config.api_key.get_secret_value()}"
        self._client = httpx.Client(headers=self._headers)
        if self.model_name is None:
            self.model_name = self._first_model()

    def _first_model(self) -> str:
        try:
            r = self._client.get(f"{self.base}/models", timeout=self.config.request_timeout_ms / 1000)
            r.raise_for_status()
            return str(r.json()["data"][0]["id"])
        except Exception as exc:  # noqa: BLE001
            raise FilterLoadError(
                f"safety_model: cannot list the endpoint's models ({type(exc).__name__}); set endpoint_model:"
            ) from None

    def _request(self, turns: Sequence[Turn]) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model_name, "max_tokens": self.config.max_new_tokens, "temperature": 0}
        if self.config.api == "chat":
            body["messages"] = [{"role": t.role, "content": t.content} for t in turns]
            if self.config.logprobs:
                body.update(logprobs=True, top_logprobs=5)
            return f"{self.base}/chat/completions", body
        fmt = self.config.format
        if fmt == "auto":
            fmt = "llama_guard_4" if re.search(r"guard[-_ ]?4", self.model_name or "", re.IGNORECASE) else "llama_guard_3"
        # The server's tokenizer adds the BOS token itself; a literal one would be a second BOS.
        body["prompt"] = build_prompt(turns, fmt).removeprefix(_BOS)
        if self.config.logprobs:
            body["logprobs"] = 5
        return f"{self.base}/completions", body

    def _parse(self, payload: Any) -> _Answer:
        try:
            choice = payload["choices"][0]
            text = choice["message"]["content"] if self.config.api == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise SafetyModelError("endpoint answer has no choices[0] text") from None
        if not isinstance(text, str):
            raise SafetyModelError("endpoint answer has no choices[0] text")
        return _Answer(text, _p_unsafe(choice.get("logprobs")) if self.config.logprobs else None)

    def _deadline(self) -> float | None:
        return time.monotonic() + self.config.timeout_ms / 1000 if self.config.timeout_ms else None

    def _attempt_timeout(self, deadline: float | None) -> float:
        per = self.config.request_timeout_ms / 1000
        return per if deadline is None else min(per, deadline - time.monotonic())

    def _backoff(self, attempt: int, deadline: float | None) -> float:
        delay = min(self.config.backoff_ms / 1000 * 2.0**attempt, _MAX_BACKOFF_S)
        return delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))

    def classify(self, turns: Sequence[Turn]) -> _Answer:
        url, body = self._request(turns)
        return run_plan(self._attempts(), self._client, url, body)

    async def aclassify(self, turns: Sequence[Turn]) -> _Answer:
        url, body = self._request(turns)
        return await arun_plan(self._attempts(), self._aclients.get(), url, body)

    def _attempts(self) -> Generator[tuple[str, float], Any, _Answer]:
        """The retry policy, shared by the sync and async drivers.

        Yields ``("post", timeout)`` and receives the response or a failure reason, or yields
        ``("sleep", seconds)`` between attempts; returns the answer or raises when exhausted.
        """
        deadline = self._deadline()
        last = "no attempt"
        for attempt in range(self.config.retries + 1):
            timeout = self._attempt_timeout(deadline)
            if timeout <= 0:
                break
            result = yield ("post", timeout)
            outcome = result if isinstance(result, str) else self._outcome(result)
            if isinstance(outcome, _Answer):
                return outcome
            last = outcome
            logger.debug("safety_model attempt %d to %s failed: %s", attempt + 1, self.base, last)
            if attempt < self.config.retries:
                yield ("sleep", self._backoff(attempt, deadline))
        raise self._exhausted(last)

    def _outcome(self, response: Any) -> _Answer | str:
        """The parsed answer, or a retryable failure reason; raises on a final failure."""
        status = response.status_code
        if status in _RETRY_STATUS:
            return f"HTTP {status}"
        if status >= 400:
            raise SafetyModelError(f"endpoint answered HTTP {status} (not retried)")
        try:
            payload = response.json()
        except ValueError:
            raise SafetyModelError("endpoint answer is not JSON") from None
        return self._parse(payload)

    def _exhausted(self, last: str) -> GuardrailsError:
        # Verdicts may reach API clients: name no internal URL here (the debug log has it).
        attempts = self.config.retries + 1
        if last == "timeout" or last == "no attempt":
            return FilterTimeout(f"safety_model endpoint timed out ({attempts} attempts allowed)")
        return SafetyModelError(f"safety_model endpoint failed after {attempts} attempts (last: {last})")


def _p_unsafe(logprobs: Any) -> float | None:
    """P(first answer token is "unsafe") from OpenAI chat or completions logprobs, if present."""
    steps: list[tuple[str, float, dict[str, float]]] = []
    try:
        if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):  # chat
            for item in logprobs["content"]:
                top = {t["token"]: t["logprob"] for t in item.get("top_logprobs") or []}
                steps.append((item["token"], item["logprob"], top))
        elif isinstance(logprobs, dict) and isinstance(logprobs.get("tokens"), list):  # completions
            tops = logprobs.get("top_logprobs") or [{}] * len(logprobs["tokens"])
            for token, lp, top in zip(logprobs["tokens"], logprobs["token_logprobs"], tops):
                steps.append((token, lp, dict(top or {})))
    except (KeyError, TypeError):
        return None
    for token, lp, top in steps:
        if not token.strip():
            continue  # Llama Guard 4 writes "\n\n" before its answer
        if token.strip().lower() == "unsafe":
            return math.exp(lp)
        for alt, alt_lp in top.items():
            if alt.strip().lower() == "unsafe":
                return math.exp(alt_lp)
        return 1.0 - math.exp(lp) if token.strip().lower() == "safe" else None
    return None


__all__ = ["SafetyModelConfig", "SafetyModelError", "SafetyModelFilter", "conversation_turns"]
