"""Sidecar server configuration: apps, their keys, policies, upstreams, block styles and limits.

```yaml
version: 1
upstream: http://127.0.0.1:8000/v1          # default upstream (OpenAI-compatible base URL)
trusted_keys: keys/                         # optional: policies must be signed by one of these *.pub keys
apps:
  support:
    policy: policies/support.yaml            # file (relative to this file) or built-in name
    keys: [{env: SUPPORT_KEY}, {file: /run/secrets/support.keys}]
    block_style: refusal                     # refusal (200, finish_reason content_filter) | error
    limits: {max_tokens: 1024, max_concurrency: 32}
```

Keys never appear in this object's repr, in errors or in logs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from guardrails._yaml import Path_, expected_text, format_path, hide_values, load_located
from guardrails.errors import GuardrailsError, PolicyError


class ServerConfigError(GuardrailsError):
    """The server configuration is invalid; each line names ``file:line: key: what was expected``."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class KeySource(BaseModel):
    """Where an app's API keys come from: an environment variable, or a file with one key a line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(None, description="Name of an environment variable holding one key.")
    file: str | None = Field(None, description="Path of a file with one key per line ('#' starts a comment).")

    @model_validator(mode="after")
    def _exactly_one(self) -> "KeySource":
        if (self.env is None) == (self.file is None):
            raise ValueError("expected exactly one of 'env' or 'file'")
        return self


class Limits(BaseModel):
    """Per-app bounds on what a request may ask for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(1_048_576, gt=0, description="Largest accepted request body.")
    max_tokens: int | None = Field(None, gt=0, description="Cap on max_tokens; set on requests that give none.")
    max_concurrency: int | None = Field(None, gt=0, description="Concurrent requests of this app; more get 429.")
    timeout_s: float = Field(120.0, gt=0, description="Upstream time limit for one request (whole answer).")
    max_messages: int = Field(500, gt=0, description="Most chat messages (or prompts) in one request; more get 413.")
    max_check_chars: int = Field(
        200_000, gt=0, description="Most characters of text one request may submit for checking; more get 413."
    )
    max_response_bytes: int = Field(8_388_608, gt=0, description="Largest non-streamed upstream answer; larger: 502.")
    max_event_bytes: int = Field(
        1_048_576, gt=0, description="Largest single line or event of an upstream stream; larger: an error event."
    )


class AppConfig(BaseModel):
    """One application: its policy, keys, upstream, block style and limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = Field("default", description="Policy file (relative to the config file) or built-in name.")
    keys: tuple[KeySource, ...] = Field((), description="API key sources; clients send 'Authorization: Bearer KEY'.")
    upstream: str | None = Field(None, description="Overrides the server's upstream for this app.")
    block_style: Literal["refusal", "error"] = Field(
        "refusal", description="refusal: 200 with the policy refusal and finish_reason content_filter; error: 400."
    )
    limits: Limits = Field(default_factory=Limits)  # type: ignore[arg-type]
    # Policies that travel with the weights (guardrails.bundled): `guardrails serve --model` sets these.
    model: str | None = Field(None, description="Model folder or hub id the app's policy is loaded for: its own "
                              "guardrails.yaml applies (policy: model runs it alone; extends: model builds on it) and "
                              "the weight pins are checked against its files. A relative path is relative to this "
                              "file when that folder exists there, else a hub id.")
    model_policy: Literal["stack", "refuse", "ignore"] | None = Field(
        None, description="When the policy does not extend the model's guardrails.yaml: stack (default: both run), "
                          "refuse (the app does not start) or ignore (the app policy alone)."
    )

    @field_validator("upstream")
    @classmethod
    def _upstream_url(cls, value: str | None) -> str | None:
        return None if value is None else normalize_upstream(value)


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field("-", description="'-' for stdout, 'off' to disable, or a file to append JSON lines to.")


class UpstreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0, description="Longest wait for the next bytes (first token, next chunk).")
    max_connections: int = Field(256, gt=0)
    api_key: KeySource | None = Field(None, description="Key the sidecar sends upstream (clients' keys never are).")
    transport: Literal["fast", "httpx"] = Field(
        "fast", description="fast: lean keep-alive HTTP/1.1 for http:// upstreams; httpx: httpx's own stack for everything."
    )


class Timeouts(BaseModel):
    """How long a client connection may take to send a request, and stay open idle."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headers_s: float = Field(10.0, gt=0, description="From a request's first byte to the end of its headers; then 408.")
    body_s: float = Field(30.0, gt=0, description="From the end of a request's headers to the end of its body; then 408.")
    idle_s: float = Field(5.0, gt=0, description="A connection with no request in progress is closed after this.")


