"""Every module imports only from its own layer or lower ones (scripts/check_layers.py), and the checker
itself reports what it must."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "scripts" / "check_layers.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CHECKER), *args], capture_output=True, text=True, timeout=120)


def test_package_has_no_layer_violations() -> None:
    result = _run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "no layer violations"


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / "guardrails" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root


def test_checker_reports_upward_imports_wherever_they_are(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "types.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from guardrails.engine import Guard
        """,
        "engine.py": "import guardrails.types\n",
        "filters/__init__.py": "",
        "filters/base.py": """
            def render():
                from guardrails import engine  # inside a function: still a dependency
                return engine
        """,
        "runtime/__init__.py": "",
        "runtime/options.py": "from ..filters.base import render\n",  # relative: the runtime imports a filter
        "server/__init__.py": "",
        "server/app.py": "from guardrails.engine import *\nfrom guardrails.types import *\n",  # downward: fine
    })
    result = _run("--root", str(root))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "guardrails.filters.base -> guardrails.engine (layer filters imports layer engine)",
        "guardrails.runtime.options -> guardrails.filters.base (layer runtime imports layer filters)",
        "guardrails.types -> guardrails.engine (layer types imports layer engine)",
    ]


def test_checker_reports_a_module_without_a_layer(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "", "types.py": "", "newthing.py": "from guardrails import types\n"})
    result = _run("--root", str(root))
    assert result.returncode == 1
    assert "guardrails.newthing -> - (module has no layer" in result.stdout


def test_checker_passes_a_clean_package(tmp_path: Path) -> None:
    root = _package(tmp_path, {"__init__.py": "from guardrails.engine import Guard\n", "types.py": "",
                               "engine.py": "from guardrails.types import *\n"})
    result = _run("--root", str(root))
    assert result.returncode == 0 and result.stdout.strip() == "no layer violations"
