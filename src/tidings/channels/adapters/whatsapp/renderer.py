"""Channel-neutral content → WhatsApp Cloud API message objects (the `type` and its object of a /messages body).

Limits are Meta's (reference/meta/NOTES.md and the v23.0 spec): text 4,096 characters; interactive reply buttons
≤ 3 with titles ≤ 20 and body ≤ 1,024; a list's body ≤ 4,096, button ≤ 20, ≤ 10 sections and ≤ 10 rows in all,
row titles ≤ 24, descriptions ≤ 72, section titles ≤ 24; headers and footers ≤ 60.

Mapping choices, where the content model offers more than WhatsApp can show:
- `buttons`: postback and message actions become reply buttons (id = the postback data, or the message text, so
  the `button_reply` that comes back carries what LINE's postback or message would have); a single uri action
  becomes a "cta_url" button. Reply buttons and a link cannot be mixed in one WhatsApp message: refused.
- `quick_replies` on a text become that text's reply buttons (≤ 3, postback/message only): WhatsApp has no quick
  replies, and reply buttons are what its users tap the same way. On any other kind they are refused.
- `template`: the body's {{1}}… from `parameters`, a text header's from `header_parameters`, and each dynamic URL
  button's suffix from `url_parameters`. A URL button's component needs the button's position in the template;
  the templates app registers a resolver for it (`url_button_positions_resolver`), else positions 0, 1… are used.
"""

from collections.abc import Callable

from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError

TEXT_MAX = 4096
BUTTON_BODY_MAX = 1024
LIST_BODY_MAX = 4096
HEADER_MAX = 60
FOOTER_MAX = 60
REPLY_BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
LIST_SECTIONS_MAX = 10
LIST_ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_ID_MAX = 200
ROW_DESCRIPTION_MAX = 72
SECTION_TITLE_MAX = 24

# (account, template name, language) -> positions of the template's URL buttons, in order; None when unknown.
UrlButtonPositions = Callable[[object, str, str], list[int] | None]
_url_button_positions: UrlButtonPositions | None = None


def url_button_positions_resolver(func: UrlButtonPositions) -> UrlButtonPositions:
    """Register where a template's URL buttons are (the templates app knows; channels may not import it)."""
    global _url_button_positions
    _url_button_positions = func
    return func


def _get(obj, name, default=None):
    value = obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)
    return default if value is None else value


def _too_long(field: str, maximum: int, value: str) -> None:
    if len(value) > maximum:
        raise ServiceError(
            _("WhatsApp allows at most %(max)s characters here; this has %(count)s.")
            % {"max": maximum, "count": len(value)},
            field=field,
        )


# --- validation --------------------------------------------------------------------------------------------------


def _reply_actions(field: str, actions: list, *, what: str) -> None:
    if len(actions) > REPLY_BUTTONS_MAX:
        raise ServiceError(
            _("WhatsApp shows at most %(max)s reply buttons; this %(what)s has %(count)s.")
            % {"max": REPLY_BUTTONS_MAX, "what": what, "count": len(actions)},
            field=field,
        )
    titles = set()
    for j, action in enumerate(actions):
        kind = _get(action, "type")
        if kind == "uri":
            raise ServiceError(
                _("WhatsApp cannot mix a link with reply buttons in one message; send the link on its own."),
                field=f"{field}[{j}].type",
            )
        label = _get(action, "label", "")
        _too_long(f"{field}[{j}].label", BUTTON_TITLE_MAX, label)
        if label in titles:
            raise ServiceError(_("WhatsApp button labels must differ from each other."), field=f"{field}[{j}].label")
        titles.add(label)
        _too_long(f"{field}[{j}]", BUTTON_ID_MAX, _reply_id(action))


