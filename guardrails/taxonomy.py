"""One vocabulary of harm categories for every filter and policy.

The hazard categories follow the MLCommons taxonomy that Llama Guard 3/4 use (S1-S14); ours add
attack and language categories and two umbrella categories. A policy line such as
``categories: {self_harm: 0.5, sexual_content: off}`` means the same whichever filter scores it:
``builtin``, ``safety_model`` (Llama Guard codes mapped below) or a ``classifier`` label map.
"""

from __future__ import annotations

HAZARDS: tuple[str, ...] = (
    "violent_crimes", "non_violent_crimes", "sex_crimes", "child_exploitation", "defamation",
    "specialized_advice", "privacy", "intellectual_property", "indiscriminate_weapons", "hate",
    "self_harm", "sexual_content", "elections", "code_interpreter_abuse",
)
ATTACKS: tuple[str, ...] = ("prompt_injection", "jailbreak")
LANGUAGE: tuple[str, ...] = ("toxicity",)
# Any hazard on a request (input stage) / on an answer that carries a harmful request out (output stage).
UMBRELLAS: tuple[str, ...] = ("harmful_request", "harmful_response")
CATEGORIES: tuple[str, ...] = ATTACKS + LANGUAGE + UMBRELLAS + HAZARDS

DESCRIPTIONS: dict[str, str] = {
    "violent_crimes": "violence, terrorism, murder, assault, threats, animal cruelty (Llama Guard S1)",
    "non_violent_crimes": "fraud, scams, theft, hacking, drug crimes, weapons crimes, money laundering (S2)",
    "sex_crimes": "sexual assault, trafficking, non-consensual imagery, sextortion (S3)",
    "child_exploitation": "any sexualisation of minors, grooming (S4)",
    "defamation": "false, damaging claims about real people or organisations (S5)",
    "specialized_advice": "dangerous unqualified medical, legal or financial advice (S6)",
    "privacy": "doxxing, tracking people, obtaining others' personal data (S7)",
    "intellectual_property": "copyrighted lyrics or books verbatim, piracy, circumventing DRM (S8)",
    "indiscriminate_weapons": "chemical, biological, radiological, nuclear weapons, mass-effect explosives (S9)",
    "hate": "demeaning or dehumanising people for a protected attribute (S10)",
    "self_harm": "suicide, self-injury, eating disorders (S11)",
    "sexual_content": "explicit sexual material between adults (S12)",
    "elections": "false information about voting, voter suppression (S13)",
    "code_interpreter_abuse": "attacks on a code-execution tool: sandbox escape, fork bombs, reading host files (S14)",
    "prompt_injection": "instructions smuggled into content the model reads (documents, tool results)",
    "jailbreak": "attempts to switch off the model's rules (personas, fake modes, refusal suppression)",
    "toxicity": "insults, harassment, profanity, threats aimed at people",
    "harmful_request": "a request for anything in a hazard category (input stage)",
    "harmful_response": "an answer that carries out a harmful request (output stage)",
}

# Llama Guard 3/4 category codes.
LLAMA_GUARD_CODES: dict[str, str] = {f"S{i}": name for i, name in enumerate(HAZARDS, start=1)}


def hazard_of_code(code: str) -> str | None:
    """``S11`` (any case, zero-padded or not) -> ``self_harm``; None for an unknown code."""
    code = code.strip().upper()
    if code.startswith("S") and code[1:].isdigit():
        return LLAMA_GUARD_CODES.get(f"S{int(code[1:])}")
    return None
