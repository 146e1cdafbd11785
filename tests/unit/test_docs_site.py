"""The documentation site: generated reference pages match the code, and `mkdocs build --strict` passes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from guardrails import registry
from guardrails.policy import builtin_policies, policy_schema

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "scripts" / "gen_docs_reference.py"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
       "NO_MKDOCS_2_WARNING": "1"}


def test_generated_pages_are_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, env=ENV,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr


def test_policy_reference_covers_every_schema_key_and_filter() -> None:
    page = (REPO / "docs" / "reference" / "policy.md").read_text()
    schema = policy_schema()
    for key in schema["properties"]:
        assert f"| `{key}` |" in page
    for name in registry.available():
        if registry.resolve(name).__module__.startswith("guardrails.filters."):
            assert f"### `{name}`" in page
            for key in schema["$defs"][f"filter_{name}"]["properties"]:
                assert f"`{key}`" in page


def test_policy_library_page_shows_every_builtin_policy_file() -> None:
    page = (REPO / "docs" / "policies.md").read_text()
    for name in builtin_policies():
        assert f"\n## {name}\n" in page and (REPO / "policies" / f"{name}.yaml").read_text().rstrip() in page


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "--site-dir", str(site)],
                          capture_output=True, text=True, env=ENV, timeout=300)


needs_mkdocs = pytest.mark.skipif(importlib.util.find_spec("material") is None,
                                  reason="mkdocs-material is not installed (the docs extra)")


@needs_mkdocs
def test_site_builds_strict(tmp_path: Path) -> None:
    done = _mkdocs(REPO / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "policy" / "index.html").is_file()


@needs_mkdocs
def test_a_link_to_a_missing_repository_file_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "there.py").write_text("")
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n[there](../examples/there.py) [gone](../examples/gone.py)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(textwrap.dedent(f"""
        site_name: t
        theme: {{name: material}}
        hooks: [{REPO / "scripts" / "mkdocs_hooks.py"}]
    """))
    done = _mkdocs(config, tmp_path / "site")
    assert done.returncode != 0
    assert "'../examples/gone.py', which does not exist" in done.stderr
    assert "there.py" not in done.stderr
