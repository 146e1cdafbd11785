"""Locked floors: what a policy that ``extends`` another may do to the entries and keys it locked.

A base policy (a model publisher's bundled policy, a platform team's base) writes ``locked: true`` on a
filter entry, and may list policy keys in a top-level ``locked: [on_error, responses]``. A policy that
extends it may make a locked entry *stricter* (lower thresholds, stronger actions, more categories,
entities, patterns or words, shorter limits) and nothing else: each weakening is a ``PolicyError`` line
naming the child's file:line of the offending key, the filter and the key, and the base's file:line of
the locked value. ``guardrails.policy._merge`` calls ``after_merge`` on every merge of ``extends``
(files, ``policy_from_dict``, a model's bundled policy: every entry point), so locks hold through any
number of levels: the merged parent is the floor of the next child, and a lock cannot be removed.

The comparison is per key (docs/security.md, "Locked floors", has the table):

- ``action``: ``allow``/``off`` < ``flag`` < the redact family (``redact``, ``mask``, ``hash``,
  ``pseudonymize``) < ``block`` = ``respond`` (both stop the text; switching between them is allowed).
  Within the redact family only a change to ``redact`` (nothing of the value left) is stricter.
- thresholds (``threshold``, ``thresholds:``, a category rule's threshold): lower is stricter. A threshold
  left at the filter's default compares as the class's ``default_threshold``, except for the filters
  whose defaults are measured per category or are the model's own verdict (``builtin``,
  ``safety_model``): there the default cannot be compared with a number, so a child may not replace it.
- limits (``max_chars``, ``max_tokens``, ``keep_last``): lower is stricter; no limit is the weakest.
- ``on_error``: ``allow`` is weaker than ``block`` (the entry's own, else the policy's: a child that sets
  the policy's ``on_error: allow`` weakens every locked entry that inherits it).
- ``mode``: ``monitor`` (shadow mode: findings recorded, nothing blocked or changed) is weaker than ``enforce``
  (the entry's own, else the policy's: a child's policy-level ``mode: monitor`` weakens every locked entry that
  inherits it, reported once at that line with each locked entry's file:line).
- failure limits (``timeout_ms``, ``request_timeout_ms``, ``max_chunks``, ``retries``): with the entry's
  ``on_error`` block a failure blocks, so any change is allowed; with ``allow`` a failure passes the
  text, so adding or lowering one is weaker.
- lists of what is looked for (``patterns``, ``words``, ``entities``, ``kinds``, ``languages``,
  ``recognizers``, a ``categories`` list) may only grow; mappings of labels (``labels``,
  ``ner_labels``) may only gain items; lists of what passes (``allow_list``, ``keep_last_entities``)
  may only shrink.
- ``categories`` rules: every locked category keeps a rule, each at least as strict (threshold and
  action); a new category may be added (``off`` is weaker: it allows a category).
- switches: ``offline``, ``context_words``, ``normalize`` may only turn on; ``case_sensitive`` only off;
  ``allow_list_match`` only from ``regex`` to ``exact``.
- ``file`` (a deny list's file) and ``ner_model`` may be added where there was none, never changed.
- runtime tuning that does not change what is detected (``max_batch``, ``batch_wait_ms``, ``device``,
  ``backoff_ms``, ``mask_char``, ``hash_length``, ``api_key`` rotation) may change.
- every other key (``filter``, ``model``, ``revision``, ``endpoint``, a plugin filter's own keys, ...)
  cannot be ordered, so any change is weaker: a locked filter's model cannot be swapped.
- ``enabled: false`` (or any removal) and ``locked: false`` are weaker.

Policy keys listed in the top-level ``locked:`` (``on_error``, ``offline``, ``refusal``, ``responses``):
``on_error`` may not go from block to allow, ``offline`` not from true to false, ``refusal`` not change,
and each locked ``responses`` message must stay (a child may add categories and locales). A child's
``locked:`` list adds to its parents'; it never removes one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Literal, get_args

from pydantic import BaseModel, SecretStr, ValidationError

from guardrails._yaml import Path_, format_path, hide_values
from guardrails.errors import PolicyError
from guardrails.filter_config import FilterConfig

if TYPE_CHECKING:
    from guardrails.policy import _Raw

__all__ = ["ACTION_RANK", "LOCKABLE", "ORIGIN", "LockableKey", "after_merge"]

STAGES = ("input", "output")
SUFFIX = " (locked filters can only get stricter)"
POLICY_SUFFIX = "locked policy keys can only get stricter"
# Policy keys a top-level `locked:` may list.
LockableKey = Literal["on_error", "offline", "refusal", "responses"]
LOCKABLE: tuple[str, ...] = get_args(LockableKey)
# A key of `_Raw.where` (no policy writes it: it starts with a NUL) under each stage entry: the file:line where
# the entry was first written, which merging keeps (the entry's own line moves to the latest override).
ORIGIN = "\x00defined"

# Strength of an action: a lower rank lets more through. block and respond both stop the text.
ACTION_RANK: dict[str, int] = {
    "allow": 0, "off": 0, "flag": 1, "redact": 2, "mask": 2, "hash": 2, "pseudonymize": 2, "block": 3, "respond": 3,
}
# Filters whose `categories` mapping lists what they enforce (a category left out is not enforced by it),
# and whose default thresholds are not the class's default_threshold (measured per category by the
# shipped detector, or the guard model's own safe/unsafe answer).
LISTED_CATEGORIES = frozenset({"builtin", "safety_model"})
MEASURED_DEFAULTS = frozenset({"builtin", "safety_model"})

# How each key of a filter entry is compared; a key not listed here cannot be ordered ("same").
KINDS: dict[str, str] = {
    "action": "action", "threshold": "threshold", "thresholds": "thresholds", "categories": "categories",
    "on_error": "on_error", "locked": "locked", "mode": "mode",
    "timeout_ms": "fail_limit", "request_timeout_ms": "fail_limit", "max_chunks": "fail_limit", "retries": "fail_limit",
    "max_chars": "limit", "max_tokens": "limit", "keep_last": "limit",
    "patterns": "more", "words": "more", "entities": "more", "kinds": "more", "languages": "more", "recognizers": "more",
    "labels": "more_items", "ner_labels": "more_items",
    "allow_list": "fewer", "keep_last_entities": "fewer",
    "offline": "on", "context_words": "on", "normalize": "on", "case_sensitive": "off_",
    "allow_list_match": "match", "file": "added", "ner_model": "added",
    "max_batch": "neutral", "batch_wait_ms": "neutral", "device": "neutral", "backoff_ms": "neutral",
    "mask_char": "neutral", "hash_length": "neutral", "api_key": "neutral", "enabled": "neutral", "id": "neutral",
}
_MATCH_RANK = {"exact": 0, "regex": 1}  # allow_list_match: regex lets more values pass


class _View:
    """One side of a locked entry, validated: its keys' values, its filter, its default threshold."""

    def __init__(self, values: dict[str, Any], name: str, default_threshold: float | None) -> None:
        self.values = values
        self.name = name
        self.default_threshold = default_threshold


