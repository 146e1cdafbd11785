"""Change threshold numbers in a policy file's YAML text, keeping everything else as written.

PyYAML does not round-trip a document (a load and dump loses comments, key order and styles), so this
module edits the text itself: it composes the YAML (the same parser the policy loader uses) to find the
exact position of every node, then replaces the few numbers that change and inserts the keys that are
missing, with the indentation (block) or the ``, key: value`` form (flow mapping) of their surroundings.
Nothing else of the file moves: comments, blank lines, key order, quoting and line endings stay.

An edit names a filter entry the way the policy merge does (its ``id``, else its ``filter``) and a key
path inside it:

- ``("threshold",)``: the entry's one threshold;
- ``("thresholds", category)``: a per-category threshold (toxicity, pii, classifier, plugins);
- ``("categories", category)``: a category rule (builtin, classifier): a number is replaced; a rule
  ``{threshold: x, action: a}`` gets its threshold replaced or added; an action alone (``flag``) becomes
  ``{threshold: x, action: flag}``; a new rule keeps the ``action`` the edit carries.

An entry that the file does not write (it comes from an ``extends`` parent) is added at the end of its
stage (``- filter: NAME`` with ``id:`` when it has one, and the keys), which the merge combines with the
parent's entry key by key; a stage the file does not have is added at the end of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

import yaml

from guardrails.errors import PolicyError

__all__ = ["PolicyEditError", "ThresholdEdit", "apply_threshold_edits", "format_threshold"]

STAGES = ("input", "output")
RULE_ACTIONS = ("block", "flag", "respond")
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class PolicyEditError(PolicyError):
    """A threshold cannot be written into the policy text (its value is an alias, a ``${VAR}``, an
    ``off`` category, or the file has a shape that cannot be edited safely); the message says where."""


@dataclass(frozen=True)
class ThresholdEdit:
    """Set the number at ``path`` of the entry ``entry_id`` of ``stage`` to ``value``."""

    stage: str
    entry_id: str
    filter: str  # the entry's filter name, written when the entry has to be added
    path: tuple[str, ...]
    value: float
    action: str | None = None  # a category rule's action, kept when the rule is written anew
    decimals: int | None = None  # digits to write; None: as few as the value needs


def format_threshold(value: float, decimals: int | None = None) -> str:
    """A threshold as a policy writes it: ``0.871``, ``0.5``, ``1.0`` (never ``1e-05``)."""
    if decimals is not None:
        text = f"{value:.{decimals}f}"
    else:
        text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return text


def apply_threshold_edits(text: str, edits: Sequence[ThresholdEdit], source: str = "<policy>") -> str:
    """``text`` with every edit applied; everything else as it was. Raises PolicyEditError naming the
    ``source:line`` of a value it cannot change."""
    if not edits:
        return text
    crlf = "\r\n" in text
    body = text.replace("\r\n", "\n")
    out = _Editor(body, source).run(edits)
    return out.replace("\n", "\r\n") if crlf else out


# -- the editor ------------------------------------------------------------------------------------


@dataclass
class _Insert:
    """Keys to add to one mapping node (values: a number text, or a nested mapping of them)."""

    node: yaml.MappingNode
    depth: int
    items: dict[str, Any] = field(default_factory=dict)


@dataclass
class _NewEntry:
    filter: str
    entry_id: str
    keys: dict[str, Any] = field(default_factory=dict)


class _Editor:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise PolicyEditError(f"{source}: invalid YAML: {getattr(exc, 'problem', None) or type(exc).__name__}") from None
        if not isinstance(root, yaml.MappingNode) or root.flow_style:
            raise PolicyEditError(f"{source}: expected a block mapping of policy keys at the top level")
        self.root = root
        self.replacements: list[tuple[int, int, str]] = []
        self.inserts: dict[int, _Insert] = {}
        self.new_entries: dict[str, dict[str, _NewEntry]] = {}
        self.step = _indent_step(root)

    # -- planning ----------------------------------------------------------------------------

    def run(self, edits: Sequence[ThresholdEdit]) -> str:
        for edit in edits:
            self.plan(edit)
        return self.render()

    def where(self, node: yaml.Node) -> str:
        return f"{self.source}:{node.start_mark.line + 1}"

    def plan(self, edit: ThresholdEdit) -> None:
        if edit.stage not in STAGES:
            raise PolicyEditError(f"{self.source}: unknown stage {edit.stage!r}")
        if not edit.path or edit.path[0] not in ("threshold", "thresholds", "categories") or \
                len(edit.path) != (1 if edit.path[0] == "threshold" else 2):
            raise PolicyEditError(f"{self.source}: cannot edit key {'.'.join(edit.path)!r} (only threshold, "
                                  "thresholds.CATEGORY and categories.CATEGORY)")
        number = format_threshold(edit.value, edit.decimals)
        entry = self.entry(edit.stage, edit.entry_id)
        if entry is None:
            new = self.new_entries.setdefault(edit.stage, {}).setdefault(edit.entry_id, _NewEntry(edit.filter, edit.entry_id))
            if edit.path[0] == "threshold":
                new.keys["threshold"] = number
            else:
                new.keys.setdefault(edit.path[0], {})[edit.path[1]] = _rule_text(edit, number)
            return
        if edit.path[0] == "threshold":
            self.set_key(entry, "threshold", number, depth=1)
            return
        group, category = edit.path
        found = _get(entry, group)
        if found is None:
            self.insert(entry, 1, group, {category: _rule_text(edit, number)})
            return
        key_node, value = found
        if not isinstance(value, yaml.MappingNode):
            raise PolicyEditError(f"{self.where(value)}: {edit.stage}[{edit.entry_id}].{group}: expected a mapping "
                                  f"to add {category!r} to")
        found = _get(value, category)
        if found is None:
            self.insert(value, 2, category, _rule_text(edit, number))
            return
        rule_key, rule = found
        path = f"{edit.stage}[{edit.entry_id}].{group}.{category}"
        if isinstance(rule, yaml.MappingNode):
            if group != "categories":
                raise PolicyEditError(f"{self.where(rule)}: {path}: expected a number, got a mapping")
            self.set_key(rule, "threshold", number, depth=3, path=path)
        elif isinstance(rule, yaml.ScalarNode) and _is_number(rule):
            self.replace(rule_key, rule, number, path)
        elif isinstance(rule, yaml.ScalarNode) and group == "categories" and rule.tag == "tag:yaml.org,2002:str" \
                and rule.value in RULE_ACTIONS and rule.style is None:
            self.replacements.append((rule.start_mark.index, rule.end_mark.index,
                                      f"{{threshold: {number}, action: {rule.value}}}"))
        else:
            shown = rule.value if isinstance(rule, yaml.ScalarNode) else type(rule).__name__
            raise PolicyEditError(f"{self.where(rule)}: {path}: {shown!r} is not a threshold this file can change "
                                  "(write a number there, or change it by hand)")

    def entry(self, stage: str, entry_id: str) -> yaml.MappingNode | None:
        found = _get(self.root, stage)
        if found is None:
            return None
        _, seq = found
        if not isinstance(seq, yaml.SequenceNode):
            if isinstance(seq, yaml.ScalarNode) and seq.tag == "tag:yaml.org,2002:null":
                return None
            raise PolicyEditError(f"{self.where(seq)}: {stage}: expected a list of filter entries")
        matches = [item for item in seq.value if isinstance(item, yaml.MappingNode) and _entry_id(item) == entry_id]
        if len(matches) > 1:
            raise PolicyEditError(f"{self.where(matches[1])}: {stage}: more than one entry with id {entry_id!r}")
        return matches[0] if matches else None

    def set_key(self, mapping: yaml.MappingNode, key: str, number: str, *, depth: int, path: str = "") -> None:
        found = _get(mapping, key)
        if found is None:
            self.insert(mapping, depth, key, number)
            return
        key_node, value = found
        if not (isinstance(value, yaml.ScalarNode) and _is_number(value)):
            shown = value.value if isinstance(value, yaml.ScalarNode) else type(value).__name__
            raise PolicyEditError(f"{self.where(key_node)}: {path or key}: {shown!r} is not a number this file can change")
        self.replace(key_node, value, number, path or key)

    def replace(self, key: yaml.Node, node: yaml.ScalarNode, number: str, path: str) -> None:
        written = self.text[node.start_mark.index:node.end_mark.index]
        if node.start_mark.index < key.end_mark.index:  # an alias (*name): the value is written elsewhere
            raise PolicyEditError(f"{self.where(key)}: {path}: the value is an alias (*name) of {self.where(node)}; "
                                  "change it there by hand")
        if node.style is not None or written.strip() != node.value:
            raise PolicyEditError(f"{self.where(node)}: {path}: {written!r} is not a plain number this file can change")
        self.replacements.append((node.start_mark.index, node.end_mark.index, number))

    def insert(self, mapping: yaml.MappingNode, depth: int, key: str, value: Any) -> None:
        pending = self.inserts.setdefault(id(mapping), _Insert(mapping, depth))
        if isinstance(value, dict) and isinstance(pending.items.get(key), dict):
            pending.items[key].update(value)
        else:
            pending.items[key] = value

    # -- writing -----------------------------------------------------------------------------

    def render(self) -> str:
        # (start, end, order, text), applied from the end of the file: at one offset, a higher order is
        # applied first and so ends up after the others. An inner mapping's new keys come before the
        # enclosing mapping's (order -depth); entries added to a stage come after both.
        changes: list[tuple[int, int, int, str]] = [(s, e, 0, t) for s, e, t in self.replacements]
        for pending in self.inserts.values():
            at, text = self.insert_text(pending)
            changes.append((at, at, -pending.depth, text))
        changes.extend(self.new_entries_changes())
        text = self.text
        for start, end, _, new in sorted(changes, key=lambda c: (c[0], c[2]), reverse=True):
            if start == len(self.text) and self.text and not self.text.endswith("\n") and new.endswith("\n"):
                new = "\n" + new[:-1]
            text = text[:start] + new + text[end:]
        return text

    def insert_text(self, pending: _Insert) -> tuple[int, str]:
        node = pending.node
        if node.flow_style:
            parts = [f"{_key(k)}: {_flow(v)}" for k, v in pending.items.items()]
            if node.value:
                return node.value[-1][1].end_mark.index, ", " + ", ".join(parts)
            return node.start_mark.index + 1, ", ".join(parts)
        if not node.value:
            raise PolicyEditError(f"{self.where(node)}: cannot add keys to an empty block mapping")
        column = node.value[0][0].start_mark.column
        return self.after(node), _block_lines(pending.items, column, self.step)

    def after(self, node: yaml.Node) -> int:
        """The offset where lines that follow ``node``'s last line go."""
        end = _end_of(node)
        if end.column == 0 and end.index > 0:
            return int(end.index)  # a block scalar ends at the start of the next line
        newline = self.text.find("\n", end.index)
        return len(self.text) if newline < 0 else newline + 1

    def new_entries_changes(self) -> list[tuple[int, int, int, str]]:
        out: list[tuple[int, int, int, str]] = []
        for stage, entries in self.new_entries.items():
            items = list(entries.values())
            found = _get(self.root, stage)
            if found is None:  # a stage the file does not have: at the end of the file
                lines = "".join(_entry_lines(e, self.step, self.step * 2, self.step) for e in items)
                out.append((len(self.text), len(self.text), 100, f"{stage}:\n{lines}"))
                continue
            key_node, seq = found
            if isinstance(seq, yaml.SequenceNode) and not seq.flow_style and seq.value:
                first = seq.value[0]
                line_start = self.text.rfind("\n", 0, first.start_mark.index) + 1
                dash = self.text.find("-", line_start, first.start_mark.index)
                if dash < 0:
                    raise PolicyEditError(f"{self.where(first)}: {stage}: cannot tell this list's indentation")
                keys = first.start_mark.column
                lines = "".join(_entry_lines(e, dash - line_start, keys, self.step) for e in items)
                at = self.after(seq.value[-1])
                out.append((at, at, 100, lines))
            elif (isinstance(seq, yaml.SequenceNode) and not seq.value) or \
                    (isinstance(seq, yaml.ScalarNode) and seq.tag == "tag:yaml.org,2002:null"):
                # `input: []` or `input:` with nothing: the entries follow as a block list.
                dash = key_node.start_mark.column + self.step
                lines = "".join(_entry_lines(e, dash, dash + 2, self.step) for e in items)
                start, end = int(seq.start_mark.index), int(seq.end_mark.index)
                if start != end:  # `input: []`: drop the brackets and the spaces before them
                    colon = self.text.find(":", int(key_node.end_mark.index), start)
                    out.append((colon + 1 if colon >= 0 else start, end, 0, ""))
                newline = self.text.find("\n", max(end, int(key_node.end_mark.index)))
                at = len(self.text) if newline < 0 else newline + 1
                out.append((at, at, 100, lines))
            else:
                raise PolicyEditError(f"{self.where(seq)}: {stage}: a flow-style list ([...]) cannot be extended here; "
                                      "write it as a block list (one '- filter:' per line)")
        return out


