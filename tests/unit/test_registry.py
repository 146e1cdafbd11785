"""Filter discovery: entry points (built-in and third-party) and explicit module:Class names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from guardrails import registry
from guardrails.errors import FilterLoadError

EXE = str(Path(sys.executable).parent / "guardrails")

PLUGIN = '''
from guardrails.filters.base import BaseFilter, FilterConfig
from guardrails.types import FilterResult, Finding


class ShoutConfig(FilterConfig):
    max_caps_ratio: float = 0.8


class ShoutFilter(BaseFilter):
    name = "shout"
    Config = ShoutConfig
    cost = 0

    def check(self, text, ctx):
        letters = [c for c in text if c.isalpha()]
        ratio = sum(c.isupper() for c in letters) / max(1, len(letters))
        if ratio > self.config.max_caps_ratio:
            return FilterResult((Finding("shouting", ratio),), {"shouting": ratio})
        return FilterResult.clean({"shouting": ratio})
'''


def test_registry_lists_builtin_filters() -> None:
    assert {"regex", "deny_list", "secrets", "length"} <= set(registry.available())


def test_registry_unknown_name_suggests() -> None:
    with pytest.raises(FilterLoadError, match=r"unknown filter 'secret'; .*did you mean 'secrets'"):
        registry.resolve("secret")


def test_registry_rejects_non_filter_class() -> None:
    with pytest.raises(FilterLoadError, match="is not a guardrails filter: it does not subclass"):
        registry.resolve("json:JSONDecoder")


def test_third_party_entry_point_filter_is_found(tmp_path: Path) -> None:
    """A package that declares an entry point in group guardrails.filters is usable by name."""
    (tmp_path / "shout_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "shout_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[guardrails.filters]\nshout = shout_plugin:ShoutFilter\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\ninput:\n  - filter: shout\n    max_caps_ratio: 0.5\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    loud = subprocess.run([EXE, "check", "--policy", str(policy), "STOP SHOUTING AT ME"], env=env, capture_output=True, text=True, timeout=60)
    quiet = subprocess.run([EXE, "check", "--policy", str(policy), "a calm sentence"], env=env, capture_output=True, text=True, timeout=60)
    assert loud.returncode == 1, loud.stderr
    assert "shout/shouting" in loud.stdout
    assert quiet.returncode == 0, quiet.stderr