class _Entry:
    """A locked entry of the parent (``old``, at ``i``) and what the merge made of it (``new``, at ``j``)."""

    def __init__(self, stage: str, fid: str, parent: _Raw, i: int, merged: _Raw, j: int,
                 old: _View, new: _View, problems: list[str], inherit: list[str], child_at: str | None,
                 monitored: list[str]) -> None:
        self.stage, self.fid, self.parent, self.i, self.merged, self.j = stage, fid, parent, i, merged, j
        self.child_at = child_at  # the one location of a child without lines (a dict): every problem is there
        self.old, self.new, self.problems = old, new, problems
        self.inherit = inherit  # locked entries weakened by the policy's on_error: reported once, together
        self.monitored = monitored  # ... and those the policy's mode: monitor would put in monitor mode
        self.old_on_error = _policy_on_error(parent)
        self.new_on_error = _policy_on_error(merged)
        self.old_mode = _policy_mode(parent)
        self.new_mode = _policy_mode(merged)

    def report(self, path: Path_, what: Callable[[str], str], *, child_at: str | None = None,
               base_at: str | None = None) -> None:
        """One problem: ``what(base location)`` at the child's line of ``path`` (or ``child_at``)."""
        child = child_at or self.child_at or self.merged.locate((self.stage, self.j, *path))
        base = base_at or self.parent.locate((self.stage, self.i, *path))
        key = f"{self.stage}[{self.fid}]" + ("." + format_path(path) if path else "")
        self.problems.append(f"{child}: {key}: {what(base)}{SUFFIX}")

    def weaker(self, path: Path_, label: str, new: Any, old: Any) -> None:
        self.report(path, lambda base: f"{label} {_show(new)} is weaker than the locked {_show(old)} of {base}")

    def changed(self, path: Path_, label: str, new: Any, old: Any) -> None:
        self.report(path, lambda base: f"{label} {_show(new)} replaces the locked {_show(old)} of {base} "
                                       f"(a change that cannot be ordered counts as weaker)")


