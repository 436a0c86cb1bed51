"""Channel-neutral content → LINE message objects (messaging-api.yml `Message`), and LINE's limits checked first.

Limits are LINE's documented ones (reference/line/NOTES.md); refusing here gives the sender a field-level error
instead of a 400 from LINE after the message was queued.
"""

import json
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError

MAX_MESSAGES = 5
TEXT_MAX = 5000
ALT_TEXT_MAX = 1500
LABEL_MAX = 20
IMAGE_CAROUSEL_LABEL_MAX = 12
BUTTONS_TITLE_MAX = 40
BUTTONS_TEXT_MAX = 160
BUTTONS_TEXT_WITH_IMAGE_OR_TITLE_MAX = 60
BUTTONS_ACTIONS_MAX = 4
CAROUSEL_COLUMNS_MAX = 10
CAROUSEL_ACTIONS_MAX = 3
CAROUSEL_TEXT_MAX = 120
CAROUSEL_TEXT_WITH_IMAGE_OR_TITLE_MAX = 60
IMAGE_CAROUSEL_COLUMNS_MAX = 10
IMAGEMAP_ACTIONS_MAX = 50
IMAGEMAP_WIDTH = 1040
IMAGEMAP_LABEL_MAX = 100
POSTBACK_DATA_MAX = 300
ACTION_TEXT_MAX = 300  # message action text and postback displayText
URI_MAX = 1000
MEDIA_URL_MAX = 2000
QUICK_REPLY_MAX = 13
FLEX_BUBBLE_BYTES_MAX = 30 * 1024
URI_SCHEMES = ("http", "https", "line", "tel")


# --- rendering ---------------------------------------------------------------------------------------------------

def render_action(action) -> dict:
    if action.type == "uri":
        return {"type": "uri", "label": action.label, "uri": action.uri}
    if action.type == "postback":
        out = {"type": "postback", "label": action.label, "data": action.data}
        if action.display_text:
            out["displayText"] = action.display_text
        return out
    return {"type": "message", "label": action.label, "text": action.text}


def _alt_text(content, fallback: str) -> str:
    # LINE shows altText in notifications and the chat list; derive one when the sender gave none.
    return content.alt_text or fallback[:ALT_TEXT_MAX]


def _buttons(content) -> dict:
    template = {"type": "buttons"}
    if content.image_url:
        template["thumbnailImageUrl"] = content.image_url
    if content.title:
        template["title"] = content.title
    template["text"] = content.text
    template["actions"] = [render_action(a) for a in content.actions]
    return {"type": "template", "altText": _alt_text(content, content.title or content.text), "template": template}


def _carousel(content) -> dict:
    columns = []
    for column in content.columns:
        out = {}
        if column.image_url:
            out["thumbnailImageUrl"] = column.image_url
        if column.title:
            out["title"] = column.title
        out["text"] = column.text
        out["actions"] = [render_action(a) for a in column.actions]
        columns.append(out)
    first = content.columns[0]
    return {
        "type": "template",
        "altText": _alt_text(content, first.title or first.text),
        "template": {"type": "carousel", "columns": columns},
    }


def _image_carousel(content) -> dict:
    return {
        "type": "template",
        "altText": _alt_text(content, content.columns[0].action.label),
        "template": {
            "type": "image_carousel",
            "columns": [{"imageUrl": c.image_url, "action": render_action(c.action)} for c in content.columns],
        },
    }


def _imagemap(content) -> dict:
    actions = []
    for action in content.actions:
        area = {"x": action.area.x, "y": action.area.y, "width": action.area.width, "height": action.area.height}
        out = {"type": "uri", "linkUri": action.uri} if action.type == "uri" else {"type": "message", "text": action.text}
        out["area"] = area
        if action.label:
            out["label"] = action.label
        actions.append(out)
    return {
        "type": "imagemap",
        "baseUrl": content.base_url,
        "altText": _alt_text(content, _("Image")),
        "baseSize": {"width": content.width, "height": content.height},
        "actions": actions,
    }


