"""The context `whatsapp/_template_bubble.html` renders: a template as WhatsApp shows it, variables filled.

    from tidings.message_templates.render import template_bubble
    tpl = template_bubble(template)                       # a WhatsAppTemplate: its sample values fill the variables
    tpl = template_bubble(graph_components, ["Mark"])     # Graph components (a SandboxTemplate's) and parameters
    {% include "whatsapp/_template_bubble.html" with tpl=tpl %}

tpl = {"header": {"format": "TEXT"|"IMAGE"|"VIDEO"|"DOCUMENT", "text"?, "url"?} | None, "body": str, "footer": str,
       "buttons": [{"type", "text", "url"?, "phone"?, "index"}], "shown": [...first buttons], "folded": [...rest]}
"""

import re

from .components import spec_from_graph
from .rules import VARIABLE_RE

FOLD_FROM = 4  # with 4 or more buttons WhatsApp shows the first 2 and folds the rest behind "See all options"
SHOWN_WHEN_FOLDED = 2


def fill(text: str, values: list[str] | None) -> str:
    """Replace {{n}} with the n-th value; a variable without a value stays visible as {{n}}."""
    values = list(values or [])

    def one(match: re.Match) -> str:
        n = int(match.group(1))
        return str(values[n - 1]) if 0 < n <= len(values) and values[n - 1] not in (None, "") else match.group(0)

    return VARIABLE_RE.sub(one, text or "")


def _spec_of(template_or_components) -> dict:
    if isinstance(template_or_components, list):  # Graph components
        return spec_from_graph({"components": template_or_components})
    if isinstance(template_or_components, dict):
        if "components" in template_or_components:  # a Graph template
            return spec_from_graph(template_or_components)
        return template_or_components  # already our shape
    return template_or_components.spec()  # a WhatsAppTemplate


def template_bubble(template_or_components, parameters: list[str] | None = None,
                    header_parameters: list[str] | None = None, url_parameters: list[str] | None = None) -> dict:
    """The partial's `tpl`. Parameters default to the template's sample values (so a preview reads naturally)."""
    spec = _spec_of(template_or_components)
    examples = spec.get("examples") or {}
    body_values = parameters if parameters is not None else examples.get("body")
    header_values = header_parameters if header_parameters is not None else examples.get("header")
    url_values = list(url_parameters if url_parameters is not None else examples.get("url") or [])
    header = None
    if spec.get("header"):
        raw = spec["header"]
        raw = {"format": "TEXT", "text": raw} if isinstance(raw, str) else raw  # the API's short form
        header = {"format": raw.get("format", "TEXT")}
        if header["format"] == "TEXT":
            header["text"] = fill(raw.get("text", ""), header_values)
        else:
            media = (header_parameters or [None])[0] if header_parameters else None
            header["url"] = media or raw.get("url", "")
    buttons = []
    for index, raw in enumerate(spec.get("buttons") or []):
        button = {"type": raw.get("type"), "text": raw.get("text", ""), "index": index}
        if raw.get("type") == "url":
            url = raw.get("url", "")
            if url.endswith("{{1}}") and url_values:
                url = url[: -len("{{1}}")] + str(url_values.pop(0))
            button["url"] = url
        elif raw.get("type") == "phone":
            button["phone"] = raw.get("phone", "")
        buttons.append(button)
    folded = len(buttons) >= FOLD_FROM
    return {
        "header": header,
        "body": fill(spec.get("body", ""), body_values),
        "footer": spec.get("footer", ""),
        "buttons": buttons,
        "shown": buttons[:SHOWN_WHEN_FOLDED] if folded else buttons,
        "folded": buttons[SHOWN_WHEN_FOLDED:] if folded else [],
    }