def after_merge(parent: _Raw, child: _Raw, merged: _Raw) -> _Raw:
    """Check ``merged`` (``child`` over ``parent``) against the parent's locks; carry the locks and each
    entry's origin over to it. Raises a PolicyError with one line per weakening."""
    problems: list[str] = []
    # A child built from a dict (policy_from_dict) has no lines: the merge keeps the parent's lines for
    # the keys it overrides, so its problems are located at the dict itself instead.
    child_at = None if any(child.where) and set(child.where) != {()} else child.locate(())
    _check_policy_keys(parent, merged, problems, child_at)
    _carry_policy_locks(parent, child, merged)
    inherit: list[str] = []
    monitored: list[str] = []
    for stage in STAGES:
        _check_stage(stage, parent, merged, problems, inherit, child_at, monitored)
    if monitored:
        many = len(monitored) > 1
        problems.append(f"{child_at or merged.locate(('mode',))}: mode: monitor is weaker than the enforce mode that "
                        f"the locked filter{'s' if many else ''} {', '.join(monitored)} inherit{'' if many else 's'} "
                        f"(in monitor mode a filter blocks and changes nothing); give {'them' if many else 'it'} "
                        f"mode: enforce{SUFFIX}")
    if inherit:
        base = parent.where.get(("on_error",), "the default")
        problems.append(f"{child_at or merged.locate(('on_error',))}: on_error: allow is weaker than the locked block ({base}) "
                        f"that the locked filter{'s' if len(inherit) > 1 else ''} {', '.join(inherit)} "
                        f"inherit{'' if len(inherit) > 1 else 's'}; give {'them' if len(inherit) > 1 else 'it'} "
                        f"on_error: block{SUFFIX}")
    if child_at is not None:
        _locate_dict_child(child, merged, child_at)
    _stamp_origins(parent, merged)
    if problems:
        raise PolicyError([hide_values(p, merged.env_values) for p in problems])
    return merged


# -- policy keys -----------------------------------------------------------------------------------


def _policy_locks(raw: _Raw) -> list[str]:
    locks = raw.data.get("locked")
    return [k for k in locks if isinstance(k, str) and k in LOCKABLE] if isinstance(locks, list) else []


def _policy_on_error(raw: _Raw) -> str:
    value = raw.data.get("on_error", "block")
    return value if isinstance(value, str) else "block"


def _policy_mode(raw: _Raw) -> str:
    value = raw.data.get("mode", "enforce")
    return value if isinstance(value, str) else "enforce"


def _check_policy_keys(parent: _Raw, merged: _Raw, problems: list[str], child_at: str | None) -> None:
    lock_at = parent.locate(("locked",))

    def report(path: Path_, text: str) -> None:
        problems.append(f"{child_at or merged.locate(path)}: {format_path(path)}: {text} (locked by {lock_at}; {POLICY_SUFFIX})")

    for key in _policy_locks(parent):
        old, new = parent.data.get(key), merged.data.get(key)
        base = parent.where.get((key,), lock_at)
        if key == "on_error":
            if _policy_on_error(parent) == "block" and new == "allow":
                report((key,), f"allow is weaker than the locked block of {base}")
        elif key == "offline":
            if old is True and new is not True:
                report((key,), f"{_show(new)} is weaker than the locked true of {base}")
        elif key == "refusal":
            from guardrails.policy import DEFAULT_REFUSAL  # policy.py imports this module

            if (DEFAULT_REFUSAL if old is None else old) != (DEFAULT_REFUSAL if new is None else new):
                report((key,), f"changes the locked refusal of {base}")
        elif key == "responses" and isinstance(old, dict):
            kept = new if isinstance(new, dict) else {}
            for category, message in old.items():
                now = kept.get(category)
                where = parent.where.get((key, category), base)
                if now is None:
                    report((key,), f"{category}: the locked message of {where} is missing "
                                            f"(a `responses:` mapping replaces the inherited one: repeat it)")
                elif now != message and not (isinstance(now, dict) and isinstance(message, dict)
                                             and all(now.get(k) == v for k, v in message.items())):
                    report((key, category), f"changes the locked message of {where} (new locales may be added)")


