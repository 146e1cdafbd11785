"""Every Python snippet of the README runs as printed (offline), unless it says why it cannot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# A fenced Python block, with the HTML comment line just before it (if any).
BLOCK = re.compile(r"(?:^(<!--[^\n]*-->)\n)?^```python\n(.*?)^```$", re.M | re.S)
SKIP = "<!-- snippet not run by tests:"


def snippets(path: Path) -> list[tuple[int, str | None, str]]:
    """(line, skip reason or None, code) of each ```python block in ``path``."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        line = text.count("\n", 0, m.start(2))
        comment = m.group(1) or ""
        reason = comment[len(SKIP):-3].strip() if comment.startswith(SKIP) else None
        out.append((line, reason, m.group(2)))
    return out


README_SNIPPETS = snippets(REPO / "README.md")


def test_readme_has_runnable_snippets() -> None:
    assert any(reason is None for _, reason, _ in README_SNIPPETS)
    assert all(reason for _, reason, _ in README_SNIPPETS if reason is not None)  # a skip says why


@pytest.mark.parametrize(("line", "reason", "code"), README_SNIPPETS, ids=[f"README.md:{n}" for n, _, _ in README_SNIPPETS])
def test_readme_python_snippet_runs(line: int, reason: str | None, code: str, tmp_path: Path) -> None:
    if reason is not None:
        pytest.skip(f"README.md:{line}: {reason}")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, (
        f"README.md:{line}: the snippet fails as printed (fix it, or mark a snippet that cannot run offline with "
        f"a line '{SKIP} REASON -->' just above it):\n{proc.stderr[-3000:]}"
    )
