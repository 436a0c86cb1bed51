"""How many SMS segments a text costs: GSM-7 when every character is in the GSM 03.38 alphabet, else UCS-2.

One segment holds 160 GSM-7 septets or 70 UCS-2 code units; a concatenated message loses room to its header, so
each part holds 153 septets or 67 code units. A GSM extension character (e.g. `€`, `[`) takes two septets (escape +
char) and is never split across parts; nor is a UTF-16 surrogate pair (an emoji).
"""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7, UCS2 = "GSM-7", "UCS-2"
_SINGLE = {GSM7: 160, UCS2: 70}
_PART = {GSM7: 153, UCS2: 67}


def _units(text: str) -> tuple[str, list[int]]:
    """The encoding and the size of each character in that encoding's units (septets or UTF-16 code units)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return GSM7, [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def sms_segments(text: str) -> tuple[str, int]:
    """(encoding, segments) for one SMS body. An empty body still goes out as one segment."""
    encoding, sizes = _units(text)
    if sum(sizes) <= _SINGLE[encoding]:
        return encoding, 1
    part_size, parts, used = _PART[encoding], 1, 0
    for size in sizes:  # fill each part greedily; a 2-unit character that does not fit starts the next part
        if used + size > part_size:
            parts, used = parts + 1, 0
        used += size
    return encoding, parts
