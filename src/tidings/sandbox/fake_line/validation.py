"""LINE's checks on message objects, with LINE's error shape: each problem is `{"message", "property"}` where
property is a JSON path into the request body (`messages[0].template.actions[2].label`).

Limits are LINE's documented ones (reference: message objects, action objects). The wording follows the examples
in LINE's reference ("May not be empty", "Must be one of the following values: […]", "Size must be between 1 and
5"); where LINE documents no wording we use the same style.
"""

import json
import re

MESSAGE_TYPES = ["text", "textV2", "image", "video", "audio", "location", "sticker", "template", "imagemap", "flex",
                 "coupon"]
TEMPLATE_TYPES = ["buttons", "confirm", "carousel", "image_carousel"]
ACTION_TYPES = ["postback", "message", "uri", "datetimepicker", "camera", "cameraRoll", "location", "richmenuswitch",
                "clipboard"]
URI_SCHEMES = ("http://", "https://", "line://", "tel:", "mailto:")
UNIT_NAME = re.compile(r"^[a-zA-Z0-9_]{1,30}$")
USER_ID = re.compile(r"^U[0-9a-f]{32}$")


class Problems:
    def __init__(self):
        self.details: list[dict] = []

    def add(self, prop: str, message: str):
        self.details.append({"message": message, "property": prop})

    def __bool__(self):
        return bool(self.details)

    def body(self) -> dict:
        return {"message": f"The request body has {len(self.details)} error(s)", "details": self.details}


def _str(p: Problems, obj: dict, key: str, prop: str, *, required=True, max_len=None, min_len=1):
    value = obj.get(key)
    if value is None or value == "":
        if required:
            p.add(f"{prop}.{key}", "May not be empty" if value == "" else "must be specified")
        return None
    if not isinstance(value, str):
        p.add(f"{prop}.{key}", "must be a string")
        return None
    if max_len is not None and not min_len <= len(value) <= max_len:
        p.add(f"{prop}.{key}", f"Length must be between {min_len} and {max_len}")
    return value


def _https(p: Problems, obj: dict, key: str, prop: str, *, required=True, max_len=2000):
    value = _str(p, obj, key, prop, required=required, max_len=max_len)
    if value is not None and not value.startswith("https://"):
        p.add(f"{prop}.{key}", "must be a HTTPS URL")
    return value


def _list(p: Problems, obj: dict, key: str, prop: str, lo: int, hi: int, *, required=True):
    value = obj.get(key)
    if value is None:
        if required:
            p.add(f"{prop}.{key}", "must be specified")
        return []
    if not isinstance(value, list):
        p.add(f"{prop}.{key}", "must be an array")
        return []
    if not lo <= len(value) <= hi:
        p.add(f"{prop}.{key}", f"Size must be between {lo} and {hi}")
    return value


def _one_of(p: Problems, value, allowed: list[str], prop: str) -> bool:
    if value not in allowed:
        p.add(prop, f"Must be one of the following values: [{', '.join(allowed)}]")
        return False
    return True


def check_action(p: Problems, action, prop: str, *, label_max: int = 20, label_required: bool = True):
    if not isinstance(action, dict):
        p.add(prop, "must be an object")
        return
    kind = action.get("type")
    if not _one_of(p, kind, ACTION_TYPES, f"{prop}.type"):
        return
    _str(p, action, "label", prop, required=label_required and kind != "richmenuswitch", max_len=label_max)
    if kind == "postback":
        _str(p, action, "data", prop, max_len=300)
        _str(p, action, "displayText", prop, required=False, max_len=300)
        _str(p, action, "text", prop, required=False, max_len=300)
    elif kind == "message":
        _str(p, action, "text", prop, max_len=300)
    elif kind == "uri":
        uri = _str(p, action, "uri", prop, max_len=1000)
        if uri is not None and not uri.startswith(URI_SCHEMES):
            p.add(f"{prop}.uri", "invalid uri scheme")
    elif kind == "datetimepicker":
        _str(p, action, "data", prop, max_len=300)
        _one_of(p, action.get("mode"), ["date", "time", "datetime"], f"{prop}.mode")
    elif kind == "richmenuswitch":
        _str(p, action, "data", prop, max_len=300)
        _str(p, action, "richMenuAliasId", prop, max_len=32)
    elif kind == "clipboard":
        _str(p, action, "clipboardText", prop, max_len=1000)