class ServerConfig(BaseModel):
    """The whole sidecar configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    upstream: str | None = Field(None, description="Default OpenAI-compatible upstream base URL, e.g. http://vllm:8000/v1.")
    upstream_options: UpstreamOptions = Field(default_factory=UpstreamOptions)  # type: ignore[arg-type]
    apps: dict[str, AppConfig] = Field(min_length=1)
    audit: AuditConfig = Field(default_factory=AuditConfig)  # type: ignore[arg-type]
    reload_interval_s: float = Field(1.0, ge=0, description="Policy file polling interval; 0 disables (SIGHUP still reloads).")
    stream_hold_chars: int | None = Field(None, ge=0, le=65536, description="Characters of a streamed answer held back "
                                          "until checked, for every app; default: each app policy's stream.hold_chars (48).")
    stream_check_every: int | None = Field(None, ge=1, le=65536, description="Re-check a streamed answer every this many "
                                           "new characters, for every app; default: the policy's stream.check_every (32).")
    timeouts: Timeouts = Field(default_factory=Timeouts)  # type: ignore[arg-type]
    max_heavy_checks: int = Field(
        2, ge=1, description="Checks of large inputs running at once (in worker threads); more wait their turn."
    )
    allow_plugins: bool | list[str] = Field(
        False, description="module:Class filters in policies import and run code: true allows any, a list allows "
                           "modules starting with these names; default: none (entry-point filters are always allowed)."
    )
    trusted_keys: str | None = Field(
        None, description="Folder of trusted public keys (*.pub, relative to this file): every policy file must then "
                          "carry a valid signature (FILE.sig) by one of them, at start and on reload; built-in "
                          "policies need none. Default: signatures are not checked."
    )

    @field_validator("upstream")
    @classmethod
    def _upstream_url(cls, value: str | None) -> str | None:
        return None if value is None else normalize_upstream(value)

    @model_validator(mode="after")
    def _every_app_has_upstream(self) -> "ServerConfig":
        if self.upstream is None:
            missing = [name for name, app in self.apps.items() if app.upstream is None]
            if missing:
                raise ValueError(f"no upstream for app(s) {', '.join(missing)}: set 'upstream' at the top level or per app")
        keyless = [name for name, app in self.apps.items() if not app.keys]
        if keyless and len(self.apps) > 1:
            raise ValueError(f"app(s) {', '.join(keyless)} have no keys: with several apps, each needs 'keys'")
        return self


def normalize_upstream(url: str) -> str:
    """``http://h:8000`` -> ``http://h:8000/v1``; a URL with a path is kept (minus a trailing slash)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http(s) URL such as http://127.0.0.1:8000/v1, got {url!r}")
    url = url.rstrip("/")
    return url + "/v1" if parts.path in ("", "/") else url