def _coupon(content) -> dict:
    """A coupon card as a flex bubble: hero image, title, description, code, validity and one button."""
    body = [{"type": "text", "text": content.title, "weight": "bold", "size": "xl", "wrap": True}]
    if content.description:
        body.append({"type": "text", "text": content.description, "size": "sm", "color": "#666666", "wrap": True,
                     "margin": "md"})
    if content.code:
        body.append({
            "type": "box", "layout": "baseline", "margin": "lg", "spacing": "sm",
            "contents": [
                {"type": "text", "text": _("Code"), "size": "sm", "color": "#aaaaaa", "flex": 2},
                {"type": "text", "text": content.code, "size": "md", "weight": "bold", "flex": 5, "wrap": True},
            ],
        })
    if content.valid_until:
        body.append({
            "type": "box", "layout": "baseline", "spacing": "sm",
            "contents": [
                {"type": "text", "text": _("Valid until"), "size": "sm", "color": "#aaaaaa", "flex": 2},
                {"type": "text", "text": content.valid_until, "size": "sm", "flex": 5, "wrap": True},
            ],
        })
    bubble = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": body},
        "footer": {
            "type": "box", "layout": "vertical",
            "contents": [{"type": "button", "style": "primary", "action": render_action(content.button)}],
        },
    }
    if content.image_url:
        bubble = {"type": "bubble",
                  "hero": {"type": "image", "url": content.image_url, "size": "full", "aspectRatio": "20:13",
                           "aspectMode": "cover"},
                  **{k: v for k, v in bubble.items() if k != "type"}}
    return {"type": "flex", "altText": _alt_text(content, content.title), "contents": bubble}


def render_content(content) -> dict:
    kind = content.type
    if kind == "text":
        out = {"type": "text", "text": content.text}
    elif kind == "image":
        out = {"type": "image", "originalContentUrl": content.url, "previewImageUrl": content.preview_url or content.url}
    elif kind == "video":
        out = {"type": "video", "originalContentUrl": content.url, "previewImageUrl": content.preview_url}
    elif kind == "buttons":
        out = _buttons(content)
    elif kind == "carousel":
        out = _carousel(content)
    elif kind == "image_carousel":
        out = _image_carousel(content)
    elif kind == "imagemap":
        out = _imagemap(content)
    elif kind == "coupon":
        out = _coupon(content)
    else:  # pragma: no cover - contents_parse only yields the kinds above
        raise ValueError(kind)
    if content.quick_replies:
        out["quickReply"] = {"items": [{"type": "action", "action": render_action(a)} for a in content.quick_replies]}
    return out


def render(contents) -> list[dict]:
    return [render_content(c) for c in contents]


# --- validation --------------------------------------------------------------------------------------------------

def _too_long(value: str | None, limit: int, field: str, what: str):
    if value is not None and len(value) > limit:
        raise ServiceError(
            _("%(what)s is %(length)s characters; LINE allows at most %(limit)s.")
            % {"what": what, "length": len(value), "limit": limit},
            field=field,
        )


def _too_many(items, limit: int, field: str, what: str):
    if items is not None and len(items) > limit:
        raise ServiceError(
            _("LINE allows at most %(limit)s %(what)s here; this has %(count)s.")
            % {"limit": limit, "what": what, "count": len(items)},
            field=f"{field}[{limit}]",
        )


def _check_uri(uri: str, field: str, *, schemes=URI_SCHEMES, limit=URI_MAX):
    _too_long(uri, limit, field, _("The link"))
    parts = urlsplit(uri)
    if parts.scheme.lower() not in schemes or (parts.scheme.lower() in ("http", "https") and not parts.netloc):
        raise ServiceError(
            _("LINE accepts only %(schemes)s links here.") % {"schemes": ", ".join(schemes)}, field=field
        )


def _check_media(url: str, field: str):
    # LINE fetches images and videos itself and only over HTTPS.
    _check_uri(url, field, schemes=("https",), limit=MEDIA_URL_MAX)


def _check_action(action, field: str, *, label_max: int = LABEL_MAX):
    _too_long(action.label, label_max, f"{field}.label", _("The label"))
    if action.type == "uri":
        _check_uri(action.uri, f"{field}.uri")
    elif action.type == "postback":
        _too_long(action.data, POSTBACK_DATA_MAX, f"{field}.data", _("The postback data"))
        _too_long(action.display_text, ACTION_TEXT_MAX, f"{field}.display_text", _("The display text"))
    else:
        _too_long(action.text, ACTION_TEXT_MAX, f"{field}.text", _("The message text"))


def _check_actions(actions, field: str, limit: int):
    _too_many(actions, limit, f"{field}.actions", _("buttons"))
    for i, action in enumerate(actions):
        _check_action(action, f"{field}.actions[{i}]")