def _check_actions(p: Problems, obj: dict, key: str, prop: str, lo: int, hi: int, **kw):
    for i, action in enumerate(_list(p, obj, key, prop, lo, hi)):
        check_action(p, action, f"{prop}.{key}[{i}]", **kw)


def _check_template(p: Problems, template, prop: str):
    if not isinstance(template, dict):
        p.add(prop, "must be specified")
        return
    kind = template.get("type")
    if not _one_of(p, kind, TEMPLATE_TYPES, f"{prop}.type"):
        return
    if kind == "buttons":
        short = bool(template.get("title") or template.get("thumbnailImageUrl"))
        _https(p, template, "thumbnailImageUrl", prop, required=False)
        _str(p, template, "title", prop, required=False, max_len=40)
        _str(p, template, "text", prop, max_len=60 if short else 160)
        _check_actions(p, template, "actions", prop, 1, 4)
        if template.get("defaultAction") is not None:
            check_action(p, template["defaultAction"], f"{prop}.defaultAction", label_required=False)
    elif kind == "confirm":
        _str(p, template, "text", prop, max_len=240)
        _check_actions(p, template, "actions", prop, 2, 2)
    elif kind == "carousel":
        columns = _list(p, template, "columns", prop, 1, 10)
        counts = set()
        for i, column in enumerate(columns):
            cprop = f"{prop}.columns[{i}]"
            if not isinstance(column, dict):
                p.add(cprop, "must be an object")
                continue
            short = bool(column.get("title") or column.get("thumbnailImageUrl"))
            _https(p, column, "thumbnailImageUrl", cprop, required=False)
            _str(p, column, "title", cprop, required=False, max_len=40)
            _str(p, column, "text", cprop, max_len=60 if short else 120)
            _check_actions(p, column, "actions", cprop, 1, 3)
            counts.add(len(column.get("actions") or []))
        if len(counts) > 1:
            p.add(f"{prop}.columns", "The number of actions must be the same for all columns")
    elif kind == "image_carousel":
        for i, column in enumerate(_list(p, template, "columns", prop, 1, 10)):
            cprop = f"{prop}.columns[{i}]"
            if not isinstance(column, dict):
                p.add(cprop, "must be an object")
                continue
            _https(p, column, "imageUrl", cprop)
            check_action(p, column.get("action"), f"{cprop}.action", label_max=12, label_required=False)


def _check_imagemap(p: Problems, message: dict, prop: str):
    _https(p, message, "baseUrl", prop)
    base = message.get("baseSize")
    if not isinstance(base, dict) or not isinstance(base.get("width"), int) or not isinstance(base.get("height"), int):
        p.add(f"{prop}.baseSize", "must be specified")
    for i, action in enumerate(_list(p, message, "actions", prop, 1, 50)):
        aprop = f"{prop}.actions[{i}]"
        if not isinstance(action, dict):
            p.add(aprop, "must be an object")
            continue
        if not _one_of(p, action.get("type"), ["uri", "message", "clipboard"], f"{aprop}.type"):
            continue
        _str(p, action, "label", aprop, required=False, max_len=100)
        if action["type"] == "uri":
            uri = _str(p, action, "linkUri", aprop, max_len=1000)
            if uri is not None and not uri.startswith(URI_SCHEMES):
                p.add(f"{aprop}.linkUri", "invalid uri scheme")
        elif action["type"] == "message":
            _str(p, action, "text", aprop, max_len=400)
        else:
            _str(p, action, "clipboardText", aprop, max_len=1000)
        area = action.get("area")
        if not isinstance(area, dict) or any(not isinstance(area.get(k), int) for k in ("x", "y", "width", "height")):
            p.add(f"{aprop}.area", "must be specified")


def _check_flex(p: Problems, message: dict, prop: str):
    contents = message.get("contents")
    if not isinstance(contents, dict) or not _one_of(p, contents.get("type"), ["bubble", "carousel"],
                                                     f"{prop}.contents.type"):
        if not isinstance(contents, dict):
            p.add(f"{prop}.contents", "must be specified")
        return
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if contents["type"] == "carousel":
        _list(p, contents, "contents", f"{prop}.contents", 1, 12)
        if size > 50_000:
            p.add(f"{prop}.contents", "The size of a carousel must be at most 50KB")
    elif size > 30_000:
        p.add(f"{prop}.contents", "The size of a bubble must be at most 30KB")


