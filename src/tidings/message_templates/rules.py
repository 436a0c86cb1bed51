"""What makes a WhatsApp template acceptable (SPEC S8, Meta's template limits; reference/meta/NOTES.md).

`template_clean(data)` takes the API / form shape and returns it normalized, or raises ServiceError naming the
broken rule and the field (`buttons[3]`, `header.text`…). `button_mix_problem(kinds, audience)` is the button rule
alone, over a list of our button kinds; the sandbox's fake Graph API asks it too (with Meta's own kinds mapped).

Button rules: at most 10 buttons; quick reply ≤ 10, URL ≤ 2, phone ≤ 1, "go to order" ≤ 1 and only on templates
whose audience is system notification; any mix and order as long as the quick replies form one contiguous group.
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tidings.core.errors import ServiceError

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
AUDIENCES = ("general", "system_notification")
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT")
BUTTON_KINDS = ("quick_reply", "url", "phone", "go_to_order")

MAX_NAME = 512
MAX_BODY = 1024
MAX_HEADER_TEXT = 60
MAX_FOOTER = 60
MAX_BUTTON_TEXT = 25
MAX_URL = 2000
MAX_PHONE = 20
MAX_BUTTONS = 10
MAX_OF_KIND = {"quick_reply": 10, "url": 2, "phone": 1, "go_to_order": 1}

NAME_RE = re.compile(r"^[a-z0-9_]+$")
# Meta's language codes: "en", "zh_TW", "en_US", "pt_BR", "zh_HK"… (a few are three letters, e.g. "fil").
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
VARIABLE_RE = re.compile(r"\{\{\s*(\d+)\s*\}\}")
BRACES_RE = re.compile(r"\{\{.*?\}\}")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
PHONE_RE = re.compile(r"^\+?[0-9]{5,19}$")

KIND_LABELS = {
    "quick_reply": gettext_lazy("quick reply"), "url": gettext_lazy("website (URL)"),
    "phone": gettext_lazy("call phone number"), "go_to_order": gettext_lazy("go to order"),
}


@dataclass(frozen=True)
class ButtonProblem:
    code: str  # too_many_buttons | too_many_<kind> | go_to_order_audience | quick_replies_split
    message: str
    index: int | None  # the first offending button, when one can be named


def button_mix_problem(kinds: list[str], audience: str = "general") -> ButtonProblem | None:
    """The first button rule a sequence of button kinds breaks, or None."""
    counts: dict[str, int] = {}
    for index, kind in enumerate(kinds):
        counts[kind] = counts.get(kind, 0) + 1
        limit = MAX_OF_KIND.get(kind)
        if limit is not None and counts[kind] > limit:
            return ButtonProblem(
                f"too_many_{kind}",
                _("At most %(limit)s %(kind)s button(s) per template.") % {"limit": limit, "kind": KIND_LABELS[kind]},
                index,
            )
    if len(kinds) > MAX_BUTTONS:
        return ButtonProblem("too_many_buttons",
                             _("A template has at most %(limit)s buttons.") % {"limit": MAX_BUTTONS}, MAX_BUTTONS)
    if "go_to_order" in counts and audience != "system_notification":
        return ButtonProblem(
            "go_to_order_audience",
            _("The “go to order” button is only for templates whose audience is system notification."),
            kinds.index("go_to_order"),
        )
    seen_group_end = False
    for index, kind in enumerate(kinds):
        if kind == "quick_reply":
            if seen_group_end:
                return ButtonProblem(
                    "quick_replies_split",
                    _("Quick reply buttons must stay together in one group: put them all before or all after the "
                      "other buttons."),
                    index,
                )
        elif index and kinds[index - 1] == "quick_reply":
            seen_group_end = True
    return None


def variables_of(text: str) -> list[int]:
    """The variable numbers of a text, in order of appearance ("Hi {{1}}, {{2}}" → [1, 2])."""
    return [int(n) for n in VARIABLE_RE.findall(text or "")]


def variable_count(text: str) -> int:
    numbers = variables_of(text)
    return max(numbers) if numbers else 0


def _check_variables(text: str, field: str, *, allowed: int | None = None) -> None:
    for match in BRACES_RE.findall(text):
        if not VARIABLE_RE.fullmatch(match):
            raise ServiceError(_("Variables are written {{1}}, {{2}}… with numbers only: %(bad)s") % {"bad": match},
                               field=field)
    distinct: list[int] = []
    for number in variables_of(text):
        if number not in distinct:
            distinct.append(number)
    if distinct != list(range(1, len(distinct) + 1)):
        raise ServiceError(_("Number the variables {{1}}, {{2}}, {{3}}… in order, without gaps."), field=field)
    if allowed is not None and len(distinct) > allowed:
        raise ServiceError(
            _("This part can have at most %(count)s variable(s).") % {"count": allowed}, field=field)


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError(_("This must be text."), field=key)
    return value.strip()


def _length(value: str, limit: int, field: str) -> None:
    if len(value) > limit:
        raise ServiceError(_("At most %(limit)s characters (this has %(count)s).")
                           % {"limit": limit, "count": len(value)}, field=field)


def _clean_header(raw) -> dict | None:
    if raw in (None, "", {}):
        return None
    if isinstance(raw, str):
        raw = {"format": "TEXT", "text": raw}
    if not isinstance(raw, dict):
        raise ServiceError(_("The header is text, or an object with a format."), field="header")
    fmt = str(raw.get("format") or "TEXT").upper()
    if fmt not in HEADER_FORMATS:
        raise ServiceError(_("The header format is TEXT, IMAGE, VIDEO or DOCUMENT."), field="header.format")
    if fmt == "TEXT":
        text = str(raw.get("text") or "").strip()
        if not text:
            raise ServiceError(_("Write the header text, or leave the header out."), field="header.text")
        _length(text, MAX_HEADER_TEXT, "header.text")
        _check_variables(text, "header.text", allowed=1)
        return {"format": "TEXT", "text": text}
    url = str(raw.get("url") or "").strip()
    if not URL_RE.match(url):
        raise ServiceError(_("Give the address (http or https) of a sample image, video or PDF for the header."),
                           field="header.url")
    _length(url, MAX_URL, "header.url")
    return {"format": fmt, "url": url}


def _clean_button(raw, index: int) -> dict:
    field = f"buttons[{index}]"
    if not isinstance(raw, dict):
        raise ServiceError(_("Each button is an object with a type and a text."), field=field)
    kind = str(raw.get("type") or "").strip().lower()
    if kind not in BUTTON_KINDS:
        raise ServiceError(_("The button type is quick_reply, url, phone or go_to_order."), field=f"{field}.type")
    text = str(raw.get("text") or "").strip()
    if not text:
        raise ServiceError(_("Give the button a label."), field=f"{field}.text")
    _length(text, MAX_BUTTON_TEXT, f"{field}.text")
    if BRACES_RE.search(text):
        raise ServiceError(_("Button labels cannot have variables."), field=f"{field}.text")
    button = {"type": kind, "text": text}
    if kind == "url":
        url = str(raw.get("url") or "").strip()
        if not URL_RE.match(url):
            raise ServiceError(_("Give the button a web address starting with http:// or https://."),
                               field=f"{field}.url")
        _length(url, MAX_URL, f"{field}.url")
        found = BRACES_RE.findall(url)
        if len(found) > 1 or (found and (found[0] != "{{1}}" or not url.endswith("{{1}}"))):
            raise ServiceError(_("A button's web address can have one variable, {{1}}, and only at its end."),
                               field=f"{field}.url")
        button["url"] = url
    elif kind == "phone":
        phone = re.sub(r"[\s()-]", "", str(raw.get("phone") or ""))
        if not PHONE_RE.match(phone) or len(phone) > MAX_PHONE:
            raise ServiceError(_("Give a phone number with its country code, e.g. +85230001234."),
                               field=f"{field}.phone")
        button["phone"] = phone
    return button


def _clean_examples(raw, body: str, header: dict | None, buttons: list[dict]) -> dict:
    """Sample values Meta's reviewers see for each variable; missing ones are filled with "sample N"."""
    raw = raw if isinstance(raw, dict) else {}

    def fill(key: str, count: int) -> list[str]:
        given = raw.get(key) if isinstance(raw.get(key), list) else []
        values = [str(v).strip() for v in given[:count]]
        return [v or f"sample {n}" for n, v in enumerate(values, 1)] + [
            f"sample {n}" for n in range(len(values) + 1, count + 1)]

    header_vars = variable_count(header["text"]) if header and header["format"] == "TEXT" else 0
    url_vars = sum(1 for b in buttons if b["type"] == "url" and b["url"].endswith("{{1}}"))
    return {"body": fill("body", variable_count(body)), "header": fill("header", header_vars),
            "url": fill("url", url_vars)}


