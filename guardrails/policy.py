"""Policy files: schema, loading with located errors, ``extends`` merging, hashing, JSON Schema."""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from guardrails._yaml import Path_, expected_text, format_path, interpolate_plain, load_located
from guardrails.errors import FilterLoadError, PolicyError
from guardrails.filters.base import FilterConfig

SCHEMA_VERSION = 1
BUILTIN_DIR = Path(__file__).parent / "policies"
DEFAULT_REFUSAL = "I can't help with that request."
STAGES = ("input", "output")


class Policy(BaseModel):
    """A resolved policy: which filters run at each stage, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = Field(1, description="Policy schema version.")
    name: str = Field(description="Policy name, reported in every verdict.")
    description: str = ""
    input: tuple[FilterConfig, ...] = Field((), description="Filters run on prompts / chat messages.")
    output: tuple[FilterConfig, ...] = Field((), description="Filters run on generated text, also while it streams.")
    on_error: Literal["block", "allow"] = Field("block", description="Default for a filter that crashes or times out.")
    refusal: str = Field(DEFAULT_REFUSAL, description="Text returned in place of a blocked prompt or answer.")
    offline: bool = Field(False, description="Never reach a model hub; load models from local paths and caches only.")

    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The file this policy was loaded from, if any."""
        return self._source

    @property
    def hash(self) -> str:
        """A stable hash of the resolved policy (independent of key order, comments and file path)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    def stage(self, stage: str) -> tuple[FilterConfig, ...]:
        return self.input if stage == "input" else self.output

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
    refusal: str = DEFAULT_REFUSAL
    offline: bool = False


class _Raw:
    """Policy data before validation, with the file:line of every key path."""

    def __init__(self, data: dict[str, Any], where: dict[Path_, str]) -> None:
        self.data = data
        self.where = where

    def locate(self, path: Path_) -> str:
        while path and path not in self.where:
            path = path[:-1]
        return self.where.get(path, "<policy>")


def load_policy(source: str | Path) -> Policy:
    """Load a policy by built-in name (``"default"``) or file path, resolving ``extends``."""
    path = _find(source, base=None)
    raw = _load_raw(path, stack=())
    policy = _validate(raw, default_name=path.stem)
    policy._source = str(path)
    return policy


def policy_from_dict(data: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None) -> Policy:
    """Build a policy from already-parsed data (``extends`` paths resolve against ``base_dir``)."""
    raw = _located_from_plain(interpolate_plain(copy.deepcopy(data), source), source)
    raw = _resolve_extends(raw, base_dir or Path.cwd(), stack=())
    return _validate(raw, default_name=str(data.get("name", "policy")))


def builtin_policies() -> list[str]:
    """Names of the policies shipped inside the package."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def _find(source: str | Path, base: Path | None) -> Path:
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
    if not path.is_file():
        raise PolicyError(f"{_display(path)}: policy file not found")
    return path.resolve()


