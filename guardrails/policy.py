"""Policy files: schema, loading with located errors, ``extends`` merging, hashing, JSON Schema."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal, Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator

from guardrails._yaml import MAX_FILE_BYTES, Located, Path_, expected_text, format_path, hide_values, interpolate_plain, load_located
from guardrails.errors import FilterLoadError, PolicyError
from guardrails.filter_config import FilterConfig
from guardrails.model_parent import MODEL_PARENT, model_policy_file
from guardrails.policy_locks import LockableKey, after_merge
from guardrails.policy_sources import sources_of
from guardrails.signing import TrustedKeys, check_read, verifying
from guardrails.taxonomy import CATEGORIES, DESCRIPTIONS
from guardrails.weights_pin import WeightsPin

POLICY_PATH_ENV = "GUARDRAILS_POLICY_PATH"
BUILTIN_DIR = Path(__file__).parent / "policies"
DEFAULT_REFUSAL = "I can't help with that request."
STAGES = ("input", "output")
PLUGIN_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"  # package.module:ClassName


class FilterCatalog(Protocol):
    """Where a policy finds its filters' classes: ``resolve(name)`` returns a filter class (its ``Config``
    model and the ``actions`` it supports are read), ``available()`` the registered names.

    The policy layer sits below the filters and the registry, so it imports neither: the engine hands it
    ``guardrails.registry`` (``use_filter_catalog``) when it is imported, which ``import guardrails`` does.
    """

    def resolve(self, name: str) -> Any: ...

    def available(self) -> list[str]: ...


_catalog: FilterCatalog | None = None


def use_filter_catalog(catalog: FilterCatalog) -> None:
    """Set where policies find filter classes (``guardrails.engine`` sets ``guardrails.registry``)."""
    global _catalog
    _catalog = catalog


def _filters() -> FilterCatalog:
    if _catalog is None:
        raise FilterLoadError("no filter registry is set: import guardrails (or guardrails.engine) before loading a policy")
    return _catalog


class StreamSettings(BaseModel):
    """``stream:``: how a streamed answer is checked (``guardrails.streaming.OutputStream``; the wrapped
    ``generate`` and the sidecar's SSE both use it). Leak bound: a violation whose filter flags it once its
    first ``D`` characters are written reaches the client with at most ``max(0, D - hold_chars - 1)`` of
    its characters (none when ``D <= hold_chars + 1``), whatever ``check_every`` and ``model_every``, as
    long as ``D <= hold_chars + context_chars + 1``; a longer one is caught by the final check only.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    hold_chars: int = Field(default=48, ge=0, le=65536, description="Characters of the answer held back until a check that "
                            "ran every filter read them: the leak bound and the time-to-first-token cost.")
    check_every: int = Field(default=32, ge=1, le=65536, description="Check the answer every this many new characters "
                             "(and at sentence ends); pattern-cost filters run at every check.")
    model_every: int = Field(default=256, ge=1, le=65536, description="Model filters (cost 2) run every this many new "
                             "characters (and at sentence ends); text is released only after they read it.")
    context_chars: int = Field(default=256, ge=0, le=65536, description="Released text an intermediate check reads again "
                               "before the held text: violations up to hold_chars + context_chars + 1 characters "
                               "long are seen whole.")


class Policy(BaseModel):
    """A resolved policy: which filters run at each stage, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(1, description="Policy schema version.")
    name: str = Field(description="Policy name, reported in every verdict.")
    description: str = ""
    input: tuple[FilterConfig, ...] = Field((), description="Filters run on prompts / chat messages.")
    output: tuple[FilterConfig, ...] = Field((), description="Filters run on generated text, also while it streams.")
    on_error: Literal["block", "allow"] = Field("block", description="Default for a filter that crashes or times out.")
    mode: Literal["monitor", "enforce"] = Field(
        "enforce", exclude_if=lambda v: v == "enforce",
        description="monitor: every filter (unless its entry says mode: enforce) runs and its findings are recorded as "
                    "what it would have done, but nothing is blocked or changed (shadow mode); enforce: the default.")
    refusal: str = Field(DEFAULT_REFUSAL, description="Text returned in place of a blocked prompt or answer.")
    responses: dict[str, str | dict[str, str]] = Field(
        {}, description="Category -> the message answered when a filter's category action is respond; "
                        "a mapping of locale (en, de, pt-BR, ...) to message, with 'default', for several languages."
    )
    offline: bool = Field(False, description="Never reach a model hub; load models from local paths and caches only.")
    weights: WeightsPin | None = Field(None, exclude_if=lambda v: v is None, description="sha256 pins of the model "
                                       "weight files this policy was written for (guardrails.weights_pin).")
    locked: tuple[LockableKey, ...] = Field(default=(), exclude_if=lambda v: not v, description="Policy keys that a policy "
                                            "extending this one can only make stricter (guardrails.policy_locks).")
    stream: StreamSettings = Field(StreamSettings(), exclude_if=lambda v: v == StreamSettings(),
                                   description="How streamed answers are checked (hold-back window, check intervals).")

    _source: str | None = PrivateAttr(None)
    _files: tuple[str, ...] = PrivateAttr(())
    _disabled: dict[str, frozenset[str]] = PrivateAttr(default_factory=dict)
    _declared: frozenset[str] = PrivateAttr(frozenset())
    _hash: str | None = PrivateAttr(None)
    _signatures: tuple[tuple[str, str], ...] = PrivateAttr(())  # (file, key id): guardrails.signing
    _sources: dict[str, Any] = PrivateAttr(default_factory=dict)  # file:line of each key: guardrails.policy_sources

    @property
    def source(self) -> str | None:
        """The file this policy was loaded from, if any."""
        return self._source

    @property
    def files(self) -> tuple[str, ...]:
        """Every file this policy was built from: the file itself, its ``extends`` parents, and files
        its filters read (deny lists). Hot reload watches these."""
        return self._files

    @property
    def signatures(self) -> dict[str, str]:
        """File -> signer key id of each file checked when loaded with ``trusted_keys`` (built-in
        files need no signature and are not listed); empty when loaded without."""
        return dict(self._signatures)

    @property
    def signer(self) -> str | None:
        """Key id of the verified signature of the policy's own file; None when not verified."""
        return dict(self._signatures).get(self._source) if self._source else None

    @property
    def hash(self) -> str:
        """A stable hash of the resolved policy (independent of key order, comments and file path).

        It covers resolved values, secrets included (as a slow salted digest, never printed), so
        a changed ``${VAR}`` or ``hash_key`` changes the hash and a reload picks it up."""
        if self._hash is None:
            data = self.to_dict()
            data["secrets"] = [_secret_digest(v) for cfg in (*self.input, *self.output) for v in _secrets_of(cfg)]
            canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            self._hash = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
        return self._hash

    def removals_from(self, running: "Policy") -> list[str]:
        """What this policy silently drops compared with ``running`` (a hot reload must refuse it):
        a stage that had filters and is neither present nor written as ``[]``, and each filter
        entry that is gone without an ``enabled: false`` entry saying so."""
        out = []
        for stage in STAGES:
            had = [cfg.id or cfg.filter for cfg in running.stage(stage)]
            now = {cfg.id or cfg.filter for cfg in self.stage(stage)}
            if had and not now and stage in self._declared:
                continue  # written as `stage: []`: emptied on purpose
            if had and stage not in self._declared:
                out.append(f"the {stage} stage is missing (write `{stage}: []` to run no {stage} filters)")
                continue
            disabled = self._disabled.get(stage, frozenset())
            for fid in had:
                if fid not in now and fid not in disabled:
                    out.append(f"{stage} filter {fid!r} is missing (keep its entry with `enabled: false` to remove it)")
        return out

    def stage(self, stage: str) -> tuple[FilterConfig, ...]:
        return self.input if stage == "input" else self.output

    def response_for(self, category: str, locale: str | None = None) -> str:
        """The ``respond`` message of a category in the closest locale (exact, then the language
        without region, then 'default', then 'en'); the refusal when the policy has none."""
        message = self.responses.get(category)
        if message is None:
            return self.refusal
        if isinstance(message, str):
            return message
        wanted = [locale, locale.split("-")[0]] if locale else []
        for key in [*wanted, "default", "en"]:
            if key and key in message:
                return message[key]
        return next(iter(message.values()), self.refusal)

    def to_dict(self) -> dict[str, Any]:
        """The resolved policy as plain data (what ``guardrails policy show`` prints)."""
        out = self.model_dump(mode="json", exclude={"input", "output"})
        for stage in STAGES:
            out[stage] = [
                cfg.model_dump(mode="json", exclude_none=True, exclude={"enabled"}) for cfg in self.stage(stage)
            ]
        return out


class _TopLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    name: str
    description: str = ""
    input: list[dict[str, Any]] = []
    output: list[dict[str, Any]] = []
    on_error: Literal["block", "allow"] = "block"
    mode: Literal["monitor", "enforce"] = Field("enforce", description="monitor: filters run and record what they would "
                                                "have done, and nothing is blocked or changed; a filter entry's own mode "
                                                "overrides it.")
    refusal: str = DEFAULT_REFUSAL
    responses: dict[str, str | dict[str, str]] = Field(
        {}, description="Category -> message answered when a category's action is respond (or locale -> message).",
        json_schema_extra={"propertyNames": {"enum": list(CATEGORIES)}},
    )
    offline: bool = False
    weights: WeightsPin | None = None  # guardrails.weights_pin
    locked: list[LockableKey] = Field([], description="Policy keys a policy extending this one can only make stricter: "
                                      "on_error (block stays block), offline (true stays true), refusal, responses "
                                      "(each message stays; categories and locales may be added).")
    stream: StreamSettings = Field(StreamSettings(), description="Streamed answers: hold_chars (48), "
                                   "check_every (32), model_every (256), context_chars (256).")

    @field_validator("responses")
    @classmethod
    def _known_categories(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, message in value.items():
            if name not in CATEGORIES:
                close = difflib.get_close_matches(name, CATEGORIES, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"unknown category {name!r}{hint}; see `guardrails policy schema`")
            if isinstance(message, dict) and not message:
                raise ValueError(f"{name}: expected a message, or a mapping of locale to message")
        return value


class _Raw:
    """Policy data before validation, with the file:line of every key path, the values read from
    the environment (never printed) and the files read."""

    def __init__(self, data: dict[str, Any], where: dict[Path_, str], env_values: list[str] | None = None,
                 files: tuple[Path, ...] = ()) -> None:
        self.data = data
        self.where = where
        self.env_values = env_values or []
        self.files = files

    def locate(self, path: Path_) -> str:
        while path and path not in self.where:
            path = path[:-1]
        return self.where.get(path, "<policy>")


Trust = bool | Sequence[str]


def load_policy(source: str | Path, *, trust_plugins: Trust = True, trusted_keys: TrustedKeys | None = None) -> Policy:
    """Load a policy by built-in name (``"default"``) or file path, resolving ``extends``.

    A policy file is trusted like code: a ``package.module:ClassName`` filter imports that module.
    ``trust_plugins`` says which such modules may be imported: all (True, the Python API's
    default: the caller chose the file), none (False, the CLI's and sidecar's default) or those
    whose module name starts with one of the given prefixes.

    ``trusted_keys`` (a folder of ``*.pub`` files, or a list of public keys): every file the
    policy is built from must carry a valid signature (``FILE.sig``) by one of them, except the
    built-in files of the package; else ``guardrails.signing.PolicySignatureError``. None: no check.
    """
    path = _find(source, base=None)
    roots = _roots(path.parent)
    with verifying(trusted_keys) as signatures:  # guardrails.signing; a no-op without trusted_keys
        raw = _load_raw(path, stack=(), roots=roots)
        signatures.check()  # before validation, which may import a module that a policy file names
        policy = _validate(raw, default_name=path.stem, trust=trust_plugins)
        policy._signatures = signatures.cover(policy.files)  # and the files filters read (deny lists)
    policy._source = str(path)
    return policy


def policy_from_dict(data: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None, *,
                     trust_plugins: Trust = True) -> Policy:
    """Build a policy from already-parsed data (``extends`` paths resolve against ``base_dir``)."""
    raw = _located_from_plain(interpolate_plain(copy.deepcopy(data), source), source)
    base = (base_dir or Path.cwd()).resolve()
    raw = _resolve_extends(raw, base, stack=(), roots=_roots(base))
    return _validate(raw, default_name=str(data.get("name", "policy")), trust=trust_plugins)


def _roots(base: Path) -> tuple[Path, ...]:
    """Folders ``extends`` may read: the top policy's folder tree, the built-in policies, and the
    folders listed in GUARDRAILS_POLICY_PATH (the deployer's opt-in for shared policy folders)."""
    extra = [Path(p).resolve() for p in os.environ.get(POLICY_PATH_ENV, "").split(os.pathsep) if p.strip()]
    return (base.resolve(), BUILTIN_DIR.resolve(), *extra)


def builtin_policies() -> list[str]:
    """Names of the policies shipped inside the package."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def _find(source: str | Path, base: Path | None, roots: tuple[Path, ...] | None = None) -> Path:
    text = str(source)
    looks_like_name = isinstance(source, str) and "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml"))
    if looks_like_name:
        builtin = BUILTIN_DIR / f"{text}.yaml"
        if builtin.is_file():
            return builtin
        raise PolicyError(f"{text}: no built-in policy of that name; built-in: {', '.join(builtin_policies())}")
    path = Path(text)
    if base is not None and not path.is_absolute():
        path = base / path
    if roots is not None:
        # extends: only policy files inside the allowed folders (never /etc/shadow or ../../secrets).
        resolved = path.resolve()
        if resolved.suffix not in (".yaml", ".yml"):
            raise PolicyError(f"{text!r} is not a policy file name (expected .yaml or .yml)")
        if not any(resolved.is_relative_to(root) for root in roots):
            raise PolicyError(
                f"{text!r} is outside the folder of the policy that extends it ({roots[0]}); "
                f"list other folders in {POLICY_PATH_ENV} to allow them"
            )
    if not path.is_file():
        raise PolicyError(f"{_display(path)}: policy file not found")
    return path.resolve()


def _load_raw(path: Path, stack: tuple[Path, ...], roots: tuple[Path, ...]) -> _Raw:
    if path in stack:
        chain = " -> ".join(_display(p) for p in (*stack, path))
        raise PolicyError(f"{_display(stack[-1])}: extends: cycle detected: {chain}")
    source = _display(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PolicyError(f"{source}: file is {path.stat().st_size} bytes; the limit is {MAX_FILE_BYTES}")
        data_bytes = path.read_bytes()
        check_read(path, data_bytes)  # guardrails.signing: checks the exact bytes parsed, when loading with trusted_keys
        text = data_bytes.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text did
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{source}: cannot read policy file ({type(exc).__name__})") from None
    located = load_located(text, source)
    data = located.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1: (top level): expected a mapping of policy keys, got {type(data).__name__}")
    env_values = [v for values in located.env_values.values() for v in values]
    raw = _Raw(data, {p: f"{source}:{line}" for p, line in located.lines.items()}, env_values, (path,))
    return _resolve_extends(raw, path.parent, (*stack, path), roots)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _located_from_plain(located: Located, source: str) -> _Raw:
    data = located.data
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: (top level): expected a mapping of policy keys, got {type(data).__name__}")
    return _Raw(data, {(): source}, [v for values in located.env_values.values() for v in values])


def _resolve_extends(raw: _Raw, base_dir: Path, stack: tuple[Path, ...], roots: tuple[Path, ...]) -> _Raw:
    parents = raw.data.pop("extends", None)
    if parents is None:
        return raw
    where = raw.locate(("extends",))
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise PolicyError(f"{where}: extends: expected a policy name or path, or a list of them")
    merged: _Raw | None = None
    for parent in parents:
        try:  # `extends: model`: the model's own guardrails.yaml, confined to its folder (guardrails.model_parent)
            parent_path = model_policy_file() if parent == MODEL_PARENT else _find(parent, base=base_dir, roots=roots)
        except PolicyError as exc:
            raise PolicyError(f"{where}: extends: {exc}") from None
        parent_raw = _load_raw(parent_path, stack, _roots(parent_path.parent) if parent == MODEL_PARENT else roots)
        merged = parent_raw if merged is None else _merge(merged, parent_raw)
    assert merged is not None  # parents is a non-empty list here
    return _merge(merged, raw)


def _entry_id(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    fid = entry.get("id") or entry.get("filter")
    return fid if isinstance(fid, str) else None  # anything else is reported by validation


def _merge_entry(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """A child's keys override the parent entry's; mappings (e.g. ``categories``) merge key by key,
    so ``categories: {sexual_content: off}`` changes one category and keeps the rest."""
    out = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _merge(parent: _Raw, child: _Raw) -> _Raw:
    """Child scalars win; stage lists merge by filter id (child keys override the parent entry's)."""
    data: dict[str, Any] = {k: v for k, v in parent.data.items() if k not in STAGES}
    where = {p: w for p, w in parent.where.items() if not p or p[0] not in STAGES}
    for key, value in child.data.items():
        if key not in STAGES:
            data[key] = value
            where.update({p: w for p, w in child.where.items() if p and p[0] == key})
    for stage in STAGES:
        entries: list[Any] = []
        entry_where: list[dict[Path_, str]] = []
        index: dict[Any, int] = {}
        for source, raw in (("parent", parent), ("child", child)):
            items = raw.data.get(stage, [])
            if not isinstance(items, list):
                # Leave it for validation to report, located in the file that wrote it.
                data[stage] = items
                where.update({p: w for p, w in raw.where.items() if p and p[0] == stage})
                break
            for i, entry in enumerate(items):
                sub = {p[2:]: w for p, w in raw.where.items() if p[:2] == (stage, i)}
                eid = _entry_id(entry)
                if source == "child" and eid is not None and eid in index:
                    j = index[eid]
                    entries[j] = _merge_entry(entries[j], entry)
                    entry_where[j].update(sub)
                else:
                    if eid is not None:
                        index[eid] = len(entries)
                    entries.append(entry)
                    entry_where.append(sub)
        else:
            if stage in parent.data or stage in child.data:
                data[stage] = entries
                stage_line = child.where.get((stage,)) or parent.where.get((stage,))
                if stage_line:
                    where[(stage,)] = stage_line
                for i, sub in enumerate(entry_where):
                    where.update({(stage, i, *p): w for p, w in sub.items()})
    merged = _Raw(data, where, parent.env_values + child.env_values, parent.files + child.files)
    return after_merge(parent, child, merged)  # locked entries only get stricter (guardrails.policy_locks)


def _validate(raw: _Raw, default_name: str, trust: Trust = True) -> Policy:
    data = dict(raw.data)
    data.setdefault("name", default_name)
    problems: list[str] = []
    top: _TopLevel | None = None
    try:
        top = _TopLevel.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(exc, raw, prefix=(), keys=[*_TopLevel.model_fields, "extends"]))
    stages: dict[str, list[FilterConfig]] = {"input": [], "output": []}
    located: list[tuple[str, int, FilterConfig]] = []
    disabled: dict[str, frozenset[str]] = {}
    for stage in STAGES:
        items = data.get(stage, [])
        if not isinstance(items, list):
            continue
        seen: dict[str, int] = {}
        off: set[str] = set()
        for i, entry in enumerate(items):
            if isinstance(entry, dict) and entry.get("enabled") is False and _entry_id(entry):
                off.add(str(_entry_id(entry)))  # a removal said out loud; its other keys do not matter
                continue
            cfg = _validate_entry(entry, (stage, i), raw, problems, trust)
            if cfg is None or not cfg.enabled:
                continue
            fid = cfg.id or cfg.filter
            if fid in seen:
                problems.append(
                    f"{raw.locate((stage, i))}: {format_path((stage, i))}: duplicate filter id {fid!r} "
                    f"(also {format_path((stage, seen[fid]))}); give one of them an 'id'"
                )
                continue
            seen[fid] = i
            stages[stage].append(cfg.model_copy(update={"id": fid}))
            located.append((stage, i, cfg))
        disabled[stage] = frozenset(off)
    if top is not None:
        for stage, i, cfg in located:
            for category in cfg.respond_categories():
                if category not in top.responses:
                    path = (stage, i, "categories", category)
                    problems.append(f"{raw.locate(path)}: {format_path(path)}: action respond needs a message: "
                                    f"add responses: {{{category}: \"...\"}} to the policy")
    if problems or top is None:
        raise PolicyError([hide_values(p, raw.env_values) for p in problems])
    fields = top.model_dump(exclude={"input", "output"})
    policy = Policy(**fields, input=tuple(stages["input"]), output=tuple(stages["output"]))
    policy._disabled = disabled
    policy._declared = frozenset(s for s in STAGES if s in data)
    read_by_filters = [str(f) for cfg in (*policy.input, *policy.output) for f in cfg.files_read()]
    policy._files = tuple(dict.fromkeys([*(str(f) for f in raw.files), *read_by_filters]))
    policy._sources = sources_of(raw)  # which file:line each key came from (guardrails.policy_sources)
    return policy


def _trusted(module: str, trust: Trust) -> bool:
    if isinstance(trust, bool):
        return trust
    return any(module == prefix or module.startswith(prefix + ".") for prefix in trust)


def _validate_entry(entry: Any, path: Path_, raw: _Raw, problems: list[str], trust: Trust) -> FilterConfig | None:
    registry = _filters()
    if not isinstance(entry, dict):
        problems.append(f"{raw.locate(path)}: {format_path(path)}: expected a filter entry (a mapping with 'filter:'), got {entry!r}")
        return None
    name = entry.get("filter")
    if not isinstance(name, str) or not name:
        problems.append(f"{raw.locate(path)}: {format_path(path + ('filter',))}: required key 'filter' is missing (a filter name or 'package.module:ClassName')")
        return None
    where = f"{raw.locate(path + ('filter',))}: {format_path(path + ('filter',))}"
    if ":" in name and not _trusted(name.partition(":")[0], trust):
        problems.append(
            f"{where}: {name!r} names Python code, and loading it would import and run that module; "
            f"policy files are trusted like code, so allow it explicitly: --trust-plugins (CLI), "
            f"allow_plugins in the server config, or trust_plugins= in Python"
        )
        return None
    try:
        cls = registry.resolve(name)
    except FilterLoadError as exc:
        problems.append(f"{where}: {exc}")
        return None
    # A wrong action is reported with the entry's other errors, not only once they are fixed.
    action = entry.get("action")
    bad_action = isinstance(action, str) and action not in cls.actions
    if bad_action:
        problems.append(_action_problem(name, cls.actions, action, path, raw))
    try:
        cfg: FilterConfig = cls.Config.model_validate(entry, context={"policy_dir": _dir_of(raw.locate(path)), "stage": path[0]})
    except ValidationError as exc:
        action_at = f": {format_path(path + ('action',))}: "
        problems.extend(p for p in _describe(exc, raw, prefix=path, keys=list(cls.Config.model_fields))
                        if not (bad_action and action_at in p))
        return None
    if bad_action:
        return None
    if cfg.action not in cls.actions:
        problems.append(_action_problem(name, cls.actions, cfg.action, path, raw))
        return None
    return cfg


def _action_problem(name: str, actions: frozenset[str], action: Any, path: Path_, raw: _Raw) -> str:
    return (f"{raw.locate(path + ('action',))}: {format_path(path + ('action',))}: "
            f"expected one of {', '.join(sorted(actions))} for filter {name!r}, got {action!r}")


def _dir_of(location: str) -> Path | None:
    """The folder of the file named in a 'file:line' location (relative file keys resolve there)."""
    file = Path(location.rsplit(":", 1)[0])
    return file.parent.resolve() if file.is_file() else None


def _describe(exc: ValidationError, raw: _Raw, prefix: Path_, keys: list[str]) -> list[str]:
    out = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        message = expected_text(err)
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            close = difflib.get_close_matches(str(err["loc"][0]), keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown key{hint}; expected one of: {', '.join(keys)}"
        out.append(f"{raw.locate(loc)}: {format_path(loc)}: {message}")
    return out


def _secrets_of(cfg: FilterConfig) -> list[str]:
    """Secret values of a filter entry (pydantic SecretStr fields), in field order."""
    return [v.get_secret_value() for v in cfg.__dict__.values() if isinstance(v, SecretStr)]


def _secret_digest(secret: str) -> str:
    # Slow and salted: the policy hash is printed in every verdict, and must not let anyone test
    # guesses of a short secret against it.
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), b"guardrails-policy-hash", 20_000).hex()


def policy_schema(plugins: Sequence[str] = ()) -> dict[str, Any]:
    """JSON Schema of the policy format, with each registered filter's own keys, and those of the
    ``package.module:ClassName`` filters named in ``plugins`` (naming one imports it). Other
    ``module:Class`` filters get the keys every filter accepts, plus any of their own."""
    registry = _filters()
    schema = _TopLevel.model_json_schema()
    schema["title"] = "guardrails policy"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["extends"] = {
        "description": "A built-in policy name or a relative file path (or a list of them); lists merge by filter id.",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    }
    defs = schema.setdefault("$defs", {})
    branches = []
    named = [(name, name) for name in registry.available()]
    named += [(target, re.sub(r"\W", "_", target)) for target in plugins]
    for name, key in named:
        try:
            cls = registry.resolve(name)
        except FilterLoadError:
            if name in plugins:
                raise
            continue
        sub = cls.Config.model_json_schema()
        defs.update(sub.pop("$defs", {}))
        sub["properties"]["filter"] = {"const": name}
        if cls.actions:
            sub["properties"]["action"] = {"enum": sorted(cls.actions), "default": "block"}
        defs[f"filter_{key}"] = sub
        branches.append({"if": {"properties": {"filter": {"const": name}}, "required": ["filter"]}, "then": {"$ref": f"#/$defs/filter_{key}"}})
    # The category vocabulary that every filter's `categories:` and findings share, with what each means.
    defs["category"] = {"description": "A category name (guardrails.taxonomy)",
                        "oneOf": [{"const": name, "description": text} for name, text in DESCRIPTIONS.items()]}
    generic = FilterConfig.model_json_schema()
    generic["additionalProperties"] = True
    generic["description"] = "A plugin filter ('package.module:ClassName'): the keys every filter accepts, plus its own."
    defs["filter_plugin"] = generic
    known = [name for name, _ in named]
    branches.append({"if": {"properties": {"filter": {"pattern": PLUGIN_PATTERN, "not": {"enum": known}}}, "required": ["filter"]},
                     "then": {"$ref": "#/$defs/filter_plugin"}})
    entry = {"type": "object", "required": ["filter"], "properties": {"filter": {"type": "string"}}, "allOf": branches}
    for stage in STAGES:
        schema["properties"][stage] = {"type": "array", "items": entry, "description": Policy.model_fields[stage].description}
    return schema
