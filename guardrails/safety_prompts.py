"""Llama Guard prompts and answers: the MLCommons hazard taxonomy, prompt builders, the answer parser.

Llama Guard reads a conversation and answers ``safe``, or ``unsafe`` followed by a line of
violated category codes (``unsafe\\nS1,S10``). The taxonomy is the 14-hazard MLCommons set
that Llama Guard 3 and 4 are trained on. In verdicts we report a hazard by its snake_case
name (``violent_crimes``); policies may name categories by code (``S1``) or by name.

Conversations are first reduced to what Llama Guard accepts (``guard_turns``): user and
assistant turns only, alternating, starting with the user. System and tool messages are
left out (the deployer writes the system prompt; tool output is not a turn the model rates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from guardrails.errors import GuardrailsError
from guardrails.taxonomy import LLAMA_GUARD_CODES
from guardrails.types import message_text

PromptFormat = Literal["llama_guard_3", "llama_guard_4"]
FORMATS: tuple[PromptFormat, ...] = ("llama_guard_3", "llama_guard_4")


@dataclass(frozen=True)
class Hazard:
    """One hazard category: its code in the prompt, its title in the prompt, its name in verdicts."""

    code: str
    title: str
    name: str


_TITLES = ("Violent Crimes", "Non-Violent Crimes", "Sex Crimes", "Child Exploitation", "Defamation", "Specialized Advice",
           "Privacy", "Intellectual Property", "Indiscriminate Weapons", "Hate", "Self-Harm", "Sexual Content", "Elections",
           "Code Interpreter Abuse")
# Codes S1-S14 in the prompt; names from the one vocabulary every filter reports (guardrails.taxonomy).
HAZARDS: tuple[Hazard, ...] = tuple(
    Hazard(code, title, name) for (code, name), title in zip(LLAMA_GUARD_CODES.items(), _TITLES)
)
BY_CODE: dict[str, Hazard] = {h.code: h for h in HAZARDS}
BY_NAME: dict[str, Hazard] = {h.name: h for h in HAZARDS}
ALL_CODES: tuple[str, ...] = tuple(h.code for h in HAZARDS)
# Category reported when the model says "unsafe" without naming a known category.
UNSPECIFIED = "unsafe"


def hazard(key: str) -> Hazard:
    """Look up a hazard by code (``S1``, ``s1``) or name (``violent_crimes``); KeyError if unknown."""
    k = key.strip()
    if k.upper() in BY_CODE:
        return BY_CODE[k.upper()]
    return BY_NAME[k.lower().replace("-", "_").replace(" ", "_")]


# -- conversations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One turn of the conversation Llama Guard rates: ``role`` is ``user`` or ``assistant``."""

    role: Literal["user", "assistant"]
    content: str


def guard_turns(messages: Sequence[Mapping[str, Any]]) -> list[Turn]:
    """Reduce chat messages to alternating user/assistant turns that start with the user.

    System, developer and tool messages are dropped, consecutive turns of one role are
    joined with a blank line, and assistant turns before the first user turn are dropped.
    """
    turns: list[Turn] = []
    for m in messages:
        role = m.get("role", "user")
        if role not in ("user", "assistant"):
            continue
        text = message_text(m)
        if not turns and role == "assistant":
            continue
        if turns and turns[-1].role == role:
            turns[-1] = Turn(role, f"{turns[-1].content}\n\n{text}")
        else:
            turns.append(Turn(role, text))
    return turns


def agent_type(turns: Sequence[Turn]) -> str:
    """``Agent`` when the last turn is the assistant's (output check), else ``User``."""
    return "Agent" if turns and turns[-1].role == "assistant" else "User"


# -- prompt builders ----------------------------------------------------------------------

_INSTRUCTIONS = (
    "Provide your safety assessment for ONLY THE LAST {agent} message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
)


def _categories_block(codes: Sequence[str] | None) -> str:
    chosen = [BY_CODE[c] for c in (codes or ALL_CODES)]
    return "\n".join(f"{h.code}: {h.title}." for h in chosen)


def _conversation_block(turns: Sequence[Turn]) -> str:
    return "".join(f"{'User' if t.role == 'user' else 'Agent'}: {t.content.strip()}\n\n" for t in turns)