def _load_raw(path: Path, stack: tuple[Path, ...]) -> _Raw:
    if path in stack:
        chain = " -> ".join(_display(p) for p in (*stack, path))
        raise PolicyError(f"{_display(stack[-1])}: extends: cycle detected: {chain}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc}") from None
    source = _display(path)
    data, lines = load_located(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1: (top level): expected a mapping of policy keys, got {type(data).__name__}")
    raw = _Raw(data, {p: f"{source}:{line}" for p, line in lines.items()})
    return _resolve_extends(raw, path.parent, (*stack, path))


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _located_from_plain(data: Any, source: str) -> _Raw:
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: (top level): expected a mapping of policy keys, got {type(data).__name__}")
    return _Raw(data, {(): source})


def _resolve_extends(raw: _Raw, base_dir: Path, stack: tuple[Path, ...]) -> _Raw:
    parents = raw.data.pop("extends", None)
    if parents is None:
        return raw
    where = raw.locate(("extends",))
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise PolicyError(f"{where}: extends: expected a policy name or path, or a list of them, got {parents!r}")
    merged: _Raw | None = None
    for parent in parents:
        try:
            parent_path = _find(parent, base=base_dir)
        except PolicyError as exc:
            raise PolicyError(f"{where}: extends: {exc}") from None
        parent_raw = _load_raw(parent_path, stack)
        merged = parent_raw if merged is None else _merge(merged, parent_raw)
    assert merged is not None  # parents is a non-empty list here
    return _merge(merged, raw)


def _entry_id(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return None
    return entry.get("id") or entry.get("filter")


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
                key = _entry_id(entry)
                if source == "child" and key is not None and key in index:
                    j = index[key]
                    entries[j] = {**entries[j], **entry}
                    entry_where[j].update(sub)
                else:
                    if key is not None:
                        index[key] = len(entries)
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
    return _Raw(data, where)


def _validate(raw: _Raw, default_name: str) -> Policy:
    data = dict(raw.data)
    data.setdefault("name", default_name)
    problems: list[str] = []
    top: _TopLevel | None = None
    try:
        top = _TopLevel.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(exc, raw, prefix=(), keys=[*_TopLevel.model_fields, "extends"]))
    stages: dict[str, list[FilterConfig]] = {"input": [], "output": []}
    for stage in STAGES:
        items = data.get(stage, [])
        if not isinstance(items, list):
            continue
        seen: dict[str, int] = {}
        for i, entry in enumerate(items):
            cfg = _validate_entry(entry, (stage, i), raw, problems)
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
    if problems or top is None:
        raise PolicyError(problems)
    fields = top.model_dump(exclude={"input", "output"})
    return Policy(**fields, input=tuple(stages["input"]), output=tuple(stages["output"]))


def _validate_entry(entry: Any, path: Path_, raw: _Raw, problems: list[str]) -> FilterConfig | None:
    from guardrails import registry  # registry imports filters.base only; kept local to keep import light

    if not isinstance(entry, dict):
        problems.append(f"{raw.locate(path)}: {format_path(path)}: expected a filter entry (a mapping with 'filter:'), got {entry!r}")
        return None
    name = entry.get("filter")
    if not isinstance(name, str) or not name:
        problems.append(f"{raw.locate(path)}: {format_path(path + ('filter',))}: required key 'filter' is missing (a filter name or 'package.module:ClassName')")
        return None
    try:
        cls = registry.resolve(name)
    except FilterLoadError as exc:
        problems.append(f"{raw.locate(path + ('filter',))}: {format_path(path + ('filter',))}: {exc}")
        return None
    try:
        cfg = cls.Config.model_validate(entry, context={"policy_dir": _dir_of(raw.locate(path))})
    except ValidationError as exc:
        problems.extend(_describe(exc, raw, prefix=path, keys=list(cls.Config.model_fields)))
        return None
    if cfg.action not in cls.actions:
        allowed = ", ".join(sorted(cls.actions))
        problems.append(
            f"{raw.locate(path + ('action',))}: {format_path(path + ('action',))}: "
            f"expected one of {allowed} for filter {name!r}, got {cfg.action!r}"
        )
        return None
    return cfg


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


def policy_schema() -> dict[str, Any]:
    """JSON Schema of the policy format, with each registered filter's own keys."""
    from guardrails import registry

    schema = _TopLevel.model_json_schema()
    schema["title"] = "guardrails policy"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["extends"] = {
        "description": "A built-in policy name or a relative file path (or a list of them); lists merge by filter id.",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    }
    defs = schema.setdefault("$defs", {})
    branches = []
    for name in registry.available():
        try:
            cls = registry.resolve(name)
        except FilterLoadError:
            continue
        sub = cls.Config.model_json_schema()
        defs.update(sub.pop("$defs", {}))
        sub["properties"]["filter"] = {"const": name}
        if cls.actions:
            sub["properties"]["action"] = {"enum": sorted(cls.actions), "default": "block"}
        defs[f"filter_{name}"] = sub
        branches.append({"if": {"properties": {"filter": {"const": name}}, "required": ["filter"]}, "then": {"$ref": f"#/$defs/filter_{name}"}})
    entry = {"type": "object", "required": ["filter"], "properties": {"filter": {"type": "string"}}, "allOf": branches}
    for stage in STAGES:
        schema["properties"][stage] = {"type": "array", "items": entry, "description": Policy.model_fields[stage].description}
    return schema
