"""``secrets``: API keys and tokens of common providers, private keys, and high-entropy strings."""

from __future__ import annotations

import math
import re
from collections import Counter

from pydantic import Field, field_validator

from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import Context, FilterResult, Finding, Span

# kind -> pattern. Prefixes are the providers' documented token formats.
KNOWN: dict[str, str] = {
    "private_key": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)",
    "aws_access_key_id": r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
    "aws_secret_access_key": r"(?i:aws.{0,20}?(?:secret|key).{0,20}?[=:\"'\s]\s*)[A-Za-z0-9/+]{40}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{82})\b",
    "gitlab_token": r"\bglpat-[A-Za-z0-9_\-]{20,}\b",
    "slack_token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b",
    "slack_webhook": r"https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+",
    "stripe_key": r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b",
    "google_api_key": r"\bAIza[0-9A-Za-z_\-]{35}\b",
    "openai_api_key": r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}\b|\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}\b",
    "anthropic_api_key": r"\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}\b",
    "huggingface_token": r"\bhf_[A-Za-z0-9]{34,}\b",
    "npm_token": r"\bnpm_[A-Za-z0-9]{36}\b",
    "pypi_token": r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}\b",
    "sendgrid_key": r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b",
    "twilio_key": r"\bSK[0-9a-fA-F]{32}\b",
    "azure_storage_key": r"AccountKey=[A-Za-z0-9+/=]{80,}",
    "jwt": r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\b",
    "basic_auth_url": r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:[^\s:/@]+@[^\s/]+",
}
ENTROPY_KIND = "high_entropy"
ALL_KINDS = (*KNOWN, ENTROPY_KIND)

_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{24,}={0,2}(?![A-Za-z0-9+/_\-])")
_HEX = re.compile(r"[0-9a-fA-F]+")


def shannon_entropy(s: str) -> float:
    counts = Counter(s)
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random(token: str) -> bool:
    """A long token with letters and digits whose characters are close to uniformly random."""
    if not (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)):
        return False
    if "/" in token and token.count("/") >= 2 and not any(c.isdigit() for c in token.split("/")[-1]):
        return False  # a path
    body = token.rstrip("=")
    if _HEX.fullmatch(body):
        return len(body) >= 32 and shannon_entropy(body) >= 3.0
    return shannon_entropy(body) >= 4.2 and sum(c.isupper() for c in body) >= 2 and sum(c.islower() for c in body) >= 2


class SecretsConfig(FilterConfig):
    action: str = "redact"
    kinds: list[str] = Field(list(ALL_KINDS), description="Which kinds to look for; default: all known kinds.")

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = [k for k in kinds if k not in ALL_KINDS]
        if unknown:
            raise ValueError(f"unknown secret kind {unknown[0]!r}; known: {', '.join(ALL_KINDS)}")
        return kinds


class SecretsFilter(BaseFilter):
    """Finds credentials by provider format, private key blocks, and random-looking tokens."""

    name = "secrets"
    Config = SecretsConfig
    cost = 0

    def __init__(self, config: SecretsConfig) -> None:
        super().__init__(config)
        self.config: SecretsConfig = config
        # ASCII word boundaries: a token written right next to CJK text (no space between) still matches.
        self._patterns = [(k, re.compile(p, re.ASCII)) for k, p in KNOWN.items() if k in config.kinds]
        self._entropy = ENTROPY_KIND in config.kinds

    def cacheable(self, ctx: Context) -> bool:
        return True  # a pure function of the text

    def check(self, text: str, ctx: Context) -> FilterResult:
        found: dict[str, list[Span]] = {}
        taken: list[tuple[int, int]] = []
        for kind, pattern in self._patterns:
            for m in pattern.finditer(text):
                found.setdefault(kind, []).append(Span(m.start(), m.end(), kind.upper()))
                taken.append((m.start(), m.end()))
        if self._entropy:
            for m in _CANDIDATE.finditer(text):
                if any(s <= m.start() < e or s < m.end() <= e for s, e in taken):
                    continue
                if _looks_random(m.group()):
                    found.setdefault(ENTROPY_KIND, []).append(Span(m.start(), m.end(), "SECRET"))
        findings = tuple(Finding(kind, 1.0, tuple(spans)) for kind, spans in found.items())
        return FilterResult(findings, {kind: 1.0 for kind in found} or {"secret": 0.0})
