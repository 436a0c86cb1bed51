"""Channel-neutral content → Messenger / Instagram Send API `message` objects, with Meta's limits checked first.

Mapping (reference/meta/NOTES.md; Messenger Platform "Send API", "Button template", "Generic template", "Quick
replies"; Instagram Messaging pages of the same names):

- text → `{"text"}`; image / video → `{"attachment": {"type", "payload": {"url"}}}`;
- buttons → button template (text ≤ 640, 1–3 buttons); with an image it becomes a one-element generic template, so
  the picture is not dropped;
- carousel → generic template (≤ 10 elements; title and subtitle ≤ 80; ≤ 3 buttons each);
- actions: uri → `web_url` (http/https), `tel:` → `phone_number` (Messenger only), postback → `postback` (payload =
  data), message → `postback` whose payload is the text (Messenger has no "say this" button);
- quick replies → `quick_replies` (≤ 13, title ≤ 20, text only): a uri action cannot be one.

Refusing here gives the sender a field-level error instead of a Graph 400 after the message was queued.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from tidings.channels.content import contents_check_kinds, contents_parse
from tidings.core.errors import ServiceError

BUTTON_TEMPLATE_TEXT_MAX = 640
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
PAYLOAD_MAX = 1000
GENERIC_ELEMENTS_MAX = 10
GENERIC_TITLE_MAX = 80
GENERIC_SUBTITLE_MAX = 80
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
URL_MAX = 2000
WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Limits:
    """What differs between Messenger and Instagram Messaging."""

    name: str  # the channel as users know it, for error messages
    text_max: int  # Messenger: 2,000 characters; Instagram: 1,000 bytes of UTF-8
    text_in_bytes: bool
    phone_buttons: bool  # Messenger has a call button (phone_number); Instagram does not


MESSENGER = Limits(name="Messenger", text_max=2000, text_in_bytes=False, phone_buttons=True)
INSTAGRAM = Limits(name="Instagram", text_max=1000, text_in_bytes=True, phone_buttons=False)
SUPPORTED_KINDS = frozenset({"text", "image", "video", "buttons", "carousel"})


def _parsed(contents: list) -> list:
    if any(isinstance(c, dict) for c in contents):
        return contents_parse(contents)
    return contents


def _too_long(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ServiceError(
            _("At most %(max)s characters here; this has %(count)s.") % {"max": limit, "count": len(value)},
            field=field,
        )


def _check_text(limits: Limits, field: str, text: str) -> None:
    if limits.text_in_bytes:
        size = len(text.encode("utf-8"))
        if size > limits.text_max:
            raise ServiceError(
                _("%(channel)s text is at most %(max)s bytes of UTF-8 (about %(cjk)s Chinese characters); this one "
                  "has %(count)s bytes.") % {"channel": limits.name, "max": limits.text_max,
                                             "cjk": limits.text_max // 3, "count": size},
                field=field,
            )
    else:
        _too_long(field, text, limits.text_max)


def _check_url(field: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in WEB_SCHEMES or not parts.netloc:
        raise ServiceError(_("Use a full http:// or https:// address."), field=field)
    _too_long(field, url, URL_MAX)


def _check_action(limits: Limits, field: str, action) -> None:
    _too_long(f"{field}.label", action.label, BUTTON_TITLE_MAX)
    if action.type == "uri":
        if action.uri.startswith("tel:"):
            if not limits.phone_buttons:
                raise ServiceError(_("%(channel)s has no call buttons; link to a web page instead.")
                                   % {"channel": limits.name}, field=f"{field}.uri")
            if not action.uri[4:].startswith("+"):
                raise ServiceError(_("A call button needs the number in international format, e.g. tel:+85212345678."),
                                   field=f"{field}.uri")
        else:
            _check_url(f"{field}.uri", action.uri)
    elif action.type == "postback":
        _too_long(f"{field}.data", action.data, PAYLOAD_MAX)
    else:
        _too_long(f"{field}.text", action.text, PAYLOAD_MAX)


def _check_actions(limits: Limits, field: str, actions: list) -> None:
    if len(actions) > BUTTONS_MAX:
        raise ServiceError(
            _("%(channel)s shows at most %(max)s buttons on a message; this one has %(count)s.")
            % {"channel": limits.name, "max": BUTTONS_MAX, "count": len(actions)},
            field=f"{field}.actions",
        )
    for j, action in enumerate(actions):
        _check_action(limits, f"{field}.actions[{j}]", action)


def _check_element(limits: Limits, field: str, title: str, subtitle: str | None, image_url: str | None,
                   actions: list, *, title_field: str) -> None:
    """One generic-template element: title ≤ 80 (required), subtitle ≤ 80, an http(s) image, ≤ 3 buttons."""
    _too_long(f"{field}.{title_field}", title, GENERIC_TITLE_MAX)
    if subtitle:
        _too_long(f"{field}.text", subtitle, GENERIC_SUBTITLE_MAX)
    if image_url:
        _check_url(f"{field}.image_url", image_url)
    _check_actions(limits, field, actions)


def _check_quick_replies(limits: Limits, field: str, replies: list) -> None:
    if len(replies) > QUICK_REPLIES_MAX:
        raise ServiceError(
            _("%(channel)s shows at most %(max)s quick replies; this message has %(count)s.")
            % {"channel": limits.name, "max": QUICK_REPLIES_MAX, "count": len(replies)},
            field=f"{field}.quick_replies",
        )
    for j, action in enumerate(replies):
        where = f"{field}.quick_replies[{j}]"
        if action.type == "uri":
            raise ServiceError(
                _("A %(channel)s quick reply sends an answer back; it cannot open a link. Put the link on a button "
                  "instead.") % {"channel": limits.name},
                field=f"{where}.type",
            )
        _too_long(f"{where}.label", action.label, QUICK_REPLY_TITLE_MAX)
        _too_long(f"{where}.{'data' if action.type == 'postback' else 'text'}",
                  action.data if action.type == "postback" else action.text, PAYLOAD_MAX)


def validate(contents: list, limits: Limits) -> None:
    """Refuse what this channel cannot show, naming the field (messages[i]…)."""
    contents = _parsed(contents)
    contents_check_kinds(contents, supported=SUPPORTED_KINDS, channel_name=limits.name)
    for i, content in enumerate(contents):
        field = f"messages[{i}]"
        if content.type == "text":
            _check_text(limits, f"{field}.text", content.text)
        elif content.type in ("image", "video"):
            _check_url(f"{field}.url", content.url)
        elif content.type == "buttons":
            if content.image_url:
                title = content.title or content.text
                _check_element(limits, field, title, content.text if content.title else None, content.image_url,
                               content.actions, title_field="title" if content.title else "text")
            else:
                _too_long(f"{field}.text", _button_text(content), BUTTON_TEMPLATE_TEXT_MAX)
                _check_actions(limits, field, content.actions)
        elif content.type == "carousel":
            if len(content.columns) > GENERIC_ELEMENTS_MAX:
                raise ServiceError(
                    _("A %(channel)s carousel has at most %(max)s cards; this one has %(count)s.")
                    % {"channel": limits.name, "max": GENERIC_ELEMENTS_MAX, "count": len(content.columns)},
                    field=f"{field}.columns",
                )
            for k, column in enumerate(content.columns):
                _check_element(limits, f"{field}.columns[{k}]", column.title or column.text,
                               column.text if column.title else None, column.image_url, column.actions,
                               title_field="title" if column.title else "text")
        if content.quick_replies:
            _check_quick_replies(limits, field, content.quick_replies)


# --- rendering ---------------------------------------------------------------------------------------------------


def _button(action) -> dict:
    if action.type == "uri":
        if action.uri.startswith("tel:"):
            return {"type": "phone_number", "title": action.label, "payload": action.uri[4:]}
        return {"type": "web_url", "url": action.uri, "title": action.label}
    payload = action.data if action.type == "postback" else action.text
    return {"type": "postback", "title": action.label, "payload": payload}


def _button_text(content) -> str:
    # A button template has no title line: the title leads the text.
    return f"{content.title}\n{content.text}" if content.title else content.text


def _element(title: str | None, text: str, image_url: str | None, actions: list) -> dict:
    element = {"title": title or text}
    if title:
        element["subtitle"] = text
    if image_url:
        element["image_url"] = image_url
    if actions:
        element["buttons"] = [_button(a) for a in actions]
    return element


def _template(payload: dict) -> dict:
    return {"attachment": {"type": "template", "payload": payload}}


def render_one(content) -> dict:
    """One content (parsed or as stored) → the Send API `message` object."""
    if isinstance(content, dict):
        content = contents_parse([content])[0]
    if content.type == "text":
        message = {"text": content.text}
    elif content.type in ("image", "video"):
        message = {"attachment": {"type": content.type, "payload": {"url": content.url}}}
    elif content.type == "buttons" and content.image_url:
        message = _template({"template_type": "generic",
                             "elements": [_element(content.title, content.text, content.image_url, content.actions)]})
    elif content.type == "buttons":
        message = _template({"template_type": "button", "text": _button_text(content),
                             "buttons": [_button(a) for a in content.actions]})
    elif content.type == "carousel":
        message = _template({"template_type": "generic",
                             "elements": [_element(c.title, c.text, c.image_url, c.actions) for c in content.columns]})
    else:  # validate() refuses every other kind before anything is queued
        raise ValueError(f"Messenger cannot render {content.type!r}")
    if content.quick_replies:
        message["quick_replies"] = [
            {"content_type": "text", "title": a.label, "payload": a.data if a.type == "postback" else a.text}
            for a in content.quick_replies
        ]
    return message
