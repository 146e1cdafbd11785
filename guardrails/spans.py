"""Merging overlapping redaction spans and applying them to text."""

from __future__ import annotations

from typing import Iterable

from guardrails.types import Span


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Union overlapping or touching-inside spans; the widest contributor names the merged span."""
    ordered = sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, -(s.end - s.start)))
    merged: list[Span] = []
    widest: list[Span] = []
    for span in ordered:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end - span.start > widest[-1].end - widest[-1].start:
                widest[-1] = span
            lead = widest[-1]
            # A replacement only fits the merged range if its owner covers it all.
            covers = lead.start == last.start and lead.end >= max(last.end, span.end)
            merged[-1] = Span(last.start, max(last.end, span.end), lead.label, lead.replacement if covers else None)
        else:
            merged.append(span)
            widest.append(span)
    return merged


def apply_spans(text: str, spans: Iterable[Span]) -> str:
    """Replace each (merged) span by its replacement, or ``<LABEL>``."""
    out = []
    pos = 0
    for span in merge_spans(spans):
        out.append(text[pos : span.start])
        out.append(span.replacement if span.replacement is not None else f"<{span.label}>")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
