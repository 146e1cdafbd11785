"""What a text must contain for Presidio's pattern recognizers to find an entity in it.

Each entry is a regular expression that every match of that entity's predefined recognizers contains
(a digit, an ``@``, a ``:``, hex pairs around a separator), matched case-insensitively like Presidio's
own patterns. A text with none of them holds none of those entities, so the ``pii`` filter answers
"nothing found" without running, or even importing, Presidio and spaCy: a one-shot check of plain prose
stays fast. Entities missing here (the name tagger's, custom recognizers', a NER model's) have no screen.
``tests/unit/test_pii_screen.py`` holds every screened-out text to Presidio's own result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGIT = r"\d"  # Unicode digits, as libphonenumber and the recognizers' \d read them
NEEDS: dict[str, str] = {
    "EMAIL_ADDRESS": "@",
    "IP_ADDRESS": r"\d|:",  # IPv4 has digits; every IPv6 form has a colon
    "MAC_ADDRESS": r"[0-9a-f]{2}[:-][0-9a-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}",
    **{
        entity: _DIGIT
        for entity in (
            "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "CRYPTO", "US_ITIN", "US_PASSPORT",
            "US_BANK_NUMBER", "US_DRIVER_LICENSE", "UK_NINO", "MEDICAL_LICENSE",
        )
    },
}


def entity_screen(entities: Iterable[str]) -> re.Pattern[str] | None:
    """A regex that finds something in every text where one of ``entities`` may be; None when one has no screen."""
    needs = []
    for entity in entities:
        if entity not in NEEDS:
            return None
        needs.append(NEEDS[entity])
    if not needs:
        return None
    return re.compile("|".join(f"(?:{n})" for n in sorted(set(needs))), re.IGNORECASE)