# -- helpers -----------------------------------------------------------------------------------------


def _get(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return k, v
    return None


def _entry_id(entry: yaml.MappingNode) -> str | None:
    for name in ("id", "filter"):
        found = _get(entry, name)
        if found is not None and isinstance(found[1], yaml.ScalarNode) and found[1].value:
            return str(found[1].value)
    return None


def _is_number(node: yaml.ScalarNode) -> bool:
    return node.tag in (_INT, _FLOAT)


def _end_of(node: yaml.Node) -> Any:
    """The end mark of ``node``'s written text (the last value of a block collection)."""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        return _end_of(last[1] if isinstance(last, tuple) else last)
    return node.end_mark


def _indent_step(root: yaml.MappingNode) -> int:
    """The file's indentation step: how far the first nested block mapping sits right of its key."""
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(v, yaml.MappingNode) and not v.flow_style and v.value and v.start_mark.line > k.start_mark.line:
                    step = v.value[0][0].start_mark.column - k.start_mark.column
                    if step > 0:
                        return int(step)
                stack.append(v)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return 2


def _rule_text(edit: ThresholdEdit, number: str) -> str:
    if edit.path[0] == "categories" and edit.action in RULE_ACTIONS:
        return f"{{threshold: {number}, action: {edit.action}}}"
    return number


def _key(name: str) -> str:
    text = yaml.safe_dump({name: None}, default_flow_style=False, width=1 << 30)
    return text[: -len(": null\n")] if text.endswith(": null\n") else yaml.safe_dump(name).strip()


def _scalar(value: str) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip()
    return text[: -len("...")].strip() if text.endswith("...") else text


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    return str(value)


def _block_lines(items: dict[str, Any], column: int, step: int) -> str:
    out = []
    for key, value in items.items():
        if isinstance(value, dict):
            out.append(" " * column + f"{_key(key)}:\n")
            out.append(_block_lines(value, column + step, step))
        else:
            out.append(" " * column + f"{_key(key)}: {value}\n")
    return "".join(out)


def _entry_lines(entry: _NewEntry, dash: int, keys: int, step: int) -> str:
    head = {"filter": _scalar(entry.filter)}
    if entry.entry_id != entry.filter:
        head["id"] = _scalar(entry.entry_id)
    body = _block_lines({**head, **entry.keys}, keys, step)
    return " " * dash + "-" + " " * (keys - dash - 1) + body[keys:]