def _validate_buttons(i: int, content) -> None:
    field = f"messages[{i}]"
    actions = list(_get(content, "actions", []))
    uris = [a for a in actions if _get(a, "type") == "uri"]
    if uris:
        if len(actions) > 1:
            j = next(j for j, a in enumerate(actions) if _get(a, "type") == "uri")
            raise ServiceError(
                _("WhatsApp shows either one link button or up to 3 reply buttons, not a mix or several links."),
                field=f"{field}.actions[{j}]",
            )
        _too_long(f"{field}.actions[0].label", BUTTON_TITLE_MAX, _get(uris[0], "label", ""))
    else:
        _reply_actions(f"{field}.actions", actions, what=_("message"))
    _too_long(f"{field}.text", BUTTON_BODY_MAX, _body_of_buttons(content))
    if _get(content, "title") and not _get(content, "image_url"):
        _too_long(f"{field}.title", HEADER_MAX, _get(content, "title"))


def _validate_list(i: int, content) -> None:
    field = f"messages[{i}]"
    _too_long(f"{field}.text", LIST_BODY_MAX, _get(content, "text", ""))
    _too_long(f"{field}.button", LIST_BUTTON_MAX, _get(content, "button", ""))
    if _get(content, "header"):
        _too_long(f"{field}.header", HEADER_MAX, _get(content, "header"))
    if _get(content, "footer"):
        _too_long(f"{field}.footer", FOOTER_MAX, _get(content, "footer"))
    sections = list(_get(content, "sections", []))
    if len(sections) > LIST_SECTIONS_MAX:
        raise ServiceError(_("A WhatsApp list has at most %(max)s sections.") % {"max": LIST_SECTIONS_MAX},
                           field=f"{field}.sections")
    total, ids = 0, set()
    for s, section in enumerate(sections):
        title = _get(section, "title", "")
        if len(sections) > 1 and not title:
            raise ServiceError(_("Give every section a title when a list has more than one."),
                               field=f"{field}.sections[{s}].title")
        _too_long(f"{field}.sections[{s}].title", SECTION_TITLE_MAX, title)
        for r, row in enumerate(_get(section, "rows", [])):
            total += 1
            at = f"{field}.sections[{s}].rows[{r}]"
            if total > LIST_ROWS_MAX:
                raise ServiceError(_("A WhatsApp list has at most %(max)s rows in all.") % {"max": LIST_ROWS_MAX},
                                   field=at)
            _too_long(f"{at}.title", ROW_TITLE_MAX, _get(row, "title", ""))
            _too_long(f"{at}.id", ROW_ID_MAX, _get(row, "id", ""))
            _too_long(f"{at}.description", ROW_DESCRIPTION_MAX, _get(row, "description", ""))
            if _get(row, "id") in ids:
                raise ServiceError(_("Row ids must differ from each other."), field=f"{at}.id")
            ids.add(_get(row, "id"))


def validate(contents: list) -> None:
    """Raise ServiceError naming the field for what WhatsApp cannot carry (kinds are checked by the adapter)."""
    for i, content in enumerate(contents):
        kind = _get(content, "type")
        quick = list(_get(content, "quick_replies", []))
        if quick and kind != "text":
            raise ServiceError(
                _("WhatsApp has no quick replies; on a text they become reply buttons, elsewhere remove them."),
                field=f"messages[{i}].quick_replies",
            )
        if kind == "text":
            if quick:
                _reply_actions(f"messages[{i}].quick_replies", quick, what=_("text"))
                _too_long(f"messages[{i}].text", BUTTON_BODY_MAX, _get(content, "text", ""))
            _too_long(f"messages[{i}].text", TEXT_MAX, _get(content, "text", ""))
        elif kind == "buttons":
            _validate_buttons(i, content)
        elif kind == "list":
            _validate_list(i, content)


# --- rendering ---------------------------------------------------------------------------------------------------


def _reply_id(action) -> str:
    if _get(action, "type") == "postback":
        return _get(action, "data", "")
    return _get(action, "text", "")


def _reply_buttons(actions) -> dict:
    return {"buttons": [{"type": "reply", "reply": {"id": _reply_id(a), "title": _get(a, "label", "")}}
                        for a in actions]}


