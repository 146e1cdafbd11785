"""Per-category settings of a policy entry, the same for every filter that scores categories.

    categories:
      prompt_injection: 0.9                 # a threshold: block (the entry's action) at or above it
      sexual_content: off                   # allowed: never a violation, and not counted by harmful_request
      self_harm: {threshold: 0.5, action: respond}   # answer with the policy's responses.self_harm message
      hate: {action: flag}                  # the filter's measured threshold, flagged instead of blocked
      violent_crimes: block                 # the same, written short (block, flag or respond)

A category left out of the mapping is not enforced on its own (an umbrella category such as
``harmful_request`` still covers it); ``off`` allows it explicitly.
"""

from __future__ import annotations

from typing import Any, Collection, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardrails.thresholds import unit_interval

CategoryAction = Literal["block", "flag", "respond", "off"]


class CategoryRule(BaseModel):
    """How one category is enforced: a threshold (None: the filter's default) and an action
    (None: the entry's action; ``off``: allowed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float | None = Field(default=None, description="Score at or above which the category is a violation.")
    action: CategoryAction | None = Field(default=None, description="block | flag | respond | off; default: the entry's action.")

    @property
    def off(self) -> bool:
        return self.action == "off"


CATEGORY_SETTING_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1, "description": "threshold"},
        {"const": "off", "description": "allowed"},
        {"type": "boolean", "const": False, "description": "YAML reads a bare off as false: allowed"},
        {"enum": ["block", "flag", "respond"], "description": "the filter's threshold, this action"},
        CategoryRule.model_json_schema(),
    ]
}


def parse_categories(value: Any, known: Collection[str], *, what: str = "category") -> dict[str, CategoryRule]:
    """``{name: threshold | off | {threshold, action}}`` -> ``{name: CategoryRule}``; ValueError naming
    the first bad entry. YAML reads a bare ``off`` as false, so false means off too."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"expected a mapping of {what} to a threshold, off, an action, or {{threshold, action}}, got {value!r}")
    out: dict[str, CategoryRule] = {}
    for name, setting in value.items():
        if name not in known:
            import difflib

            close = difflib.get_close_matches(str(name), list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown {what} {name!r}{hint}; known: {', '.join(sorted(known))}")
        if setting is False or setting == "off":
            out[name] = CategoryRule(action="off")
        elif setting in ("block", "flag", "respond"):
            out[name] = CategoryRule(action=setting)
        elif isinstance(setting, dict):
            rule = dict(setting)
            if "threshold" in rule and rule["threshold"] is not None:
                rule["threshold"] = unit_interval(rule["threshold"], f"{name}.threshold")
            try:
                out[name] = CategoryRule.model_validate(rule)
            except Exception as exc:  # noqa: BLE001 - reported as this entry's problem
                first = getattr(exc, "errors", lambda: [{"msg": str(exc)}])()[0]
                raise ValueError(f"{name}: {first.get('msg')} (keys: threshold, action: block | flag | respond | off)") from None
        else:
            out[name] = CategoryRule(threshold=unit_interval(setting, name))
    return out


def action_override(rule: CategoryRule) -> str | None:
    """The policy action a finding of this category takes instead of the entry's, if any."""
    return rule.action if rule.action in ("block", "flag", "respond") else None
