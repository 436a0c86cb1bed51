"""The fake WhatsApp Cloud API's checks on a /messages body, with Meta's error codes and limits.

Each check returns an `Answer` (Graph's error envelope) or None. Codes: 100 "Invalid parameter" for structure,
131008 "Required parameter is missing", 131009 "Parameter value is not valid" (limits of interactive messages),
132000 / 132001 / 132015 / 132016 for templates (the template store is sandbox.models.SandboxTemplate).
"""

import re

from .common import Answer, graph_error, invalid_parameter

TYPES = ("text", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive", "template",
         "reaction")
MEDIA = ("image", "video", "audio", "document", "sticker")
INTERACTIVE_TYPES = ("button", "list", "cta_url", "product", "product_list", "catalog_message", "flow",
                     "location_request_message", "order_details", "order_status", "call_permission_request")
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def missing(details: str) -> Answer:
    return graph_error(400, "(#131008) Required parameter is missing", code=131008, details=details)


def not_valid(details: str) -> Answer:
    return graph_error(400, "(#131009) Parameter value is not valid", code=131009, details=details)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _length(details_name: str, value, low: int, high: int) -> Answer | None:
    if not isinstance(value, str) or not low <= len(value) <= high:
        return not_valid(f"{details_name} length invalid. Min length: {low}, Max length: {high}")
    return None


def check_envelope(body: dict) -> Answer | None:
    if body.get("messaging_product") != "whatsapp":
        return invalid_parameter("The parameter messaging_product is required and must be 'whatsapp'.")
    if body.get("recipient_type", "individual") not in ("individual", "group"):
        return invalid_parameter("Invalid recipient_type; use 'individual'.")
    if not isinstance(body.get("to"), str) or not body.get("to").strip():
        return missing("The parameter to is required.")
    kind = body.get("type", "text")
    if kind not in TYPES:
        return invalid_parameter(f"Unsupported message type {kind!r}.")
    if not isinstance(body.get(kind), dict):
        return missing(f"The parameter {kind} is required for a {kind} message.")
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > 512):
        return invalid_parameter("biz_opaque_callback_data must be a string of at most 512 characters.")
    return None


def check_text(obj: dict) -> Answer | None:
    if not _text(obj.get("body")):
        return missing("The parameter text['body'] is required.")
    return _length("Text body", obj["body"], 1, 4096)


def check_media(kind: str, obj: dict) -> Answer | None:
    if bool(obj.get("id")) == bool(obj.get("link")):
        return invalid_parameter(f"Give exactly one of {kind}['id'] or {kind}['link'].")
    if obj.get("caption") is not None and _length("Caption", obj.get("caption"), 0, 1024):
        return _length("Caption", obj.get("caption"), 0, 1024)
    return None


def _check_header(interactive: dict) -> Answer | None:
    header = interactive.get("header")
    if header is None:
        return None
    if not isinstance(header, dict) or header.get("type") not in ("text", "image", "video", "document"):
        return invalid_parameter("interactive['header']['type'] must be text, image, video or document.")
    if header["type"] == "text":
        return _length("Header text", header.get("text"), 1, 60)
    media = header.get(header["type"])
    if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
        return missing(f"The header needs {header['type']}['id'] or {header['type']}['link'].")
    return None


def _check_buttons(interactive: dict) -> Answer | None:
    buttons = (interactive.get("action") or {}).get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return not_valid("Buttons count invalid. Min: 1, Max: 3")
    ids, titles = set(), set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(button, dict) or button.get("type") != "reply" or not isinstance(reply, dict):
            return invalid_parameter("Each button is {'type': 'reply', 'reply': {'id', 'title'}}.")
        problem = _length("Button title", reply.get("title"), 1, 20) or _length("Button id", reply.get("id"), 1, 256)
        if problem:
            return problem
        if reply["id"] in ids or reply["title"] in titles:
            return not_valid("Button title and id must be unique.")
        ids.add(reply["id"])
        titles.add(reply["title"])
    return _length("Body text", (interactive.get("body") or {}).get("text"), 1, 1024)


