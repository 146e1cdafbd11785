"""``toxicity``: Detoxify models (original, unbiased, multilingual) with per-category thresholds.

    - filter: toxicity
      model: original                 # original | unbiased | multilingual | a checkpoint file
      thresholds: {threat: 0.3}       # others use threshold (default 0.5)

Checkpoints are Detoxify's own format: ``{"config": {"arch": {"args": {model_type, model_name,
tokenizer_name, num_classes}}, "dataset": {"args": {"classes": [...]}}}, "state_dict": ...}``.
The named variants are the official release files; they load from the torch hub cache
(``$TORCH_HOME/hub/checkpoints``), downloading there unless offline. Offline, set ``model:`` to a
checkpoint file and ``config_dir:`` to a folder with the base model's config.json and tokenizer
files (or keep them in the Hugging Face cache). Checkpoints are pickles (``torch.load`` with
``weights_only=False``): only load files you trust, as you would run their code.
Unlike ``Detoxify.predict``, long texts are scored in overlapping chunks, never truncated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from guardrails.errors import FilterLoadError
from guardrails.runtime import ModelNotFound, ModelSpec, is_offline, resolve_model, shared_model
from guardrails.filters.encoder import EncoderFilter, ModelFilterConfig
from guardrails.runtime.options import local_model_key
from guardrails.thresholds import Threshold
from guardrails.types import FilterResult

_RELEASES = "https://github.com/unitaryai/detoxify/releases/download/"
# variant -> (official checkpoint URL, base model whose config and tokenizer it uses)
VARIANTS: dict[str, tuple[str, str]] = {
    "original": (_RELEASES + "v0.1-alpha/toxic_original-c1212f89.ckpt", "bert-base-uncased"),
    "unbiased": (_RELEASES + "v0.3-alpha/toxic_debiased-c7548aa0.ckpt", "roberta-base"),
    "multilingual": (_RELEASES + "v0.4-alpha/multilingual_debiased-0b549669.ckpt", "xlm-roberta-base"),
    "original-small": (_RELEASES + "v0.1.2/original-albert-0e1d6498.ckpt", "albert-base-v2"),
    "unbiased-small": (_RELEASES + "v0.1.2/unbiased-albert-c8519128.ckpt", "albert-base-v2"),
}
CATEGORIES = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack", "sexual_explicit")
# Detoxify's own renaming of the Jigsaw class names.
_RENAME = {"toxic": "toxicity", "identity_hate": "identity_attack", "severe_toxic": "severe_toxicity"}
CONFIG_FILES = ("*.json", "*.txt", "*.model")


class ToxicityConfig(ModelFilterConfig):
    model: str = Field("original", description="original | unbiased | multilingual | original-small | unbiased-small | a checkpoint file.")
    config_dir: str | None = Field(None, description="Folder with the base model's config.json and tokenizer files (offline use).")
    thresholds: dict[str, Threshold] = Field({}, description="Per-category thresholds; others use threshold.")
    categories: list[str] = Field(list(CATEGORIES), description="Categories that can be violations.")

    @field_validator("model", "config_dir")
    @classmethod
    def _local_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or value in VARIANTS:
            return value
        return local_model_key(value, info)

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        for category in value:
            if category not in CATEGORIES:
                raise ValueError(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown category {unknown[0]!r}; known: {', '.join(CATEGORIES)}")
        return value


class ToxicityFilter(EncoderFilter):
    """Detoxify toxicity scores per category, each against its own threshold."""

    name = "toxicity"
    Config = ToxicityConfig
    cost = 2
    actions = frozenset({"block", "flag"})
    config: ToxicityConfig

    def load(self) -> None:
        from guardrails.runtime.encoder import shared_scorer

        cfg = self.config
        offline = is_offline(cfg.offline)
        checkpoint = _checkpoint_path(cfg.model, offline)
        key = ("detoxify", str(checkpoint), cfg.config_dir, cfg.onnx)
        classifier = shared_model(key, lambda: load_checkpoint(checkpoint, config_dir=cfg.config_dir, offline=offline, onnx=cfg.onnx))
        self._columns = {c: i for i, c in enumerate(classifier.labels) if c in cfg.categories}
        self._all = {c: i for i, c in enumerate(classifier.labels) if c in CATEGORIES}
        self._scorer = shared_scorer(classifier, max_batch=cfg.max_batch, max_wait_ms=cfg.batch_wait_ms)

    def _result(self, scores: Any) -> FilterResult:
        out = {c: float(scores.probs[:, i].max()) for c, i in self._all.items()}
        findings = []
        for category, i in self._columns.items():
            worst = int(scores.probs[:, i].argmax())
            score = out[category]
            if score >= self.config.thresholds.get(category, self.threshold):
                findings.append(self._chunk_finding(scores, worst, category, score))
        return FilterResult(tuple(findings), out)

    def model_specs(self) -> list[ModelSpec]:
        cfg = self.config
        specs = []
        if cfg.model in VARIANTS:
            url, base = VARIANTS[cfg.model]
            specs.append(ModelSpec(url, note=f"Detoxify {cfg.model} checkpoint"))
            if cfg.config_dir is None:
                specs.append(ModelSpec(base, allow_patterns=CONFIG_FILES, note="its config and tokenizer"))
        else:
            specs.append(ModelSpec(cfg.model, note="Detoxify checkpoint"))
        if cfg.config_dir is not None:
            specs.append(ModelSpec(cfg.config_dir, note="config and tokenizer"))
        return specs

    def required_models(self) -> list[str]:
        return [s.key for s in self.model_specs()]


def _checkpoint_path(model: str, offline: bool) -> Path:
    if model not in VARIANTS:
        path = Path(model).expanduser()
        if not path.is_file():
            raise FilterLoadError(f"toxicity: checkpoint file {model!r} not found (model: takes {', '.join(VARIANTS)} or a checkpoint file)")
        return path.resolve()
    url = VARIANTS[model][0]
    try:
        return resolve_model(url, offline=offline)
    except ModelNotFound as exc:
        raise FilterLoadError(
            f"toxicity: the Detoxify {model!r} checkpoint is not available ({exc}). "
            f"Download {url} into the torch hub cache ('guardrails models prefetch POLICY' does it), or set model: "
            f"to a local checkpoint file and config_dir: to a folder with its config.json and tokenizer files"
        ) from None


def load_checkpoint(path: Path, *, config_dir: str | None = None, offline: bool = False, onnx: bool = False) -> Any:
    """Load a Detoxify-format checkpoint as a multi-label SequenceClassifier (trusted files only: a pickle)."""
    try:
        import torch
        import transformers
        from transformers import AutoTokenizer
    except ImportError:
        raise FilterLoadError("toxicity needs torch and transformers: pip install 'openweights-guardrails[models]'") from None
    from guardrails.runtime.encoder import from_torch_model

    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=False)
        args = loaded["config"]["arch"]["args"]
        classes = [_RENAME.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
        state_dict = loaded["state_dict"]
        model_type, model_name, num_classes = str(args["model_type"]), str(args["model_name"]), int(args["num_classes"])
    except (KeyError, TypeError) as exc:
        raise FilterLoadError(f"toxicity: {path.name} is not a Detoxify checkpoint (missing {exc})") from None
    except Exception as exc:  # noqa: BLE001 - unreadable or foreign file
        raise FilterLoadError(f"toxicity: cannot read checkpoint {path.name}: {type(exc).__name__}") from None
    model_class: Any = getattr(transformers, model_name, None)
    if not hasattr(model_class, "config_class") or not model_name.endswith("ForSequenceClassification"):
        raise FilterLoadError(f"toxicity: {path.name}: model_name {model_name!r} is not a transformers sequence classifier")
    if len(classes) != num_classes:
        raise FilterLoadError(f"toxicity: {path.name}: {len(classes)} classes but num_classes is {num_classes}")
    if config_dir is not None:
        source = Path(config_dir)
        if not (source / "config.json").is_file():
            raise FilterLoadError(f"toxicity: config_dir {config_dir!r} has no config.json")
    else:
        try:
            source = resolve_model(model_type, offline=offline, allow_patterns=list(CONFIG_FILES))
        except ModelNotFound as exc:
            raise FilterLoadError(
                f"toxicity: {path.name} needs the config and tokenizer of {model_type!r} ({exc}); "
                f"set config_dir: to a folder holding its config.json and tokenizer files"
            ) from None
    try:
        config = model_class.config_class.from_pretrained(str(source), num_labels=num_classes)
        model = model_class.from_pretrained(None, config=config, state_dict=state_dict)
        tokenizer = AutoTokenizer.from_pretrained(str(source))
    except Exception as exc:  # noqa: BLE001
        raise FilterLoadError(f"toxicity: cannot build {model_name} from {path.name}: {type(exc).__name__}: {exc}") from None
    return from_torch_model(model, tokenizer, classes, multi_label=True, onnx=onnx, source=path, name=f"detoxify-{path.stem}")
