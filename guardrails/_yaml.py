"""YAML loading that remembers the line of every key, for error messages."""

from __future__ import annotations

import os
import re
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


def load_located(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML; return the data and a map from key path to 1-based line.

    ``${VAR}`` and ``${VAR:-default}`` in string values are replaced from the environment.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{source}{line}: invalid YAML: {problem}") from None
    if node is None:
        return None, {}
    lines: dict[Path_, int] = {}
    problems: list[str] = []
    data = _build(node, (), lines, source, problems)
    if problems:
        raise PolicyError(problems)
    return data, lines


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str, problems: list[str]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            key = str(key)
            if key in out:
                problems.append(f"{source}:{key_node.start_mark.line + 1}: {format_path(path + (key,))}: duplicate key")
            out[key] = _build(value_node, path + (key,), lines, source, problems)
            lines[path + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, source, problems) for i, item in enumerate(node.value)]
    value = _scalar(node)
    if isinstance(value, str) and "${" in value:
        value = _interpolate(value, path, f"{source}:{lines[path]}", problems)
    return value


def _scalar(node: yaml.Node) -> Any:
    return yaml.SafeLoader("").construct_object(node, deep=True)


def interpolate_plain(data: Any, source: str) -> Any:
    """Apply ``${VAR}`` interpolation to already-parsed data (a policy given as a dict)."""
    problems: list[str] = []

    def walk(value: Any, path: Path_) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, path + (str(k),)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, path + (i,)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return _interpolate(value, path, source, problems)
        return value

    out = walk(data, ())
    if problems:
        raise PolicyError(problems)
    return out


def _interpolate(value: str, path: Path_, where: str, problems: list[str]) -> str:
    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        problems.append(
            f"{where}: {format_path(path)}: environment variable {name} is not set "
            f"(write ${{{name}:-default}} to give a default)"
        )
        return ""

    return _ENV.sub(repl, value)


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
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {got!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "?")
        words = {"greater_than": "greater than", "greater_than_equal": "at least", "less_than": "less than", "less_than_equal": "at most"}
        return f"expected a number {words[kind]} {bound}, got {got!r}"
    return f"{err['msg']}, got {got!r}"