def _carry_policy_locks(parent: _Raw, child: _Raw, merged: _Raw) -> None:
    """A child's `locked:` adds to its parents' (a top-level key of the child would otherwise replace it)."""
    old = parent.data.get("locked")
    new = child.data.get("locked")
    if not isinstance(old, list) or not old or not (new is None or isinstance(new, list)):
        return  # nothing to carry, or a value that validation reports
    if not all(isinstance(k, str) for k in [*old, *(new or [])]):
        return
    merged.data["locked"] = list(dict.fromkeys([*old, *(new or [])]))
    if ("locked",) not in merged.where and ("locked",) in parent.where:
        merged.where[("locked",)] = parent.where[("locked",)]


# -- filter entries --------------------------------------------------------------------------------


def _entry_id(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    fid = entry.get("id") or entry.get("filter")
    return fid if isinstance(fid, str) else None


def _view(entry: Any, path: Path_, raw: _Raw) -> _View | None:
    """The entry validated as its filter's Config (None when invalid: validation reports it later).
    A ``package.module:ClassName`` filter is never imported here: its common keys are validated, its
    own keys compared as written."""
    from guardrails.policy import _filters, _validate_entry  # policy.py imports this module

    if not isinstance(entry, dict):
        return None
    name = entry.get("filter")
    if not isinstance(name, str):
        return None
    if ":" in name:
        try:
            common = FilterConfig.model_validate({k: v for k, v in entry.items() if k in FilterConfig.model_fields})
        except ValidationError:
            return None
        return _View({**entry, **{k: getattr(common, k) for k in FilterConfig.model_fields}}, name, None)
    cfg = _validate_entry(entry, path, raw, [], False)
    if cfg is None:
        return None
    values = {k: getattr(cfg, k) for k in type(cfg).model_fields}
    resolved = getattr(cfg, "resolved_entities", None)
    if callable(resolved):
        values["entities"] = tuple(resolved())  # pii: the default entity list when none is written
    default = None if name in MEASURED_DEFAULTS else getattr(_filters().resolve(name), "default_threshold", None)
    return _View(values, name, float(default) if isinstance(default, (int, float)) else None)


def _check_stage(stage: str, parent: _Raw, merged: _Raw, problems: list[str], inherit: list[str],
                 child_at: str | None, monitored: list[str]) -> None:
    before, after = parent.data.get(stage), merged.data.get(stage)
    if not isinstance(before, list) or not isinstance(after, list):
        return  # a stage that is not a list is reported by validation
    for i, entry in enumerate(before):
        if not isinstance(entry, dict) or "locked" not in entry:
            continue
        fid = _entry_id(entry)
        old = _view(entry, (stage, i), parent)
        if fid is None or old is None or old.values.get("locked") is not True or not old.values.get("enabled", True):
            continue
        # _merge keeps the parent's entries in order and overrides them in place.
        j = i if i < len(after) and _entry_id(after[i]) == fid else next(
            (k for k, e in enumerate(after) if _entry_id(e) == fid), -1)
        lock_at = parent.locate((stage, i, "locked"))
        key = f"{stage}[{fid}]"
        if j < 0:
            problems.append(f"{child_at or merged.locate((stage,))}: {key}: the locked filter of {lock_at} is missing{SUFFIX}")
            continue
        now = after[j]
        if isinstance(now, dict) and now.get("enabled") is False:
            problems.append(f"{child_at or merged.locate((stage, j, 'enabled'))}: {key}.enabled: false removes the locked filter "
                            f"of {lock_at}{SUFFIX}")
            continue
        new = _view(now, (stage, j), merged)
        if new is None:
            continue  # invalid: validation reports it
        if not new.values.get("enabled", True):
            problems.append(f"{child_at or merged.locate((stage, j, 'enabled'))}: {key}.enabled: {_show(now.get('enabled'))} "
                            f"removes the locked filter of {lock_at}{SUFFIX}")
            continue
        _compare(_Entry(stage, fid, parent, i, merged, j, old, new, problems, inherit, child_at, monitored))


def _compare(e: _Entry) -> None:
    old, new = e.old.values, e.new.values
    for key in dict.fromkeys([*old, *new]):
        kind = KINDS.get(key, "same")
        if kind != "neutral":
            _COMPARE[kind](e, key, old.get(key), new.get(key))


def _same(e: _Entry, key: str, old: Any, new: Any) -> None:
    if old != new:
        e.changed((key,), key, new, old)


def _action(e: _Entry, key: str, old: Any, new: Any) -> None:
    _cmp_action(e, (key,), "action", old, new)


def _cmp_action(e: _Entry, path: Path_, label: str, old: Any, new: Any, *, base_at: str | None = None) -> None:
    if old == new:
        return
    before, after = ACTION_RANK.get(str(old)), ACTION_RANK.get(str(new))
    if before is None or after is None:
        e.report(path, lambda base: f"{label} {_show(new)} replaces the locked {_show(old)} of {base} "
                                    f"(a change that cannot be ordered counts as weaker)", base_at=base_at)
    elif after < before:
        e.report(path, lambda base: f"{label} {_show(new)} is weaker than the locked {_show(old)} of {base}", base_at=base_at)
    elif after == before == ACTION_RANK["redact"] and new != "redact":
        e.report(path, lambda base: f"{label} {_show(new)} is weaker than the locked {_show(old)} of {base}: "
                                    f"within the redact family only redact is stricter", base_at=base_at)


def _cmp_threshold(e: _Entry, path: Path_, label: str, old: float | None, new: float | None, *,
                   base_at: str | None = None) -> None:
    """Thresholds: None is the filter's own default, which cannot be compared with a number."""
    if old == new:
        return
    if old is None:
        e.report(path, lambda base: f"{label} {_show(new)} cannot be compared with the filter's default threshold "
                                    f"that the locked entry of {base} keeps (write the threshold in the locked "
                                    f"entry to let policies that extend it lower it)", base_at=base_at)
    elif new is None:
        e.report(path, lambda base: f"{label} (the filter's default) replaces the locked {_show(old)} of {base}",
                 base_at=base_at)
    elif new > old:
        e.report(path, lambda base: f"{label} {_show(new)} is weaker than the locked {_show(old)} of {base}",
                 base_at=base_at)


def _entry_threshold(e: _Entry, view: _View) -> float | None:
    value = view.values.get("threshold")
    return float(value) if isinstance(value, (int, float)) else view.default_threshold


def _threshold(e: _Entry, key: str, old: Any, new: Any) -> None:
    _cmp_threshold(e, (key,), key, _entry_threshold(e, e.old), _entry_threshold(e, e.new))


def _thresholds(e: _Entry, key: str, old: Any, new: Any) -> None:
    before = old if isinstance(old, dict) else {}
    after = new if isinstance(new, dict) else {}
    if (old is not None and not isinstance(old, dict)) or (new is not None and not isinstance(new, dict)):
        _same(e, key, old, new)
        return
    for name in dict.fromkeys([*before, *after]):
        was = before.get(name, _entry_threshold(e, e.old))
        now = after.get(name, _entry_threshold(e, e.new))
        base_at = None if name in before else e.parent.locate((e.stage, e.i, "threshold"))
        _cmp_threshold(e, (key, name), "threshold", was, now, base_at=base_at)


def _fallback(e: _Entry, view: _View, category: str) -> float | None:
    """The threshold of a category whose rule states none."""
    if view.name in MEASURED_DEFAULTS:
        return None
    per = view.values.get("thresholds")
    if isinstance(per, dict) and isinstance(per.get(category), (int, float)):
        return float(per[category])
    return _entry_threshold(e, view)


def _is_rules(value: Any) -> bool:
    return isinstance(value, dict) and all(hasattr(r, "threshold") and hasattr(r, "action") for r in value.values())


def _categories(e: _Entry, key: str, old: Any, new: Any) -> None:
    if old is None and new is None:
        return
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        _more(e, key, old, new)
    elif old is None and e.old.name in LISTED_CATEGORIES:
        e.report((key,), lambda base: f"a {key} mapping replaces the default categories of the locked entry of {base} "
                                      f"(only the categories listed would be enforced)")
    elif not (_is_rules(old) and _is_rules(new)):
        _same(e, key, old, new)
    else:
        _rules(e, key, old, new)


def _rules(e: _Entry, key: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    listed = e.old.name in LISTED_CATEGORIES
    for category, rule in old.items():
        now = new.get(category)
        path = (key, category)
        if now is None:
            e.report(path, lambda base: f"the rule of the locked entry of {base} is missing")
            continue
        was_t = rule.threshold if rule.threshold is not None else _fallback(e, e.old, category)
        now_t = now.threshold if now.threshold is not None else _fallback(e, e.new, category)
        if not (rule.action == "off" or now.action == "off"):
            _cmp_threshold(e, path, "threshold", was_t, now_t)
        if rule.action is not None or now.action is not None:
            _cmp_action(e, path, "action", rule.action or e.old.values.get("action"), now.action or e.new.values.get("action"))
    for category, now in new.items():
        if category in old:
            continue
        path = (key, category)
        entry_at = e.parent.locate((e.stage, e.i))
        if now.action == "off":
            e.report(path, lambda base: f"off allows a category that the locked entry of {base} does not allow",
                     base_at=entry_at)
        elif not listed:  # the category was enforced by the entry's own threshold and action
            now_t = now.threshold if now.threshold is not None else _fallback(e, e.new, category)
            _cmp_threshold(e, path, "threshold", _fallback(e, e.old, category), now_t, base_at=entry_at)
            if now.action is not None:
                _cmp_action(e, path, "action", e.old.values.get("action"), now.action, base_at=entry_at)


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _missing(wanted: list[Any], present: list[Any]) -> list[Any]:
    """Items of ``wanted`` not in ``present`` (sets when the items are hashable)."""
    try:
        have = set(present)
        return [x for x in wanted if x not in have]
    except TypeError:
        return [x for x in wanted if x not in present]


def _more(e: _Entry, key: str, old: Any, new: Any) -> None:
    gone = _missing(_items(old), _items(new))
    if gone:
        e.report((key,), lambda base: f"{len(gone)} of the locked {key} of {base} "
                                      f"{'is' if len(gone) == 1 else 'are'} missing: {_show(gone)}")


def _more_items(e: _Entry, key: str, old: Any, new: Any) -> None:
    if not isinstance(old, dict) or not isinstance(new, dict):
        _same(e, key, old, new)
        return
    gone = [k for k, v in old.items() if k not in new or new[k] != v]
    if gone:
        e.report((key,), lambda base: f"{_show(gone)}: missing or changed from the locked {key} of {base}")


def _fewer(e: _Entry, key: str, old: Any, new: Any) -> None:
    added = _missing(_items(new), _items(old))
    if added:
        e.report((key,), lambda base: f"{_show(added)} added to the locked {key} of {base} (more would pass)")


def _limit(e: _Entry, key: str, old: Any, new: Any) -> None:
    if old is None or old == new:
        return
    if new is None:
        e.report((key,), lambda base: f"no {key} is weaker than the locked {_show(old)} of {base}")
    elif new > old:
        e.weaker((key,), key, new, old)


def _effective_on_error(e: _Entry, view: _View, policy_on_error: str) -> str:
    own = view.values.get("on_error")
    return own if isinstance(own, str) else policy_on_error


def _on_error(e: _Entry, key: str, old: Any, new: Any) -> None:
    was = _effective_on_error(e, e.old, e.old_on_error)
    now = _effective_on_error(e, e.new, e.new_on_error)
    if was == "block" and now == "allow":
        if isinstance(new, str):
            base_at = None if isinstance(old, str) else e.parent.where.get(("on_error",), e.parent.locate((e.stage, e.i)))
            e.report((key,), lambda base: f"on_error allow is weaker than the locked block of {base}", base_at=base_at)
        else:  # the entry inherits the policy's on_error, which the child set to allow
            e.inherit.append(f"{e.stage}[{e.fid}]")


def _mode(e: _Entry, key: str, old: Any, new: Any) -> None:
    """monitor (findings recorded, nothing blocked or changed) is weaker than enforce: the entry's own mode, else the
    policy's. A locked entry that inherits a child's policy-level mode: monitor is reported once (after_merge)."""
    was = old if isinstance(old, str) else e.old_mode
    now = new if isinstance(new, str) else e.new_mode
    if was != "enforce" or now != "monitor":
        return
    lock_at = e.parent.locate((e.stage, e.i, "locked"))
    if isinstance(new, str):
        e.report((key,), lambda base: f"mode monitor is weaker than the locked enforce of {base}",
                 base_at=None if isinstance(old, str) else lock_at)
    else:
        e.monitored.append(f"{e.stage}[{e.fid}] (locked at {lock_at})")


def _fail_limit(e: _Entry, key: str, old: Any, new: Any) -> None:
    """A limit whose crossing is a failure: on_error block turns it into a block, allow into a pass."""
    if old == new or _effective_on_error(e, e.new, e.new_on_error) != "allow":
        return
    if new is not None and (old is None or new < old):
        e.report((key,), lambda base: f"{key} {_show(new)} is weaker than the locked {_show(old)} of {base}: with "
                                      f"on_error allow a check that fails passes the text (with on_error block it may change)")


def _locked(e: _Entry, key: str, old: Any, new: Any) -> None:
    if old is True and new is not True:
        e.report((key,), lambda base: f"{_show(new)} unlocks the locked filter of {base}")


def _switch(on_is_stricter: bool) -> Callable[[_Entry, str, Any, Any], None]:
    def compare(e: _Entry, key: str, old: Any, new: Any) -> None:
        if bool(old) == on_is_stricter and bool(new) != on_is_stricter:
            e.weaker((key,), key, new, old)
    return compare


def _match(e: _Entry, key: str, old: Any, new: Any) -> None:
    if old != new and _MATCH_RANK.get(str(new), 9) > _MATCH_RANK.get(str(old), -1):
        e.weaker((key,), key, new, old)


def _added(e: _Entry, key: str, old: Any, new: Any) -> None:
    if old is not None and new != old:
        e.changed((key,), key, new, old)


_COMPARE: dict[str, Callable[[_Entry, str, Any, Any], None]] = {
    "same": _same, "action": _action, "threshold": _threshold, "thresholds": _thresholds,
    "categories": _categories, "on_error": _on_error, "locked": _locked, "mode": _mode, "fail_limit": _fail_limit,
    "limit": _limit, "more": _more, "more_items": _more_items, "fewer": _fewer,
    "on": _switch(True), "off_": _switch(False), "match": _match, "added": _added,
}


def _stamp_origins(parent: _Raw, merged: _Raw) -> None:
    """Keep, for each merged entry, the file:line where it was first written (guardrails.policy_sources)."""
    for stage in STAGES:
        before, after = parent.data.get(stage), merged.data.get(stage)
        if not isinstance(before, list) or not isinstance(after, list):
            continue
        for j in range(len(after)):
            src = parent if j < len(before) else merged
            origin = src.where.get((stage, j, ORIGIN)) or src.where.get((stage, j))
            if origin:
                merged.where[(stage, j, ORIGIN)] = origin


def _locate_dict_child(child: _Raw, merged: _Raw, child_at: str) -> None:
    """Give the keys a dict child (no lines) wrote its one location, where the merge left the parent's."""
    def own(prefix: Path_) -> None:
        for path in [p for p in merged.where if p[:len(prefix)] == prefix and ORIGIN not in p]:
            del merged.where[path]
        merged.where[prefix] = child_at

    for key in child.data:
        if key not in STAGES:
            own((key,))
    for stage in STAGES:
        items, after = child.data.get(stage), merged.data.get(stage)
        if not isinstance(items, list) or not isinstance(after, list):
            continue
        ids = [_entry_id(e) for e in after]
        for entry in items:
            eid = _entry_id(entry)
            if eid is None or eid not in ids or not isinstance(entry, dict):
                continue
            j = ids.index(eid)
            merged.where.setdefault((stage, j), child_at)  # an entry the child added
            for key in entry:
                own((stage, j, key))


def _show(value: Any) -> str:
    """A value as the messages print it (never a secret)."""
    if isinstance(value, SecretStr):
        return "(a secret)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, BaseModel):
        return repr(value.model_dump(mode="json", exclude_none=True))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        shown = ", ".join(repr(x) if isinstance(x, str) else _show(x) for x in items[:5])
        return shown + (f", ... ({len(items)} in all)" if len(items) > 5 else "")
    return str(value)
