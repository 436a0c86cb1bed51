"""What a persona's phone shows: LINE message objects and SMS bodies turned into chat items for the templates.

Every tappable action carries its index in `personas.message_actions(payload)`, which is what a tap posts back, so
the phone and the API (`button` = number) agree on which button is which.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from ..personas import USER_KIND, message_actions


def _indexer(payload: dict):
    actions = message_actions(payload)
    by_identity = {id(action): index for index, action in enumerate(actions)}

    def button(action: dict | None) -> dict | None:
        if not action:
            return None
        index = by_identity.get(id(action))
        return {"label": action.get("label") or action.get("text") or _("Open"), "index": index,
                "kind": action.get("type", ""), "uri": action.get("uri", "")}

    return actions, button


def line_item(delivery) -> dict:
    """One chat item: {"side": "them"|"me"|"note", "type": …, fields for its template, "quick_replies": […]}."""
    payload = delivery.payload or {}
    kind = payload.get("type")
    item = {"id": delivery.pk, "at": delivery.created_at, "delivered": delivery.delivered, "kind": delivery.kind,
            "side": "them", "type": kind, "quick_replies": []}
    if delivery.kind == USER_KIND:
        item["side"] = "me"
        if kind == "postback":
            item.update(side="note", type="tapped", label=payload.get("label", ""), data=payload.get("data", ""))
        else:
            item.update(type="text", text=payload.get("text", ""))
        return item
    actions, button = _indexer(payload)
    if kind == "text":
        item["text"] = payload.get("text", "")
    elif kind == "image":
        item.update(src=payload.get("previewImageUrl") or payload.get("originalContentUrl"),
                    full=payload.get("originalContentUrl"))
    elif kind == "video":
        item.update(src=payload.get("originalContentUrl"), poster=payload.get("previewImageUrl"))
    elif kind == "template":
        template = payload.get("template") or {}
        ttype = template.get("type")
        item["alt"] = payload.get("altText", "")
        if ttype in ("buttons", "confirm"):
            item.update(type="buttons", title=template.get("title", ""), text=template.get("text", ""),
                        image=template.get("thumbnailImageUrl", ""),
                        buttons=[button(a) for a in template.get("actions") or []])
        elif ttype == "carousel":
            item.update(type="carousel", columns=[{
                "title": c.get("title", ""), "text": c.get("text", ""), "image": c.get("thumbnailImageUrl", ""),
                "buttons": [button(a) for a in c.get("actions") or []],
            } for c in template.get("columns") or []])
        elif ttype == "image_carousel":
            item.update(type="image_carousel", columns=[{
                "image": c.get("imageUrl", ""), "button": button(c.get("action")),
            } for c in template.get("columns") or []])
        else:
            item.update(type="unknown", alt=payload.get("altText", ""))
    elif kind == "imagemap":
        base = payload.get("baseSize") or {}
        width, height = base.get("width") or 1040, base.get("height") or 1040
        areas = []
        for index, action in enumerate(payload.get("actions") or []):
            area = action.get("area") or {}
            areas.append({
                "index": index, "label": action.get("label") or action.get("text") or action.get("linkUri", ""),
                "left": 100 * area.get("x", 0) / width, "top": 100 * area.get("y", 0) / height,
                "width": 100 * area.get("width", 0) / width, "height": 100 * area.get("height", 0) / height,
            })
        item.update(src=f"{payload.get('baseUrl', '')}/1040", ratio=100 * height / width, areas=areas,
                    alt=payload.get("altText", ""))
    elif kind == "flex":
        item.update(html=flex_html(payload.get("contents") or {}, button), alt=payload.get("altText", ""))
    else:
        item.update(type="unknown", alt=payload.get("altText", "") or kind or "")
    item["quick_replies"] = [button(i.get("action")) for i in (payload.get("quickReply") or {}).get("items") or []
                             if i.get("action")]
    return item


def sms_item(delivery) -> dict:
    return {"id": delivery.pk, "at": delivery.created_at, "delivered": delivery.delivered, "kind": delivery.kind,
            "side": "me" if delivery.kind == USER_KIND else "them", "type": "text",
            "text": (delivery.payload or {}).get("body", "")}


def timeline(deliveries, channel: str) -> list[dict]:
    items = [line_item(d) if channel == "line" else sms_item(d) for d in deliveries]
    # LINE shows quick-reply chips only under the latest message, and only until the user answers.
    for item in items[:-1]:
        item["quick_replies"] = []
    return items


# --- flex (our coupon card is a bubble) --------------------------------------------------------------------------


def _button_html(action: dict, button, style: str = "link") -> str:
    b = button(action)
    if b is None:
        return ""
    return format_html('<button type="submit" name="button" value="{}" class="flex-button flex-button-{}" '
                       'data-kind="{}">{}</button>', b["index"], style, b["kind"], b["label"])


def _component(node: dict, button) -> str:
    kind = node.get("type")
    if kind == "box":
        layout = node.get("layout", "vertical")
        inner = mark_safe("".join(_component(c, button) for c in node.get("contents") or []))
        return format_html('<div class="flex-box flex-{}">{}</div>', layout, inner)
    if kind in ("text", "span"):
        classes = "flex-text"
        if node.get("weight") == "bold":
            classes += " flex-bold"
        if node.get("size") in ("xl", "xxl", "3xl", "lg"):
            classes += " flex-large"
        if node.get("size") in ("sm", "xs", "xxs"):
            classes += " flex-small"
        style = f"color:{node['color']}" if str(node.get("color", "")).startswith("#") else ""
        return format_html('<span class="{}" style="{}">{}</span>', classes, style, node.get("text", ""))
    if kind == "image":
        return format_html('<img class="flex-image" src="{}" alt="" loading="lazy" data-fallback>', node.get("url", ""))
    if kind == "button":
        return mark_safe(_button_html(node.get("action") or {}, button, node.get("style", "link")))
    if kind == "separator":
        return mark_safe('<hr class="flex-separator">')
    return ""


def flex_html(bubble: dict, button) -> str:
    """A flex bubble as HTML: hero, header, body and footer blocks (carousels of bubbles side by side)."""
    if bubble.get("type") == "carousel":
        return format_html('<div class="flex-carousel">{}</div>', format_html_join(
            "", "{}", ((mark_safe(flex_html(b, button)),) for b in bubble.get("contents") or [])))
    parts = []
    for section in ("header", "hero", "body", "footer"):
        node = bubble.get(section)
        if node:
            parts.append(format_html('<div class="flex-{}">{}</div>', section, mark_safe(_component(node, button))))
    return format_html('<div class="flex-bubble">{}</div>', mark_safe("".join(parts)))
