"""Evaluation datasets: JSONL lines ``{"text", "label", "category"?, "stage"?, "prompt"?, "source"?, "spans"?}``.

A line may give ``messages`` (OpenAI chat messages: a whole conversation, tool calls and tool results
included) in place of ``text``: the policy then checks the conversation as the sidecar and the Python
API do (``Example.content``), and ``text`` is its rendering (for length bands and reports).

An output-stage line (``"stage": "output"``) is a model's answer; ``prompt`` is the request that
produced it, and the output filters read the answer with it.

Classification lines carry ``label`` (``"safe"`` or ``"unsafe"``); PII lines carry ``spans``
(``[{"start", "end", "entity_type"}]``, Python string offsets, ``end`` exclusive) and may omit
the label. Other fields (source-specific metadata) are ignored. Every error names the file,
the line and the field, and never quotes the text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from guardrails.conversation import ContentError, parts_of
from guardrails.errors import GuardrailsError
from guardrails.types import Stage, render_conversation

LABELS = ("safe", "unsafe")
MAX_REPORTED_PROBLEMS = 20


class DatasetError(GuardrailsError):
    """A dataset file is missing or has bad lines; ``problems`` holds one ``file:line: field: ...`` each."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class GoldSpan:
    """An expected PII span: ``text[start:end]`` is an entity of ``entity_type``."""

    start: int
    end: int
    entity_type: str


@dataclass(frozen=True)
class Example:
    """One evaluation line. ``label`` is None for span-only (PII) lines."""

    text: str
    label: str | None
    category: str | None
    source: str
    stage: Stage | None = None
    spans: tuple[GoldSpan, ...] | None = None
    id: str | None = None
    where: str = field(default="", compare=False)  # "file:line", for messages
    prompt: str | None = None  # output stage: the request the answer responds to
    messages: tuple[dict[str, Any], ...] | None = field(default=None, compare=False)  # given in place of text

    @property
    def content(self) -> str | list[dict[str, Any]]:
        """What a check reads: the chat messages when the line gave them, else the text."""
        return list(self.messages) if self.messages is not None else self.text

    @property
    def unsafe(self) -> bool:
        return self.label == "unsafe"

    @property
    def has_label(self) -> bool:
        return self.label is not None


def read_dataset(paths: Iterable[str | Path]) -> list[Example]:
    """Read one or more JSONL files; raise DatasetError listing every bad line (up to 20)."""
    examples: list[Example] = []
    problems: list[str] = []
    for path in paths:
        examples.extend(read_file(Path(path), problems))
    raise_problems(problems)
    return examples


def raise_problems(problems: list[str]) -> None:
    """Raise DatasetError listing the bad lines (the first MAX_REPORTED_PROBLEMS, then a count), if any."""
    if not problems:
        return
    if len(problems) > MAX_REPORTED_PROBLEMS:
        extra = len(problems) - MAX_REPORTED_PROBLEMS
        problems = [*problems[:MAX_REPORTED_PROBLEMS], f"... and {extra} more bad line(s)"]
    raise DatasetError(problems)


def read_file(path: Path, problems: list[str]) -> list[Example]:
    """The examples of one JSONL file; each bad line's problem (``file:line: ...``) is appended to ``problems``."""
    if not path.is_file():
        raise DatasetError(f"{path}: dataset file not found")
    out: list[Example] = []
    try:
        with path.open(encoding="utf-8-sig") as fh:  # a BOM (Windows editors) is not part of line 1
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{path}:{n}"
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
                    continue
                try:
                    out.append(parse_line(item, where, default_source=path.stem))
                except ValueError as exc:
                    problems.append(f"{where}: {exc}")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return out


def parse_line(item: Any, where: str = "<line>", default_source: str = "") -> Example:
    """Validate one decoded JSON line; raise ValueError('field: expected ..., got ...')."""
    if not isinstance(item, dict):
        raise ValueError(f"(line): expected a JSON object, got {_kind(item)}")
    messages = parse_messages(item["messages"]) if item.get("messages") is not None else None
    text = item.get("text") if messages is None else render_conversation(messages)
    if not isinstance(text, str):
        alternative = " (or 'messages': a list of chat messages)" if text is None else ""
        raise ValueError(f"text: expected a string{alternative}, got {_kind(text)}")
    if messages is not None and "spans" in item:
        raise ValueError("spans: give 'text' with spans, not 'messages'")
    label = item.get("label")
    spans = _parse_spans(item["spans"], len(text)) if "spans" in item else None
    if label is None and spans is None:
        raise ValueError("label: missing (expected \"safe\" or \"unsafe\"; or give 'spans' for a PII line)")
    if label is not None and label not in LABELS:
        raise ValueError(f"label: expected \"safe\" or \"unsafe\", got {_short(label)}")
    category = item.get("category")  # None: the line names no category (its label is not one)
    if category is not None and (not isinstance(category, str) or not category):
        raise ValueError(f"category: expected a non-empty string, got {_short(category)}")
    source = item.get("source", default_source)
    if not isinstance(source, str):
        raise ValueError(f"source: expected a string, got {_short(source)}")
    stage = None
    if item.get("stage") is not None:
        try:
            stage = Stage(item["stage"])
        except ValueError:
            raise ValueError(f"stage: expected \"input\" or \"output\", got {_short(item['stage'])}") from None
    prompt = item.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise ValueError(f"prompt: expected a string (the request an answer responds to), got {_kind(prompt)}")
    ident = item.get("id")
    return Example(text, label, category, source, stage, spans, None if ident is None else str(ident), where, prompt,
                   messages)


def parse_messages(raw: Any) -> tuple[dict[str, Any], ...]:
    """``messages`` of a JSONL line: a non-empty list of chat message objects, each readable strictly
    (``guardrails.conversation``); ValueError naming the message otherwise."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"messages: expected a non-empty list of chat messages, got {_kind(raw)}")
    try:
        parts_of(raw, strict=True)
    except ContentError as exc:
        raise ValueError(str(exc)) from None
    return tuple(raw)


def _parse_spans(raw: Any, length: int) -> tuple[GoldSpan, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"spans: expected a list of {{start, end, entity_type}}, got {_kind(raw)}")
    spans = []
    for i, s in enumerate(raw):
        key = f"spans[{i}]"
        if not isinstance(s, dict):
            raise ValueError(f"{key}: expected an object {{start, end, entity_type}}, got {_kind(s)}")
        for name in ("start", "end"):
            v = s.get(name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{key}.{name}: expected an integer offset, got {_short(v)}")
        start, end = s["start"], s["end"]
        if not 0 <= start < end <= length:
            raise ValueError(f"{key}: expected 0 <= start < end <= {length} (the text length), got start={start} end={end}")
        etype = s.get("entity_type")
        if not isinstance(etype, str) or not etype:
            raise ValueError(f"{key}.entity_type: expected a non-empty string, got {_short(etype)}")
        spans.append(GoldSpan(start, end, etype))
    return tuple(spans)


def _kind(value: Any) -> str:
    return "nothing (missing)" if value is None else type(value).__name__


def _short(value: Any) -> str:
    """A value for an error message: labels and types are fine to show, long strings are cut."""
    if value is None:
        return "nothing (missing)"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
