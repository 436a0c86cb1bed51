"""Our template shape ↔ the Graph API's `components` (samples/whatsapp_template_create/).

Buttons map QUICK_REPLY ↔ quick_reply, URL ↔ url, PHONE_NUMBER ↔ phone, ORDER_DETAILS ↔ go_to_order (a template
with an ORDER_DETAILS button is created with `display_format: "ORDER_DETAILS"`, reference/meta/NOTES.md).
A media header goes to Meta with the sample's address as its `header_handle` example (see
docs/modules/message_templates.md: a live account needs an upload handle there).
"""

GRAPH_BUTTON = {"quick_reply": "QUICK_REPLY", "url": "URL", "phone": "PHONE_NUMBER", "go_to_order": "ORDER_DETAILS"}
OUR_BUTTON = {graph: ours for ours, graph in GRAPH_BUTTON.items()}


def graph_components(spec: dict) -> list[dict]:
    """Graph `components` for a cleaned template (rules.template_clean)."""
    examples = spec.get("examples") or {}
    components = []
    header = spec.get("header")
    if header:
        if header["format"] == "TEXT":
            component = {"type": "HEADER", "format": "TEXT", "text": header["text"]}
            if examples.get("header"):
                component["example"] = {"header_text": list(examples["header"])}
        else:
            component = {"type": "HEADER", "format": header["format"], "example": {"header_handle": [header["url"]]}}
        components.append(component)
    body = {"type": "BODY", "text": spec["body"]}
    if examples.get("body"):
        body["example"] = {"body_text": [list(examples["body"])]}
    components.append(body)
    if spec.get("footer"):
        components.append({"type": "FOOTER", "text": spec["footer"]})
    if spec.get("buttons"):
        url_examples = list(examples.get("url") or [])
        buttons = []
        for button in spec["buttons"]:
            out = {"type": GRAPH_BUTTON[button["type"]], "text": button["text"]}
            if button["type"] == "url":
                out["url"] = button["url"]
                if button["url"].endswith("{{1}}") and url_examples:
                    out["example"] = [url_examples.pop(0)]
            elif button["type"] == "phone":
                out["phone_number"] = button["phone"]
            buttons.append(out)
        components.append({"type": "BUTTONS", "buttons": buttons})
    return components


def graph_template(spec: dict) -> dict:
    """The body of POST /{waba-id}/message_templates."""
    payload = {"name": spec["name"], "language": spec["language"], "category": spec["category"],
               "components": graph_components(spec)}
    if any(b["type"] == "go_to_order" for b in spec.get("buttons") or []):
        payload["display_format"] = "ORDER_DETAILS"
    return payload


def spec_from_graph(template: dict) -> dict:
    """Our shape from a Graph template (list / get answers); kinds we do not author are left out of buttons."""
    spec = {"name": template.get("name", ""), "language": template.get("language", ""),
            "category": str(template.get("category") or "").upper(), "header": None, "body": "", "footer": "",
            "buttons": [], "examples": {}}
    for component in template.get("components") or []:
        kind = str(component.get("type") or "").upper()
        example = component.get("example") or {}
        if kind == "HEADER":
            fmt = str(component.get("format") or "TEXT").upper()
            if fmt == "TEXT":
                spec["header"] = {"format": "TEXT", "text": component.get("text", "")}
                if example.get("header_text"):
                    spec["examples"]["header"] = list(example["header_text"])
            elif fmt in ("IMAGE", "VIDEO", "DOCUMENT"):
                handles = example.get("header_handle") or [""]
                spec["header"] = {"format": fmt, "url": str(handles[0]).split("\n")[0]}
        elif kind == "BODY":
            spec["body"] = component.get("text", "")
            if example.get("body_text"):
                spec["examples"]["body"] = list(example["body_text"][0])
        elif kind == "FOOTER":
            spec["footer"] = component.get("text", "")
        elif kind == "BUTTONS":
            for button in component.get("buttons") or []:
                ours = OUR_BUTTON.get(str(button.get("type") or "").upper())
                if ours is None:
                    continue
                out = {"type": ours, "text": button.get("text", "")}
                if ours == "url":
                    out["url"] = button.get("url", "")
                elif ours == "phone":
                    out["phone"] = button.get("phone_number", "")
                spec["buttons"].append(out)
    return spec