def template_clean(data: dict) -> dict:
    """Check a template (API / form shape) against every rule; returns it normalized. ServiceError otherwise."""
    if not isinstance(data, dict):
        raise ServiceError(_("A template is an object."), field="body")
    name = _text(data, "name")
    if not name:
        raise ServiceError(_("Give the template a name."), field="name")
    _length(name, MAX_NAME, "name")
    if not NAME_RE.match(name):
        raise ServiceError(_("Names use lowercase letters, digits and underscores only, e.g. order_shipped."),
                           field="name")
    language = _text(data, "language")
    if not LANGUAGE_RE.match(language):
        raise ServiceError(_("Give a WhatsApp language code such as zh_TW, zh_CN, en or en_US."), field="language")
    category = _text(data, "category").upper()
    if category not in CATEGORIES:
        raise ServiceError(_("The category is MARKETING, UTILITY or AUTHENTICATION."), field="category")
    audience = _text(data, "audience") or "general"
    if audience not in AUDIENCES:
        raise ServiceError(_("The audience is general or system_notification."), field="audience")
    body = _text(data, "body")
    if not body:
        raise ServiceError(_("Write the message body."), field="body")
    _length(body, MAX_BODY, "body")
    _check_variables(body, "body")
    header = _clean_header(data.get("header"))
    footer = _text(data, "footer")
    _length(footer, MAX_FOOTER, "footer")
    if BRACES_RE.search(footer):
        raise ServiceError(_("The footer cannot have variables."), field="footer")
    raw_buttons = data.get("buttons") or []
    if not isinstance(raw_buttons, list):
        raise ServiceError(_("Buttons are a list."), field="buttons")
    buttons = [_clean_button(raw, i) for i, raw in enumerate(raw_buttons)]
    problem = button_mix_problem([b["type"] for b in buttons], audience)
    if problem is not None:
        field = "buttons" if problem.index is None else f"buttons[{problem.index}]"
        raise ServiceError(problem.message, field=field, code=problem.code)
    return {
        "name": name, "language": language, "category": category, "audience": audience, "header": header,
        "body": body, "footer": footer, "buttons": buttons,
        "examples": _clean_examples(data.get("examples"), body, header, buttons),
    }