def _body_of_buttons(content) -> str:
    title, text = _get(content, "title"), _get(content, "text", "")
    # With an image header the title has no header of its own: it leads the body, in bold as WhatsApp writes it.
    return f"*{title}*\n{text}" if title and _get(content, "image_url") else text


def _buttons(content) -> dict:
    interactive: dict = {}
    if _get(content, "image_url"):
        interactive["header"] = {"type": "image", "image": {"link": _get(content, "image_url")}}
    elif _get(content, "title"):
        interactive["header"] = {"type": "text", "text": _get(content, "title")}
    interactive["body"] = {"text": _body_of_buttons(content)}
    actions = list(_get(content, "actions", []))
    if len(actions) == 1 and _get(actions[0], "type") == "uri":
        interactive["type"] = "cta_url"
        interactive["action"] = {"name": "cta_url", "parameters": {
            "display_text": _get(actions[0], "label", ""), "url": _get(actions[0], "uri", "")}}
    else:
        interactive["type"] = "button"
        interactive["action"] = _reply_buttons(actions)
    return {"type": "interactive", "interactive": {"type": interactive.pop("type"), **interactive}}


def _list(content) -> dict:
    interactive: dict = {"type": "list"}
    if _get(content, "header"):
        interactive["header"] = {"type": "text", "text": _get(content, "header")}
    interactive["body"] = {"text": _get(content, "text", "")}
    if _get(content, "footer"):
        interactive["footer"] = {"text": _get(content, "footer")}
    sections = []
    for section in _get(content, "sections", []):
        rows = []
        for row in _get(section, "rows", []):
            one = {"id": _get(row, "id", ""), "title": _get(row, "title", "")}
            if _get(row, "description"):
                one["description"] = _get(row, "description")
            rows.append(one)
        out = {"rows": rows}
        if _get(section, "title"):
            out = {"title": _get(section, "title"), **out}
        sections.append(out)
    interactive["action"] = {"button": _get(content, "button", ""), "sections": sections}
    return {"type": "interactive", "interactive": interactive}


def _text_parameters(values) -> list[dict]:
    return [{"type": "text", "text": str(v)} for v in values]


def template_components(account, content) -> list[dict]:
    name, language = _get(content, "name", ""), _get(content, "language", "")
    components = []
    if _get(content, "header_parameters"):
        components.append({"type": "header", "parameters": _text_parameters(_get(content, "header_parameters"))})
    if _get(content, "parameters"):
        components.append({"type": "body", "parameters": _text_parameters(_get(content, "parameters"))})
    url_parameters = list(_get(content, "url_parameters", []))
    if url_parameters:
        positions = _url_button_positions(account, name, language) if _url_button_positions else None
        if not positions or len(positions) < len(url_parameters):
            positions = list(range(len(url_parameters)))
        for position, value in zip(positions, url_parameters, strict=False):
            components.append({"type": "button", "sub_type": "url", "index": str(position),
                               "parameters": _text_parameters([value])})
    return components


def _template(account, content) -> dict:
    template = {"name": _get(content, "name", ""),
                "language": {"policy": "deterministic", "code": _get(content, "language", "")}}
    components = template_components(account, content)
    if components:
        template["components"] = components
    return {"type": "template", "template": template}


def render(content, account=None) -> dict:
    """One content (parsed model or dict) → `{"type": …, <type>: {…}}` for a /messages body."""
    kind = _get(content, "type")
    if kind == "text":
        text = _get(content, "text", "")
        quick = list(_get(content, "quick_replies", []))
        if quick:
            return {"type": "interactive",
                    "interactive": {"type": "button", "body": {"text": text}, "action": _reply_buttons(quick)}}
        return {"type": "text", "text": {"body": text, "preview_url": "http://" in text or "https://" in text}}
    if kind in ("image", "video"):
        return {"type": kind, kind: {"link": _get(content, "url", "")}}
    if kind == "buttons":
        return _buttons(content)
    if kind == "list":
        return _list(content)
    if kind == "template":
        return _template(account, content)
    raise ValueError(f"WhatsApp cannot render {kind!r}")
