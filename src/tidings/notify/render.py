"""Variables in notification content: `{order_id}`, `{name}`, `{tracking_url}`… (letters, digits, underscores).

Any such name may be used; the API call supplies its value per item. A `{` not followed by a name and `}` is
plain text.
"""

import re

VARIABLE = re.compile(r"\{([A-Za-z0-9_]{1,50})\}")
# Longest text a method can carry once the variables are filled in (LINE text message; Twilio's body limit).
MAX_LENGTH = {"line_push": 5000, "line_pnp": 5000, "sms": 1600}


def variables_in(text: str) -> list[str]:
    """The variable names a text uses, in order of first use."""
    return list(dict.fromkeys(VARIABLE.findall(text or "")))


def render(text: str, values: dict) -> str:
    """Fill in the variables; a name without a value stays as written (callers check `missing` first)."""
    return VARIABLE.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text or "")


def missing(text: str, values: dict) -> list[str]:
    return [name for name in variables_in(text) if name not in values]
