"""Runtime helpers of the model filters' policy keys (the filters themselves live in
``guardrails.filters``; the runtime never imports them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationInfo


def local_model_key(value: str, info: ValidationInfo) -> str:
    """Make a model path relative to the policy file absolute; leave hub ids and variant names alone."""
    base = (info.context or {}).get("policy_dir")
    path = Path(value).expanduser()
    if path.is_absolute() or base is None:
        return value
    candidate = Path(base) / path
    if candidate.exists() or value.startswith(("./", "../")):
        return str(candidate.resolve())
    return value
