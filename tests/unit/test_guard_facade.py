"""The layering of Guard: the engine runs checks and never imports the wrappers; the facade adds them."""

from __future__ import annotations

import ast
from pathlib import Path

import guardrails
from guardrails.engine import Engine
from guardrails.guard import Guard

UPPER = ("guardrails.hf", "guardrails.protect", "guardrails.server", "guardrails.cli", "guardrails.guard")


def _imported_modules(path: Path) -> list[str]:
    """Every module an import statement names, anywhere in the file (in functions and TYPE_CHECKING blocks too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_engine_never_imports_an_upper_layer() -> None:
    engine = Path(guardrails.__file__).parent / "engine.py"
    upward = [m for m in _imported_modules(engine) if any(m == u or m.startswith(u + ".") for u in UPPER)]
    assert upward == []


def test_guard_is_the_engine_plus_the_wrappers() -> None:
    assert guardrails.Guard is Guard and issubclass(Guard, Engine)
    assert not any(hasattr(Engine, name) for name in ("wrap", "wrap_pipeline", "protect"))
    guard = Guard.from_policy({"version": 1, "name": "facade", "input": [{"filter": "deny_list", "words": ["forbidden"]}]})
    assert type(guard) is Guard and guard.check_input("forbidden").blocked

    @guard.protect
    def echo(prompt: str) -> str:
        return prompt

    assert echo("hello") == "hello" and echo("forbidden") == guard.refusal
    assert type(Engine.from_policy("default")) is Engine
