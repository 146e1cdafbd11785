"""Second look at PHONE_NUMBER matches: numbers that are not phone numbers are dropped.

Presidio's phone recognizer (libphonenumber, lenient) also matches decimals (``0.986893273527251``,
``31.01875``), pieces of version strings and IP-like tokens, and long bare digit runs such as
order ids and Unix timestamps. A match is kept when it looks like a phone number written by a
person: separators or a leading ``+`` / ``(``; a bare digit run only after a phone word.
"""

from __future__ import annotations

import re

_DECIMAL = re.compile(r"[+-]?\d+[.,]\d+")
_BARE_DIGITS = re.compile(r"\d+")
# Words after which a bare digit run is a phone number, in the languages of the name tagger.
_PHONE_CUE = re.compile(
    r"(?i)(?<!\w)(?:phone|tel|telephone|mobile|mob|cell|fax|call|ring|text|sms|whatsapp|dial|desk|office|contact|reach"
    r"|telefon|handy|rufnummer|anrufen|ruf|téléphone|portable|appel|appelle|appeler|teléfono|telefono|móvil|movil"
    r"|llama|llámame|cellulare|chiama|chiamami|telemóvel|celular|liga|ligue|telefoon|mobiel|bel|gsm|komórka"
    r"|zadzwoń|numer|number|nummer|numéro|número|numero|nr)(?!\w)"
)
# Words that make a digit run an identifier even after "number".
_ID_CUE = re.compile(
    r"(?i)\b(?:order|invoice|id|ticket|ref|reference|tracking|account|acct|customer|transaction|serial|timestamp|epoch"
    r"|case|booking|confirmation|build|version|commit|sku|isbn|bestell\w*|rechnung\w*|commande|pedido|ordine"
    r"|encomenda|bestelling|zamówieni\w*|factura|fattura|factuur|faktur\w*)\b"
)
_WINDOW = 40


def plausible_phone(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` (a phone-number match) should be reported."""
    value = text[start:end]
    if _DECIMAL.fullmatch(value):
        return False
    before = text[start - 1] if start > 0 else " "
    after = text[end : end + 2]
    if before.isalnum() or before in "._/" or (after[:1] in ".," and after[1:2].isdigit()) or after[:1].isalnum():
        return False  # one piece of a longer token: version string, IP address, coordinate, file name
    window = text[max(0, start - _WINDOW) : start]
    if _ID_CUE.search(window) and not value.lstrip().startswith("+"):
        return False
    if _BARE_DIGITS.fullmatch(value):
        return bool(_PHONE_CUE.search(window))
    return True
