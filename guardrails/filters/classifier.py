"""``classifier``: any transformers sequence-classification model (prompt injection, jailbreak, ...).

    - filter: classifier
      model: meta-llama/Llama-Prompt-Guard-2-86M     # hub id or local folder
      labels: {LABEL_1: jailbreak}                   # model label -> category; others are ignored
      threshold: 0.8

    - filter: classifier
      endpoint: http://tei:8080                      # the same model served by Text Embeddings Inference
      labels: {LABEL_1: jailbreak}

Long inputs are scored in overlapping chunks (never truncated); a category's score is its
highest chunk score, and its span is that chunk. Model labels mapped to the same category add
up for softmax models (the probability of any of them); multi-label models take the highest.
With ``endpoint:`` the model runs on a TEI server (guardrails.runtime.remote_classifier): chunks
are then cut by characters, and a chunk the server finds too long is halved, never truncated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from guardrails.categories import CATEGORY_SETTING_SCHEMA, CategoryRule, action_override, parse_categories
from guardrails.errors import FilterLoadError
from guardrails.filter_config import http_base_url
from guardrails.runtime import ModelSpec, is_offline, resolve_model
from guardrails.filters.encoder import EncoderFilter, ModelFilterConfig
from guardrails.runtime.options import local_model_key
from guardrails.runtime.resolve import FOREIGN_WEIGHTS
from guardrails.thresholds import Threshold
from guardrails.types import Context, FilterResult


class ClassifierConfig(ModelFilterConfig):
    model: str | None = Field(None, description="Hub id (org/name) or local folder of a sequence-classification model (run in this process).")
    endpoint: str | None = Field(
        None, description="Base URL of a Hugging Face Text Embeddings Inference server serving the classifier (POST /predict); "
                          "instead of model:."
    )
    api_key: SecretStr | None = Field(None, description="Bearer token for the endpoint, e.g. ${TEI_API_KEY}.")
    request_timeout_ms: int = Field(10_000, ge=1, description="Timeout of one request to the endpoint.")
    retries: int = Field(2, ge=0, le=10, description="Retries of a request that failed to connect or got 429/5xx.")
    chunk_chars: int = Field(1500, ge=16, description="Characters per chunk sent to the endpoint (halved when the server finds one too long).")
    revision: str | None = Field(None, description="Hub revision (commit sha, tag or branch) to pin.")
    labels: dict[str, str] = Field(
        description="Model label (name or index) -> category; use the standard names (prompt_injection, jailbreak, "
                    "toxicity, self_harm, ...: `guardrails policy schema`) so policies mean the same for every filter; "
                    "unmapped labels are ignored."
    )
    categories: dict[str, CategoryRule] = Field(
        {}, description="Per-category threshold, off, or {threshold, action: block|flag|respond|off}, as for builtin.",
        json_schema_extra={"additionalProperties": CATEGORY_SETTING_SCHEMA},
    )
    thresholds: dict[str, Threshold] = Field({}, description="Per-category thresholds (the short form of categories).")

    @field_validator("categories", mode="before")
    @classmethod
    def _category_rules(cls, value: Any, info: ValidationInfo) -> Any:
        if not value:
            return {}
        known = set((info.data.get("labels") or {}).values())
        return parse_categories(value, known, what="category of the label map")

    def respond_categories(self) -> tuple[str, ...]:
        return tuple(c for c, r in self.categories.items() if r.action == "respond")

    @field_validator("model")
    @classmethod
    def _local_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else local_model_key(value, info)

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_base_url(value)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if not value:
                raise ValueError("expected at least one 'model_label: category' entry")
            return {str(k): v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_backend(self) -> "ClassifierConfig":
        if (self.model is None) == (self.endpoint is None):
            raise ValueError("set exactly one of 'model' (run in this process) or 'endpoint' (a Text Embeddings Inference server)")
        if self.endpoint is not None and self.onnx:
            raise ValueError("onnx: applies to a model run in this process, not to an endpoint")
        return self

    @model_validator(mode="after")
    def _thresholds_name_categories(self) -> "ClassifierConfig":
        unknown = sorted(set(self.thresholds) - set(self.labels.values()))
        if unknown:
            raise ValueError(f"thresholds: unknown category {unknown[0]!r}; categories: {', '.join(sorted(set(self.labels.values())))}")
        return self


class ClassifierFilter(EncoderFilter):
    """Scores text with a transformers sequence classifier and maps its labels to categories."""

    name = "classifier"
    Config = ClassifierConfig
    cost = 2
    actions = frozenset({"block", "flag"})
    config: ClassifierConfig

    def load(self) -> None:
        cfg = self.config
        if cfg.endpoint is not None:
            self._load_remote(cfg.endpoint)
            return
        from guardrails.runtime.encoder import load_hf_classifier, shared_scorer

        assert cfg.model is not None  # one of model / endpoint (validated)
        path = resolve_model(cfg.model, offline=is_offline(cfg.offline), revision=cfg.revision, ignore_patterns=FOREIGN_WEIGHTS)
        classifier = load_hf_classifier(path, onnx=cfg.onnx)
        self._index = _label_index(cfg.labels, classifier.labels, cfg.model)
        self._multi_label = classifier.multi_label
        self._scorer = shared_scorer(classifier, max_batch=cfg.max_batch, max_wait_ms=cfg.batch_wait_ms)
        if cfg.chunk_tokens is not None and cfg.chunk_tokens > classifier.window:
            raise FilterLoadError(f"chunk_tokens: {cfg.chunk_tokens} exceeds the model's window of {classifier.window} tokens")

    def _load_remote(self, endpoint: str) -> None:
        from guardrails.runtime.remote_classifier import RemoteClassifier

        cfg = self.config
        remote = RemoteClassifier(endpoint, api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
                                  request_timeout_s=cfg.request_timeout_ms / 1000, retries=cfg.retries, chunk_chars=cfg.chunk_chars,
                                  overlap_chars=cfg.chunk_chars // 10)
        remote.load()
        names = {label.lower() for label in remote.labels}
        unknown = [key for key in cfg.labels if key.lower() not in names]
        if unknown:  # by name only: the server reports names, and its label order is not the model's
            raise FilterLoadError(f"labels: the endpoint has no label {unknown[0]!r}; its labels: {', '.join(remote.labels)}")
        self._index = _label_index(cfg.labels, remote.labels, endpoint)
        self._multi_label = remote.multi_label
        self._scorer = remote

    def roles(self) -> frozenset[str]:
        """An injection / jailbreak classifier reads user and tool messages unless ``roles`` says otherwise
        (system prompts and the model's own turns are not attacks on it); any other, every role."""
        if self.config.roles is None and set(self.config.labels.values()) <= {"prompt_injection", "jailbreak"}:
            return frozenset({"user", "tool"})
        return super().roles()

    def threshold_for(self, category: str, ctx: Context) -> float:
        rule = self.config.categories.get(category)
        if rule is not None and rule.threshold is not None:
            return rule.threshold
        return super().threshold_for(category, ctx)

    def action_for(self, category: str, ctx: Context) -> str | None:
        rule = self.config.categories.get(category)
        return action_override(rule) if rule is not None else None

    def _result(self, scores: Any) -> FilterResult:
        findings = []
        out: dict[str, float] = {}
        for category, columns in self._index.items():
            picked = scores.probs[:, columns]
            per_chunk = picked.max(axis=1) if self._multi_label else picked.sum(axis=1)
            worst = int(np.argmax(per_chunk))
            score = min(1.0, float(per_chunk[worst]))
            out[category] = score
            rule = self.config.categories.get(category)
            if rule is not None and rule.off:
                continue
            threshold = rule.threshold if rule is not None and rule.threshold is not None else None
            if threshold is None:
                threshold = self.config.thresholds.get(category, self.threshold)
            if score >= threshold:
                findings.append(self._chunk_finding(scores, worst, category, score))
        return FilterResult(tuple(findings), out)

    def model_specs(self) -> list[ModelSpec]:
        """The model to prefetch for in-process use (none for an endpoint)."""
        if self.config.model is None:
            return []
        return [ModelSpec(self.config.model, self.config.revision, note="sequence classifier")]

    def required_models(self) -> list[str]:
        return [s.key for s in self.model_specs()]


def _label_index(mapping: dict[str, str], model_labels: tuple[str, ...], model: str) -> dict[str, list[int]]:
    """category -> column indices of the model labels mapped to it (names, any case, or indices)."""
    by_name = {label.lower(): i for i, label in enumerate(model_labels)}
    index: dict[str, list[int]] = {}
    for key, category in mapping.items():
        i = by_name.get(key.lower())
        if i is None and key.isdigit() and int(key) < len(model_labels):
            i = int(key)
        if i is None:
            raise FilterLoadError(f"labels: model {model!r} has no label {key!r}; its labels: {', '.join(model_labels)}")
        index.setdefault(category, []).append(i)
    return index
