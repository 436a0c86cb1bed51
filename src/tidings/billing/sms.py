"""How many SMS parts ("segments") a text costs: the carriers' rules, which the original bills by.

GSM-7 (the GSM 03.38 basic alphabet): 160 characters in one part, 153 per part when split; the extension characters
(`^ { } [ ] ~ | € \\` and form feed) take an escape plus the character, so count two. Any character outside that
alphabet switches the whole text to UCS-2: 70 UTF-16 units in one part, 67 per part when split (an emoji outside
the Basic Multilingual Plane is two units). A part never splits an escape pair or a surrogate pair, as phones do.
"""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


def sms_encoding(text: str) -> str:
    return GSM7 if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text) else UCS2


def _units(text: str, encoding: str) -> list[int]:
    """The cost of each character in the encoding's units (septets or UTF-16 code units)."""
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_segments(text: str) -> tuple[int, str]:
    """(segments, "GSM-7" | "UCS-2") for an SMS text; an empty text is 0 segments."""
    encoding = sms_encoding(text)
    single, per_part = _LIMITS[encoding]
    units = _units(text, encoding)
    total = sum(units)
    if total == 0:
        return 0, encoding
    if total <= single:
        return 1, encoding
    parts, used = 1, 0
    for cost in units:  # pack greedily; a two-unit character that does not fit starts the next part
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts, encoding


def sms_length(text: str) -> int:
    """Characters as the carrier counts them (extension characters and astral emoji count two)."""
    return sum(_units(text, sms_encoding(text)))