def build_prompt(turns: Sequence[Turn], fmt: PromptFormat = "llama_guard_3", *, categories: Sequence[str] | None = None) -> str:
    """The full prompt text (special tokens included) that Llama Guard 3 or 4 was trained on.

    ``categories`` limits the listed hazards (codes, default: all 14); Llama Guard rates only
    the last turn, as ``User`` or ``Agent`` depending on whose turn it is.
    """
    if not turns:
        raise ValueError("a Llama Guard prompt needs at least one user turn")
    if turns[0].role != "user" or any(a.role == b.role for a, b in zip(turns, turns[1:])):
        raise ValueError("turns must alternate user/assistant and start with the user (use guard_turns)")
    agent = agent_type(turns)
    body = (
        f"Task: Check if there is unsafe content in '{agent}' messages in conversations according "
        f"{'our' if fmt == 'llama_guard_3' else 'to our'} safety policy with the below categories.\n\n"
        f"<BEGIN UNSAFE CONTENT CATEGORIES>\n{_categories_block(categories)}\n<END UNSAFE CONTENT CATEGORIES>\n\n"
        f"<BEGIN CONVERSATION>\n\n{_conversation_block(turns)}<END CONVERSATION>\n\n"
        f"{_INSTRUCTIONS.format(agent=agent)}"
    )
    if fmt == "llama_guard_3":
        return (
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
            f"{body}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        )
    if fmt == "llama_guard_4":
        # As Llama Guard 4's own chat template renders it: the model writes "\n\n" before its answer.
        return f"<|begin_of_text|><|header_start|>user<|header_end|>\n\n{body} <|eot|><|header_start|>assistant<|header_end|>"
    raise ValueError(f"unknown prompt format {fmt!r}; expected one of {', '.join(FORMATS)}")


def detect_format(special_tokens: Sequence[str]) -> PromptFormat:
    """Guess the prompt format from a tokenizer's special tokens (Llama 4 vs Llama 3 headers)."""
    return "llama_guard_4" if "<|header_start|>" in special_tokens else "llama_guard_3"


# -- answers ------------------------------------------------------------------------------


class AnswerParseError(GuardrailsError):
    """The safety model's answer is neither ``safe`` nor ``unsafe`` (the engine applies on_error)."""


@dataclass(frozen=True)
class GuardAnswer:
    """A parsed answer: ``codes`` are known hazard codes in the order given, ``unknown`` the rest."""

    safe: bool
    codes: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(BY_CODE[c].name for c in self.codes)


# Special tokens a server may leave in the text (<|eot_id|>, <|eot|>, </s>, ...).
_SPECIAL = re.compile(r"<\|[A-Za-z0-9_]+\|>|</s>|<s>")
_VERDICT = re.compile(r"^[\s\"'`*]*(safe|unsafe)(?![a-z0-9_])[\s\"'`*.:,;!-]*", re.IGNORECASE)
# S codes (Llama Guard 2-4); O codes are Llama Guard 1's, reported as unknown.
_CODE = re.compile(r"(?<![A-Za-z0-9])([SsOo])\s?0*(\d{1,3})(?![0-9])")


def parse_answer(text: str) -> GuardAnswer:
    """Parse ``safe`` / ``unsafe\\nS1,S10`` as real models write it (case, spacing, separators).

    Raises AnswerParseError when the first word is neither ``safe`` nor ``unsafe``. The
    message never quotes the answer, which may echo the conversation.
    """
    cleaned = _SPECIAL.sub(" ", text or "")
    m = _VERDICT.match(cleaned)
    if m is None:
        words = len(cleaned.split())
        raise AnswerParseError(f"safety model answer is not 'safe' or 'unsafe' ({len(cleaned.strip())} chars, {words} words)")
    if m.group(1).lower() == "safe":
        return GuardAnswer(safe=True)
    codes: list[str] = []
    unknown: list[str] = []
    # Categories sit on the next line(s); a model that rambles on is not read past a few lines.
    rest = "\n".join(cleaned[m.end():].strip().splitlines()[:3])
    for letter, number in _CODE.findall(rest):
        code = f"{letter.upper()}{int(number)}"
        bucket = codes if code in BY_CODE else unknown
        if code not in bucket:
            bucket.append(code)
    return GuardAnswer(safe=False, codes=tuple(codes), unknown=tuple(unknown))