def _check_list(interactive: dict) -> Answer | None:
    action = interactive.get("action") or {}
    problem = (_length("Body text", (interactive.get("body") or {}).get("text"), 1, 4096)
               or _length("Button text", action.get("button"), 1, 20))
    if problem:
        return problem
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        return not_valid("Sections count invalid. Min: 1, Max: 10")
    rows, ids = 0, set()
    for section in sections:
        if not isinstance(section, dict) or not isinstance(section.get("rows"), list) or not section["rows"]:
            return missing("Each section needs rows.")
        if len(sections) > 1 and not section.get("title"):
            return missing("Section title is required when there is more than one section.")
        if section.get("title") is not None and _length("Section title", section.get("title"), 1, 24):
            return _length("Section title", section.get("title"), 1, 24)
        for row in section["rows"]:
            rows += 1
            if not isinstance(row, dict):
                return invalid_parameter("Each row is an object with id and title.")
            problem = _length("Row title", row.get("title"), 1, 24) or _length("Row id", row.get("id"), 1, 200)
            if problem:
                return problem
            if row.get("description") is not None and _length("Row description", row.get("description"), 0, 72):
                return _length("Row description", row.get("description"), 0, 72)
            if row["id"] in ids:
                return not_valid("Row id must be unique.")
            ids.add(row["id"])
    if rows > 10:
        return not_valid("Total row count exceed max allowed count: 10")
    return None


def _check_cta_url(interactive: dict) -> Answer | None:
    action = interactive.get("action") or {}
    parameters = action.get("parameters") if isinstance(action.get("parameters"), dict) else {}
    if action.get("name") != "cta_url" or not _text(parameters.get("url")).startswith(("http://", "https://")):
        return invalid_parameter("A cta_url message needs action {'name': 'cta_url', 'parameters': "
                                 "{'display_text', 'url'}} with an http(s) URL.")
    return (_length("Display text", parameters.get("display_text"), 1, 20)
            or _length("Body text", (interactive.get("body") or {}).get("text"), 1, 1024))


def check_interactive(interactive: dict) -> Answer | None:
    kind = interactive.get("type")
    if kind not in INTERACTIVE_TYPES:
        return invalid_parameter(f"Unsupported interactive type {kind!r}.")
    if not isinstance(interactive.get("action"), dict):
        return missing("The parameter interactive['action'] is required.")
    footer = interactive.get("footer")
    if footer is not None and _length("Footer text", (footer or {}).get("text"), 1, 60):
        return _length("Footer text", (footer or {}).get("text"), 1, 60)
    problem = _check_header(interactive)
    if problem:
        return problem
    if kind == "button":
        return _check_buttons(interactive)
    if kind == "list":
        return _check_list(interactive)
    if kind == "cta_url":
        return _check_cta_url(interactive)
    return None


# --- templates -------------------------------------------------------------------------------------------------


def _variables(text) -> int:
    return len(set(VARIABLE.findall(text or "")))


def template_expects(components: list) -> dict:
    """What a stored template needs at send time: header/body variable counts, positions of dynamic URL buttons."""
    expects = {"header": 0, "body": 0, "url_buttons": []}
    for component in components or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER" and str(component.get("format", "TEXT")).upper() == "TEXT":
            expects["header"] = _variables(component.get("text"))
        elif kind == "BODY":
            expects["body"] = _variables(component.get("text"))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                if str(button.get("type", "")).upper() == "URL" and VARIABLE.search(button.get("url") or ""):
                    expects["url_buttons"].append(index)
    return expects


def mismatch(details: str) -> Answer:
    return graph_error(400, "(#132000) Number of parameters does not match the expected number of params",
                       code=132000, details=details)


def check_template_parameters(template: dict, stored_components: list) -> Answer | None:
    """The parameters sent must fill exactly the template's variables (Meta's 132000 otherwise).

    A media header's parameter is not required here: the fake shows the template's sample media instead.
    """
    expects = template_expects(stored_components)
    sent = {"header": 0, "body": 0, "url_buttons": []}
    for component in template.get("components") or []:
        if not isinstance(component, dict):
            return invalid_parameter("Each template component is an object.")
        kind = str(component.get("type", "")).lower()
        parameters = component.get("parameters") if isinstance(component.get("parameters"), list) else []
        if kind == "header":
            sent["header"] = sum(1 for p in parameters if isinstance(p, dict) and p.get("type") == "text")
        elif kind == "body":
            sent["body"] = len(parameters)
        elif kind == "button" and str(component.get("sub_type", "")).lower() == "url":
            try:
                sent["url_buttons"].append(int(component.get("index")))
            except (TypeError, ValueError):
                return invalid_parameter("A button component needs its index.")
    for part in ("header", "body"):
        if sent[part] != expects[part]:
            return mismatch(f"{part}: number of localizable_params ({sent[part]}) does not match the expected "
                            f"number of params ({expects[part]})")
    if sorted(sent["url_buttons"]) != expects["url_buttons"]:
        return mismatch(f"buttons: URL parameters given for buttons {sorted(sent['url_buttons'])}, the template's "
                        f"dynamic URL buttons are {expects['url_buttons']}")
    return None