def _validate_one(content, field: str):
    kind = content.type
    _too_long(content.alt_text, ALT_TEXT_MAX, f"{field}.alt_text", _("The alternative text"))
    if kind == "text":
        _too_long(content.text, TEXT_MAX, f"{field}.text", _("The text"))
    elif kind in ("image", "video"):
        _check_media(content.url, f"{field}.url")
        if content.preview_url:
            _check_media(content.preview_url, f"{field}.preview_url")
    elif kind == "buttons":
        _too_long(content.title, BUTTONS_TITLE_MAX, f"{field}.title", _("The title"))
        short = content.image_url or content.title
        _too_long(content.text, BUTTONS_TEXT_WITH_IMAGE_OR_TITLE_MAX if short else BUTTONS_TEXT_MAX,
                  f"{field}.text", _("The text (with an image or title)") if short else _("The text"))
        if content.image_url:
            _check_media(content.image_url, f"{field}.image_url")
        _check_actions(content.actions, field, BUTTONS_ACTIONS_MAX)
    elif kind == "carousel":
        _too_many(content.columns, CAROUSEL_COLUMNS_MAX, f"{field}.columns", _("columns"))
        first = content.columns[0]
        for j, column in enumerate(content.columns):
            cfield = f"{field}.columns[{j}]"
            _too_long(column.title, BUTTONS_TITLE_MAX, f"{cfield}.title", _("The title"))
            short = column.image_url or column.title
            _too_long(column.text, CAROUSEL_TEXT_WITH_IMAGE_OR_TITLE_MAX if short else CAROUSEL_TEXT_MAX,
                      f"{cfield}.text", _("The text (with an image or title)") if short else _("The text"))
            if column.image_url:
                _check_media(column.image_url, f"{cfield}.image_url")
            _check_actions(column.actions, cfield, CAROUSEL_ACTIONS_MAX)
            # LINE renders columns side by side and refuses a carousel whose columns differ in shape.
            if len(column.actions) != len(first.actions):
                raise ServiceError(
                    _("Every carousel column needs the same number of buttons (column 1 has %(n)s).")
                    % {"n": len(first.actions)},
                    field=f"{cfield}.actions",
                )
            if bool(column.image_url) != bool(first.image_url):
                raise ServiceError(_("Give every carousel column an image, or none."), field=f"{cfield}.image_url")
            if bool(column.title) != bool(first.title):
                raise ServiceError(_("Give every carousel column a title, or none."), field=f"{cfield}.title")
    elif kind == "image_carousel":
        _too_many(content.columns, IMAGE_CAROUSEL_COLUMNS_MAX, f"{field}.columns", _("columns"))
        for j, column in enumerate(content.columns):
            _check_media(column.image_url, f"{field}.columns[{j}].image_url")
            _check_action(column.action, f"{field}.columns[{j}].action", label_max=IMAGE_CAROUSEL_LABEL_MAX)
    elif kind == "imagemap":
        _check_uri(content.base_url, f"{field}.base_url", schemes=("https",), limit=MEDIA_URL_MAX)
        if content.width != IMAGEMAP_WIDTH:
            raise ServiceError(_("An imagemap is laid out 1040 pixels wide."), field=f"{field}.width")
        _too_many(content.actions, IMAGEMAP_ACTIONS_MAX, f"{field}.actions", _("tappable areas"))
        for i, action in enumerate(content.actions):
            afield = f"{field}.actions[{i}]"
            if action.type == "uri":
                if not action.uri:
                    raise ServiceError(_("This field is required."), field=f"{afield}.uri")
                _check_uri(action.uri, f"{afield}.uri")
            else:
                if not action.text:
                    raise ServiceError(_("This field is required."), field=f"{afield}.text")
                _too_long(action.text, 400, f"{afield}.text", _("The message text"))
            _too_long(action.label, IMAGEMAP_LABEL_MAX, f"{afield}.label", _("The label"))
    elif kind == "coupon":
        if content.image_url:
            _check_media(content.image_url, f"{field}.image_url")
        _check_action(content.button, f"{field}.button")
        size = len(json.dumps(_coupon(content), ensure_ascii=False).encode())
        if size > FLEX_BUBBLE_BYTES_MAX:
            raise ServiceError(
                _("This coupon card is %(size)s bytes; LINE allows at most %(limit)s.")
                % {"size": size, "limit": FLEX_BUBBLE_BYTES_MAX},
                field=field,
            )
    if content.quick_replies:
        _too_many(content.quick_replies, QUICK_REPLY_MAX, f"{field}.quick_replies", _("quick replies"))
        for i, action in enumerate(content.quick_replies):
            _check_action(action, f"{field}.quick_replies[{i}]")


def validate(contents, *, field: str = "messages") -> None:
    """Raise ServiceError (field like `messages[0].actions[4]`) for the first thing LINE would refuse."""
    if len(contents) > MAX_MESSAGES:
        raise ServiceError(
            _("LINE sends at most %(limit)s messages at once; this has %(count)s.")
            % {"limit": MAX_MESSAGES, "count": len(contents)},
            field=f"{field}[{MAX_MESSAGES}]",
        )
    for i, content in enumerate(contents):
        _validate_one(content, f"{field}[{i}]")
