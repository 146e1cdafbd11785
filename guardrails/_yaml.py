"""YAML loading that remembers the line of every key, for error messages."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from guardrails.errors import PolicyError

Path_ = tuple[str | int, ...]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def format_path(path: Path_) -> str:
    """('input', 1, 'threshold') -> 'input[1].threshold'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


# Bounds on what one YAML file may expand to: a 1 KB file of nested aliases ("billion laughs") would
# otherwise take minutes and gigabytes to build.
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp"))


@dataclass
class Located:
    """Parsed YAML with the 1-based line of every key path, and the values read from the environment
    at each path (``${VAR}``), so that error messages can leave them out."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    env_values: dict[Path_, list[str]] = field(default_factory=dict)


def check_size(text: str, source: str, limit: int = MAX_FILE_BYTES) -> None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise PolicyError(f"{source}: file is {size} bytes; the limit is {limit}")


def load_located(text: str, source: str) -> Located:
    """Parse YAML (safe subset: no custom tags, bounded alias expansion and nesting); return the
    data and where each key is. ``${VAR}`` and ``${VAR:-default}`` in strings read the environment."""
    check_size(text, source)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise PolicyError(f"{source}{line}: invalid YAML: {problem}") from None
    except RecursionError:
        raise PolicyError(f"{source}: invalid YAML: nested more than the parser can follow") from None
    if node is None:
        return Located(None)
    builder = _Builder(source)
    data = builder.build(node, (), frozenset())
    if builder.problems:
        raise PolicyError(builder.problems)
    return Located(data, builder.lines, builder.env_values)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.env_values: dict[Path_, list[str]] = {}
        self.problems: list[str] = []
        self.nodes = 0

    def _fail(self, node: yaml.Node, path: Path_, message: str) -> None:
        raise PolicyError(f"{self.source}:{node.start_mark.line + 1}: {format_path(path)}: {message}")

    def build(self, node: yaml.Node, path: Path_, active: frozenset[int]) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self._fail(node, path, f"more than {MAX_NODES:,} values once anchors and aliases (& and *) are expanded")
        if len(path) > MAX_DEPTH:
            self._fail(node, path, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in active:
            self._fail(node, path, "an alias (*) refers to a mapping or list that contains it (recursive alias)")
        if node.tag not in _PLAIN_TAGS:
            self._fail(node, path, f"unsupported YAML tag {node.tag!r} (policy files hold plain mappings, lists and scalars)")
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            inner = active | {id(node)}
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self._fail(key_node, path, "a key must be a plain scalar")
                key = str(self.scalar(key_node, path))
                if key in out:
                    self.problems.append(f"{self.source}:{key_node.start_mark.line + 1}: {format_path(path + (key,))}: duplicate key")
                out[key] = self.build(value_node, path + (key,), inner)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            inner = active | {id(node)}
            return [self.build(item, path + (i,), inner) for i, item in enumerate(node.value)]
        value = self.scalar(node, path)
        if isinstance(value, str) and "${" in value:
            used: list[str] = []
            value = _interpolate(value, path, f"{self.source}:{self.lines[path]}", self.problems, used)
            if used:
                self.env_values[path] = used
        return value

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        try:
            return yaml.SafeLoader("").construct_object(node, deep=True)
        except yaml.YAMLError:
            self._fail(node, path, f"cannot read this value as {node.tag!r}")


def interpolate_plain(data: Any, source: str) -> Located:
    """Apply ``${VAR}`` interpolation to already-parsed data (a policy given as a dict)."""
    problems: list[str] = []
    env_values: dict[Path_, list[str]] = {}

    def walk(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, path + (str(k),)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            used: list[str] = []
            out = _interpolate(value, path, source, problems, used)
            if used:
                env_values[path] = used
            return out
        return value

    out = walk(data, ())
    if problems:
        raise PolicyError(problems)
    return Located(out, {}, env_values)


def _interpolate(value: str, path: Path_, where: str, problems: list[str], used: list[str]) -> str:
    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            used.append(os.environ[name])
            return os.environ[name]
        if default is not None:
            return default
        problems.append(
            f"{where}: {format_path(path)}: environment variable {name} is not set "
            f"(write ${{{name}:-default}} to give a default)"
        )
        return ""

    return _ENV.sub(repl, value)


def hide_values(message: str, values: list[str]) -> str:
    """``message`` with every value read from the environment replaced by a marker: a validation
    error must never print what ``${VAR}`` held (it may be a key or a password)."""
    for value in sorted(values, key=len, reverse=True):
        if value:
            message = message.replace(repr(value), "<value from the environment>").replace(value, "<value from the environment>")
    return message


def expected_text(err: Any) -> str:
    """What one pydantic validation error expected, in words: 'expected a number, got 'high''."""
    kind, got, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        what = "an integer" if kind.startswith("int") else "a number"
        return f"expected {what}, got {got!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"expected true or false, got {got!r}"
    if kind == "string_type":
        return f"expected a string, got {got!r}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {got!r}"
    if kind in ("dict_type", "model_type"):
        return f"expected a mapping, got {got!r}"
    if kind == "too_short":
        return "expected at least one entry"
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length', '?')} entries"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {got!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "?")
        words = {"greater_than": "greater than", "greater_than_equal": "at least", "less_than": "less than", "less_than_equal": "at most"}
        return f"expected a number {words[kind]} {bound}, got {got!r}"
    return f"{err['msg']}, got {got!r}"
