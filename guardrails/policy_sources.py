"""Provenance of a resolved policy: which file (and line) each policy key and each filter entry's keys
came from, through every level of ``extends`` (a model's bundled policy, a platform base, the app file).

``sources_of`` builds it from the located raw policy when it is validated (``Policy`` keeps it);
``provenance`` reads it back, and ``annotate`` / ``annotated_yaml`` add it to ``Policy.to_dict()``
for ``guardrails policy show --provenance`` (JSON and YAML with a comment per key).

The structure::

    {"files": ["model/guardrails.yaml", "base.yaml", "app.yaml"],     # parents first, the policy last
     "keys": {"on_error": "model/guardrails.yaml:3", "responses.self_harm": "base.yaml:12", ...},
     "input": {"builtin": {"defined": "model/guardrails.yaml:4",       # where the entry was first written
                           "files": ["model/guardrails.yaml", "app.yaml"],
                           "locked": "model/guardrails.yaml:5",          # only for a locked entry
                           "keys": {"filter": "model/guardrails.yaml:4", "categories.self_harm": "app.yaml:9"}}},
     "output": {...}}

A key missing from ``keys`` was not written in any file: it holds the filter's (or the policy's) default.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import yaml

from guardrails._yaml import Path_, format_path
from guardrails.policy_locks import ORIGIN

if TYPE_CHECKING:
    from guardrails.policy import Policy, _Raw

__all__ = ["annotate", "annotated_yaml", "provenance", "sources_of"]

STAGES = ("input", "output")
_WIDTH = 1 << 30  # one line per scalar, so that a comment can follow it


def _file_of(location: str) -> str:
    file, sep, line = location.rpartition(":")
    return file if sep and line.isdigit() else location


def _exists(data: Any, path: Path_) -> bool:
    """Whether ``path`` is in ``data`` (merging leaves the lines of keys a child replaced)."""
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return False
    return True


def sources_of(raw: _Raw) -> dict[str, Any]:
    """The provenance of a located raw policy (after ``extends`` merging)."""
    from guardrails.policy import _display  # policy.py imports this module

    files = list(dict.fromkeys([*(_display(p) for p in raw.files), *(_file_of(w) for w in raw.where.values())]))
    top: dict[str, str] = {}
    by_entry: dict[Path_, dict[Path_, str]] = {}
    for path, where in raw.where.items():
        if not path:
            continue
        own = path[2:] if path[0] in STAGES else path
        if any(isinstance(part, int) for part in own) or ORIGIN in own:
            continue  # list items (one line each in a long word list) are left out: their list's line says it
        if path[0] in STAGES:
            if own:
                by_entry.setdefault(path[:2], {})[own] = where
        elif _exists(raw.data, path):
            top[format_path(path)] = where
    out: dict[str, Any] = {"files": files, "keys": top}
    for stage in STAGES:
        entries: dict[str, Any] = {}
        items = raw.data.get(stage)
        for i, entry in enumerate(items if isinstance(items, list) else []):
            if not isinstance(entry, dict) or entry.get("enabled") is False:
                continue
            fid = entry.get("id") or entry.get("filter")
            if not isinstance(fid, str) or fid in entries:
                continue
            keys = {format_path(p): w for p, w in by_entry.get((stage, i), {}).items() if _exists(entry, p)}
            defined = raw.where.get((stage, i, ORIGIN)) or raw.where.get((stage, i)) or raw.locate((stage, i))
            info: dict[str, Any] = {
                "defined": defined,
                "files": [f for f in files if f in {_file_of(defined), *(_file_of(w) for w in keys.values())}],
                "keys": keys,
            }
            if entry.get("locked") is True and "locked" in keys:
                info["locked"] = keys["locked"]
            entries[fid] = info
        out[stage] = entries
    return out


def provenance(policy: Policy) -> dict[str, Any]:
    """Where each key of ``policy`` was written (empty for a policy not built by ``load_policy`` /
    ``policy_from_dict``)."""
    return dict(getattr(policy, "_sources", None) or {})


def annotate(data: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """``data`` (``Policy.to_dict()``) with a ``_source`` mapping in each filter entry and ``_sources``
    (the files, parents first, and each policy key's location) at the top. A leading underscore is never
    a filter's own key (pydantic fields cannot start with one), so nothing is shadowed."""
    out = dict(data)
    for stage in STAGES:
        by_id = sources.get(stage, {})
        out[stage] = [{**entry, "_source": by_id.get(entry.get("id"), {})} for entry in data.get(stage, [])]
    out["_sources"] = {"files": sources.get("files", []), "keys": sources.get("keys", {})}
    return out


def annotated_yaml(data: dict[str, Any], sources: dict[str, Any]) -> str:
    """``data`` (``Policy.to_dict()``, maybe with ``hash``) as YAML, each key followed by a comment with
    the file:line it came from (``# default`` when no file wrote it), each filter entry by a comment line
    saying where it was defined, which files changed it and whether it is locked."""
    files = sources.get("files", [])
    lines = [f"# sources, parents first: {', '.join(files) if files else '(none)'}"]
    top_keys = sources.get("keys", {})
    for key, value in data.items():
        if key in STAGES:
            lines += _stage(key, value, sources.get(key, {}))
        elif key == "hash":
            lines += _emit(key, value, (key,), {}, 0, computed=True)
        else:
            lines += _emit(key, value, (key,), top_keys, 0)
    return "\n".join(lines) + "\n"


def _stage(stage: str, entries: Any, by_id: dict[str, Any]) -> list[str]:
    if not entries:
        return [f"{stage}: []"]
    lines = [f"{stage}:"]
    for entry in entries:
        info = by_id.get(entry.get("id"), {})
        defined = info.get("defined")
        note = [f"defined at {defined}"] if defined else []
        later = [f for f in info.get("files", []) if defined is None or f != _file_of(defined)]
        if later:
            note.append(f"changed in {', '.join(later)}")
        if info.get("locked"):
            note.append(f"locked at {info['locked']}")
        lines.append(f"# {stage}[{entry.get('id')}]: {'; '.join(note) or 'no source'}")
        body: list[str] = []
        for key, value in entry.items():
            body += _emit(key, value, (key,), info.get("keys", {}), 2)
        if body:
            body[0] = "- " + body[0][2:]
        lines += body
    return lines


def _emit(key: Any, value: Any, path: Path_, keys: dict[str, str], indent: int, *, computed: bool = False) -> list[str]:
    """YAML lines of ``key: value`` at ``indent``, with the location comment on the key's line; nested
    mappings key by key (a nested key gets a comment only when a file wrote it)."""
    where = keys.get(format_path(path))
    top = len(path) == 1
    note = f"  # {where}" if where else ("" if computed or not top else "  # default")
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = [f"{pad}{_scalar(key)}:{note}"]
        for sub, item in value.items():
            lines += _emit(sub, item, (*path, str(sub)), keys, indent + 2)
        return lines
    text = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=_WIDTH, default_flow_style=False)
    body = [pad + line for line in text.splitlines()]
    body[0] += note
    return body


def _scalar(key: Any) -> str:
    """A mapping key as YAML writes it (quoted when it must be)."""
    text = yaml.safe_dump({key: None}, allow_unicode=True, width=_WIDTH)
    return text[: -len(": null\n")] if text.endswith(": null\n") else json.dumps(str(key))