@dataclass
class LoadedServerConfig:
    """A validated config plus what was read from elsewhere: resolved keys and policy paths."""

    config: ServerConfig
    # sha256(key) -> app name; the keys themselves are not kept.
    key_hashes: dict[str, str] = field(default_factory=dict, repr=False)
    upstream_api_key: str | None = field(default=None, repr=False)
    policies: dict[str, str] = field(default_factory=dict)  # app -> file path or built-in name
    source: str = "<config>"
    policy_locations: dict[str, str] = field(default_factory=dict)  # app -> "file:line: apps.X.policy"

    @property
    def open_app(self) -> str | None:
        """The app every request goes to when no keys are configured at all (single-app mode)."""
        if not self.key_hashes and len(self.config.apps) == 1:
            return next(iter(self.config.apps))
        return None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def load_server_config(path: str | Path) -> LoadedServerConfig:
    """Read and validate a server YAML file; errors name file, line and key, and list every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServerConfigError(f"{path}: cannot read server config: {exc}") from None
    source = str(path)
    try:
        located = load_located(text, source)
    except PolicyError as exc:
        raise ServerConfigError(exc.problems) from None
    data = located.data
    if not isinstance(data, dict):
        raise ServerConfigError(f"{source}:1: (top level): expected a mapping with 'apps', got {type(data).__name__}")
    where = {p: f"{source}:{line}" for p, line in located.lines.items()}
    env_values = [v for values in located.env_values.values() for v in values]
    try:
        return build_server_config(data, where=where, source=source, base_dir=path.resolve().parent)
    except ServerConfigError as exc:
        raise ServerConfigError([hide_values(p, env_values) for p in exc.problems]) from None


def build_server_config(
    data: dict[str, Any], *, where: dict[Path_, str] | None = None, source: str = "<config>", base_dir: Path | None = None
) -> LoadedServerConfig:
    """Validate config data (already parsed) and resolve keys and policy paths."""
    where = where or {}
    base_dir = base_dir or Path.cwd()

    def locate(p: Path_) -> str:
        while p and p not in where:
            p = p[:-1]
        return where.get(p, source)

    try:
        config = ServerConfig.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            if "keys" in loc or "api_key" in loc:
                # A key written inline must not reach the logs.
                expected = "expected {env: VAR} or {file: PATH} (keys are never written in this file)"
                errors.append(f"{locate(loc)}: {format_path(loc)}: {expected}")
                continue
            errors.append(f"{locate(loc)}: {format_path(loc)}: {expected_text(err)}")
        raise ServerConfigError(errors) from None
    problems: list[str] = []
    key_hashes: dict[str, str] = {}
    policies: dict[str, str] = {}
    locations: dict[str, str] = {}
    for name, app in config.apps.items():
        for i, ks in enumerate(app.keys):
            loc = ("apps", name, "keys", i)
            for key in _read_keys(ks, base_dir, f"{locate(loc)}: {format_path(loc)}", problems):
                h = hash_key(key)
                if h in key_hashes and key_hashes[h] != name:
                    problems.append(f"{locate(loc)}: {format_path(loc)}: the same key is also given to app {key_hashes[h]!r}")
                key_hashes[h] = name
        policies[name] = _policy_ref(app.policy, base_dir)
        locations[name] = f"{locate(('apps', name, 'policy'))}: {format_path(('apps', name, 'policy'))}"
    # A model folder relative to the config file, like policy paths (anything else: a hub id or a path as given).
    models = {name: (base_dir / app.model).resolve() for name, app in config.apps.items()
              if app.model is not None and not Path(app.model).is_absolute() and (base_dir / app.model).is_dir()}
    if models:
        config = config.model_copy(update={"apps": {name: app.model_copy(update={"model": str(models[name])}) if name in models
                                                    else app for name, app in config.apps.items()}})
    upstream_key = None
    if config.upstream_options.api_key is not None:
        loc = ("upstream_options", "api_key")
        found = _read_keys(config.upstream_options.api_key, base_dir, f"{locate(loc)}: {format_path(loc)}", problems)
        upstream_key = found[0] if found else None
    if config.trusted_keys is not None:  # relative to the config file, like policy paths
        keys = Path(config.trusted_keys).expanduser()
        config = config.model_copy(update={"trusted_keys": str(keys if keys.is_absolute() else (base_dir / keys).resolve())})
    if problems:
        raise ServerConfigError(problems)
    return LoadedServerConfig(config, key_hashes, upstream_key, policies, source, locations)


def single_app_config(
    *,
    upstream: str,
    policy: str = "default",
    host: str = "127.0.0.1",
    port: int = 8080,
    key_env: str | None = None,
    block_style: str = "refusal",
    audit: str = "-",
    name: str = "default",
    model: str | None = None,
    model_policy: str | None = None,
) -> LoadedServerConfig:
    """The config ``guardrails serve --upstream URL --policy P`` builds: one app, keys optional."""
    app: dict[str, Any] = {"policy": policy, "block_style": block_style}
    if key_env:
        app["keys"] = [{"env": key_env}]
    if model is not None:  # serve --model: the policy is loaded for that model (guardrails.bundled)
        app.update(model=model, model_policy=model_policy)
    data = {"upstream": upstream, "host": host, "port": port, "apps": {name: app}, "audit": {"path": audit}}
    where: dict[Path_, str] = {("upstream",): "--upstream", ("apps", name, "policy"): "--policy", ("port",): "--port",
                               ("apps", name, "keys"): "--api-key-env", ("apps", name, "block_style"): "--block-style"}
    return build_server_config(data, where=where, source="command line")


def _policy_ref(policy: str, base_dir: Path) -> str:
    looks_like_name = "/" not in policy and "\\" not in policy and not policy.endswith((".yaml", ".yml"))
    if looks_like_name:
        return policy
    path = Path(policy).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def _read_keys(ks: KeySource, base_dir: Path, where: str, problems: list[str]) -> list[str]:
    if ks.env is not None:
        value = os.environ.get(ks.env, "").strip()
        if not value:
            problems.append(f"{where}.env: environment variable {ks.env} is not set or empty")
            return []
        return [value]
    assert ks.file is not None  # enforced by KeySource
    path = Path(ks.file).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{where}.file: cannot read key file {str(path)!r} ({type(exc).__name__})")
        return []
    keys = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not keys:
        problems.append(f"{where}.file: key file {str(path)!r} holds no keys")
    return keys


