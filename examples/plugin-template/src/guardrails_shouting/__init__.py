"""An example guardrails filter package (see filter.py)."""

from guardrails_shouting.filter import ShoutingConfig, ShoutingFilter

__all__ = ["ShoutingConfig", "ShoutingFilter"]
