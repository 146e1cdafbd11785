#!/usr/bin/env python3
"""Check that every module of the ``guardrails`` package imports only from its own layer or lower ones.

The layers, lowest first:

    types    guardrails.types, errors, spans, normalize, taxonomy, categories, verdict, thresholds, conversation
    policy   guardrails.policy, guardrails._yaml, guardrails.filter_config (the keys of a policy's filter entry)
             guardrails.signing (policy signatures: keys, .sig files, verification while a policy loads)
             guardrails.model_parent (`extends: model`), guardrails.weights_pin (weight pins, hashing)
             guardrails.policy_locks (locked floors of extends), guardrails.policy_sources (provenance)
             guardrails.policy_edit (threshold edits of a policy file's YAML text, comments and order kept)
    runtime  guardrails.runtime.*            (the lower part of the filters layer: it never imports a filter)
             guardrails.bundled (a model's bundled guardrails.yaml, loading a policy for a model)
    filters  guardrails.filters.*, detector.*, pii_analyzer, name_tagger, pii_phone, pii_screen, pii_pattern_screen, pii_pattern_loop, safety_prompts, linear_regex
    engine   guardrails.engine, streaming, tool_stream, registry, check_cache
    app      guardrails (the package's public facade), guard (the Guard class), hf / hf.*, protect, server.*,
             cli.*, eval.*, testing (helpers for plugin authors' tests),
             audit_summary (summaries of the sidecar's audit log, `guardrails audit`)
             calibrate (thresholds fitted to a target FPR on the operator's traffic, `guardrails calibrate`)

Every ``import`` / ``from ... import`` statement counts, wherever it is: at module level, inside a
function, or in an ``if TYPE_CHECKING:`` block (a type-only import is still a dependency of the
source). An import of the package's parent (``guardrails``) by a submodule is read as the submodule
it names (``from guardrails import registry`` is ``guardrails.registry``). A module that no layer
claims is reported too, so a new file must be given a layer here.

Usage: ``python scripts/check_layers.py [--root DIR]`` where DIR holds the ``guardrails`` package
(default: the repository root). Prints one line per violation,
``module -> imported (layer X imports layer Y)``, and exits 1 when there is any. Stdlib only.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "guardrails"

LAYERS: tuple[str, ...] = ("types", "policy", "runtime", "filters", "engine", "app")

# Module name (or package prefix, ending in ".*") -> layer. The most specific entry wins.
LAYER_OF: dict[str, str] = {
    "guardrails.types": "types",
    "guardrails.errors": "types",
    "guardrails.spans": "types",
    "guardrails.normalize": "types",
    "guardrails.taxonomy": "types",
    "guardrails.categories": "types",
    "guardrails.verdict": "types",
    "guardrails.conversation": "types",
    "guardrails.thresholds": "types",
    "guardrails.policy": "policy",
    "guardrails.filter_config": "policy",
    "guardrails._yaml": "policy",
    "guardrails.policy_locks": "policy",
    "guardrails.policy_sources": "policy",
    "guardrails.signing": "policy",
    "guardrails.model_parent": "policy",
    "guardrails.weights_pin": "policy",
    "guardrails.policy_edit": "policy",
    "guardrails.runtime": "runtime",
    "guardrails.runtime.*": "runtime",
    "guardrails.bundled": "runtime",
    "guardrails.filters": "filters",
    "guardrails.filters.*": "filters",
    "guardrails.detector": "filters",
    "guardrails.detector.*": "filters",
    "guardrails.pii_analyzer": "filters",
    "guardrails.name_tagger": "filters",
    "guardrails.pii_phone": "filters",
    "guardrails.pii_screen": "filters",
    "guardrails.pii_pattern_screen": "filters",
    "guardrails.pii_pattern_loop": "filters",
    "guardrails.safety_prompts": "filters",
    "guardrails.linear_regex": "filters",
    "guardrails.engine": "engine",
    "guardrails.streaming": "engine",
    "guardrails.tool_stream": "engine",
    "guardrails.registry": "engine",
    "guardrails.check_cache": "engine",
    "guardrails.template_inputs": "engine",
    "guardrails": "app",
    "guardrails.__main__": "app",
    "guardrails.guard": "app",
    "guardrails.testing": "app",
    "guardrails.hf": "app",
    "guardrails.hf.*": "app",
    "guardrails.protect": "app",
    "guardrails.server": "app",
    "guardrails.server.*": "app",
    "guardrails.cli": "app",
    "guardrails.cli.*": "app",
    "guardrails.eval": "app",
    "guardrails.eval.*": "app",
    "guardrails.audit_summary": "app",
    "guardrails.calibrate": "app",
    "guardrails.adapt": "app",
}


@dataclass(frozen=True)
class Violation:
    module: str
    imported: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.module} -> {self.imported} ({self.problem})"


def layer_of(module: str) -> str | None:
    """The layer of a module, from its exact entry or the closest ``package.*`` entry above it."""
    if module in LAYER_OF:
        return LAYER_OF[module]
    parts = module.split(".")
    for end in range(len(parts) - 1, 0, -1):
        layer = LAYER_OF.get(".".join(parts[:end]) + ".*")
        if layer is not None:
            return layer
    return None


def discover(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``: dotted name -> file."""
    modules: dict[str, Path] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """The package-internal modules ``module`` imports (anywhere in the file), with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                source = _resolve_relative(module, is_package, node.level, node.module)
            else:
                source = node.module or ""
            if source != PACKAGE and not source.startswith(PACKAGE + "."):
                continue
            for alias in node.names:
                # `from pkg import sub` imports the submodule pkg.sub when there is one.
                sub = f"{source}.{alias.name}"
                found.append((sub if sub in known else source, node.lineno))
    return found


def check(root: Path) -> list[Violation]:
    modules = discover(root)
    known = set(modules)
    rank = {name: i for i, name in enumerate(LAYERS)}
    violations: list[Violation] = []
    for module, path in modules.items():
        own = layer_of(module)
        if own is None:
            violations.append(Violation(module, "-", 0, "module has no layer: add it to LAYER_OF in scripts/check_layers.py"))
            continue
        for imported, line in imports_of(module, path, known):
            if imported == module:
                continue
            theirs = layer_of(imported)
            if theirs is None:
                if imported in known:
                    continue  # reported once, as the module itself
                violations.append(Violation(module, imported, line, "imports a module that does not exist"))
            elif rank[theirs] > rank[own]:
                violations.append(Violation(module, imported, line, f"layer {own} imports layer {theirs}"))
    # One line per (module, imported) pair, in a stable order.
    unique = {(v.module, v.imported, v.problem): v for v in sorted(violations, key=lambda v: (v.module, v.imported, v.line))}
    return list(unique.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="directory holding the guardrails package (default: the repository root)")
    args = parser.parse_args(argv)
    if not (args.root / PACKAGE).is_dir():
        print(f"no {PACKAGE} package under {args.root}", file=sys.stderr)
        return 2
    violations = check(args.root)
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} layer violation(s)", file=sys.stderr)
        return 1
    print("no layer violations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
