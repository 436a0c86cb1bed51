"""SMS segment counting as the carriers (and the original's usage page) count it."""

import pytest

from tidings.billing.sms import sms_segments


@pytest.mark.parametrize(("text", "expected"), [
    ("", (0, "GSM-7")),
    ("a" * 160, (1, "GSM-7")),
    ("a" * 161, (2, "GSM-7")),
    ("a" * 306, (2, "GSM-7")),
    ("a" * 307, (3, "GSM-7")),
    ("中" * 70, (1, "UCS-2")),
    ("中" * 71, (2, "UCS-2")),
    ("中" * 134, (2, "UCS-2")),
    ("中" * 135, (3, "UCS-2")),
    ("a" * 159 + "中", (3, "UCS-2")),  # one Chinese character switches the whole text to UCS-2
    ("{" * 80, (1, "GSM-7")),  # extension characters count two septets
    ("{" * 81, (2, "GSM-7")),
    ("a" * 152 + "€" + "a" * 10, (2, "GSM-7")),  # an escape pair is never split across parts
    ("😀" * 35, (1, "UCS-2")),  # astral emoji are two UTF-16 units
    ("😀" * 36, (2, "UCS-2")),
    ("Your order #A123 has shipped: https://t.example/x", (1, "GSM-7")),
])
def test_segments(text, expected):
    assert sms_segments(text) == expected


def test_split_escape_pair_moves_to_the_next_part():
    # 152 septets then "€" (2): 154 > 153 in the first part, so "€" starts part two, and 153 more fill part 2
    # exactly; one more character needs a third part.
    assert sms_segments("a" * 152 + "€" + "a" * 151) == (2, "GSM-7")
    assert sms_segments("a" * 152 + "€" + "a" * 152) == (3, "GSM-7")