def check_message(p: Problems, message, prop: str, *, pnp: bool = False):
    if not isinstance(message, dict):
        p.add(prop, "must be an object")
        return
    kind = message.get("type")
    if not _one_of(p, kind, MESSAGE_TYPES, f"{prop}.type"):
        return
    if pnp and kind in ("image", "video", "audio"):
        # LINE notification messages may not carry images, video or audio.
        p.add(f"{prop}.type", "This message type can't be sent as a LINE notification message")
    if kind in ("text", "textV2"):
        _str(p, message, "text", prop, max_len=5000)
    elif kind in ("image", "video"):
        _https(p, message, "originalContentUrl", prop)
        _https(p, message, "previewImageUrl", prop)
    elif kind == "audio":
        _https(p, message, "originalContentUrl", prop)
        if not isinstance(message.get("duration"), int):
            p.add(f"{prop}.duration", "must be specified")
    elif kind == "location":
        _str(p, message, "title", prop, max_len=100)
        _str(p, message, "address", prop, max_len=100)
        for key in ("latitude", "longitude"):
            if not isinstance(message.get(key), int | float):
                p.add(f"{prop}.{key}", "must be specified")
    elif kind == "sticker":
        _str(p, message, "packageId", prop)
        _str(p, message, "stickerId", prop)
    elif kind == "imagemap":
        _str(p, message, "altText", prop, max_len=1500)
        _check_imagemap(p, message, prop)
    elif kind == "template":
        _str(p, message, "altText", prop, max_len=1500)
        _check_template(p, message.get("template"), f"{prop}.template")
    elif kind == "flex":
        _str(p, message, "altText", prop, max_len=1500)
        _check_flex(p, message, prop)
    elif kind == "coupon":
        _str(p, message, "couponId", prop)
    quick = message.get("quickReply")
    if quick is not None:
        qprop = f"{prop}.quickReply"
        for i, item in enumerate(_list(p, quick if isinstance(quick, dict) else {}, "items", qprop, 1, 13)):
            iprop = f"{qprop}.items[{i}]"
            if not isinstance(item, dict) or item.get("type", "action") != "action":
                p.add(f"{iprop}.type", "Must be one of the following values: [action]")
                continue
            _https(p, item, "imageUrl", iprop, required=False)
            check_action(p, item.get("action"), f"{iprop}.action")
    sender = message.get("sender")
    if isinstance(sender, dict):
        _str(p, sender, "name", f"{prop}.sender", required=False, max_len=20)
        _https(p, sender, "iconUrl", f"{prop}.sender", required=False, max_len=2000)


def check_messages(p: Problems, body: dict, *, pnp: bool = False) -> list:
    """Check `messages` (1–5 message objects); returns them (possibly partly invalid: see `p`)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        p.add("messages", "must be specified")
        return []
    if not 1 <= len(messages) <= 5:
        p.add("messages", "Size must be between 1 and 5")
    for i, message in enumerate(messages):
        check_message(p, message, f"messages[{i}]", pnp=pnp)
    if "notificationDisabled" in body and not isinstance(body["notificationDisabled"], bool):
        p.add("notificationDisabled", "must be a boolean")
    return messages


def check_units(p: Problems, body: dict) -> str | None:
    """`customAggregationUnits`: at most one name of 1–30 of [a-zA-Z0-9_]. Returns the unit name, if any."""
    units = body.get("customAggregationUnits")
    if units is None:
        return None
    if not isinstance(units, list):
        p.add("customAggregationUnits", "must be an array")
        return None
    if len(units) > 1:
        p.add("customAggregationUnits", "Size must be between 0 and 1")
    for i, unit in enumerate(units):
        if not isinstance(unit, str) or not UNIT_NAME.match(unit):
            p.add(f"customAggregationUnits[{i}]", "must match \"^[a-zA-Z0-9_]{1,30}$\"")
    return units[0] if units and not p else None
