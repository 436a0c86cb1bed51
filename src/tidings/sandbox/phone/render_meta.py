"""What a persona's phone shows on WhatsApp, Messenger and Instagram: the business's messages (as sent to the fake
Graph API) and the persona's own (as they appear in the webhook) turned into chat items for the templates.

Every tappable button carries its index in `personas_meta.meta_actions(delivery)`, which is what a tap posts back,
so the phone and the API (`button` = number) agree on which button is which.
"""


from django.utils.translation import gettext as _

from tidings.message_templates.render import template_bubble

from ..models import SandboxTemplate
from ..personas_meta import DEMO_CATALOG, USER_KIND, messenger_actions, whatsapp_actions

PRODUCT_NAMES = {product["product_retailer_id"]: product["name"] for product in DEMO_CATALOG}

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")


def _base(delivery) -> dict:
    return {"id": delivery.pk, "at": delivery.created_at, "delivered": delivery.delivered, "kind": delivery.kind,
            "side": "me" if delivery.kind == USER_KIND else "them", "quick_replies": [], "buttons": []}


def _buttons(actions: list[dict]) -> list[dict]:
    return [{**action, "index": index} for index, action in enumerate(actions)]


# --- WhatsApp ----------------------------------------------------------------------------------------------------


def _parameter_value(parameter: dict) -> str:
    kind = parameter.get("type")
    if kind == "text":
        return parameter.get("text", "")
    if kind in ("currency", "date_time"):
        return (parameter.get(kind) or {}).get("fallback_value", "")
    if kind in ("image", "video", "document"):
        return (parameter.get(kind) or {}).get("link", "")
    return str(parameter.get(kind, "")) if kind else ""


def template_view(send: dict, template: SandboxTemplate | None) -> dict | None:
    """The templates app's `tpl` for a template send: the stored template's components with the send's body,
    header and URL parameters (None when the fake holds no such template)."""
    if template is None:
        return None
    body, header, urls = [], [], []
    for component in send.get("components") or []:
        kind = str(component.get("type", "")).lower()
        values = [_parameter_value(p) for p in component.get("parameters") or []]
        if kind == "body":
            body = values
        elif kind == "header":
            header = values
        elif kind == "button" and str(component.get("sub_type", "")).lower() == "url":
            urls.extend(values[:1])
    return template_bubble(template.components, body, header, urls)


def _templates_for(deliveries) -> dict:
    """(account id, name, language) → SandboxTemplate for the template sends in `deliveries`, in one query."""
    wanted = set()
    for delivery in deliveries:
        template = (delivery.payload or {}).get("template")
        if delivery.kind != USER_KIND and (delivery.payload or {}).get("type") == "template" and template:
            language = template.get("language") or {}
            language = language.get("code", "") if isinstance(language, dict) else str(language)
            wanted.add((delivery.account_id, template.get("name", ""), language))
    if not wanted:
        return {}
    rows = SandboxTemplate.objects.filter(account_id__in={w[0] for w in wanted}, name__in={w[1] for w in wanted})
    return {(row.account_id, row.name, row.language): row for row in rows}


def _wa_user(item: dict, message: dict) -> dict:
    kind = message.get("type")
    if kind == "text":
        item.update(type="text", text=(message.get("text") or {}).get("body", ""))
    elif kind == "button":
        item.update(type="text", text=(message.get("button") or {}).get("text", ""), reply=True)
    elif kind == "interactive":
        reply = message.get("interactive") or {}
        chosen = reply.get(reply.get("type", "")) or {}
        item.update(type="text", text=chosen.get("title", ""), reply=True)
    elif kind == "order":
        order = message.get("order") or {}
        lines = [{**line, "name": PRODUCT_NAMES.get(line.get("product_retailer_id"), "")}
                 for line in order.get("product_items") or []]
        total = sum(float(line.get("item_price") or 0) * int(line.get("quantity") or 0) for line in lines)
        item.update(type="order", lines=lines, count=sum(int(line.get("quantity") or 0) for line in lines),
                    total=f"{total:,.2f}", currency=(lines[0].get("currency", "") if lines else ""),
                    text=order.get("text", ""))
    else:
        item.update(type="text", text=_("(%(type)s message)") % {"type": kind or "?"})
    return item


def whatsapp_item(delivery, templates: dict | None = None) -> dict:
    """One WhatsApp chat item: {"side", "type": text|media|buttons|list|cta|template|order|unknown, …}."""
    item = _base(delivery)
    payload = delivery.payload or {}
    if delivery.kind == USER_KIND:
        return _wa_user(item, payload)
    kind = payload.get("type")
    if kind == "text":
        item.update(type="text", text=(payload.get("text") or {}).get("body", ""))
    elif kind in MEDIA_KINDS:
        media = payload.get(kind) or {}
        item.update(type="media", media=kind, src=media.get("link", ""), caption=media.get("caption", ""),
                    filename=media.get("filename", ""))
    elif kind == "interactive":
        interactive = payload.get("interactive") or {}
        header = interactive.get("header") or {}
        item.update(header=header.get("text", ""), header_image=(header.get("image") or {}).get("link", ""),
                    text=(interactive.get("body") or {}).get("text", ""),
                    footer=(interactive.get("footer") or {}).get("text", ""),
                    buttons=_buttons(whatsapp_actions(payload)))
        subtype = interactive.get("type")
        if subtype == "button":
            item["type"] = "buttons"
        elif subtype == "list":
            item.update(type="list", menu=(interactive.get("action") or {}).get("button", "") or _("Options"))
            sections, index = [], 0
            for section in (interactive.get("action") or {}).get("sections") or []:
                rows = []
                for row in section.get("rows") or []:
                    rows.append({"label": row.get("title", ""), "description": row.get("description", ""),
                                 "index": index})
                    index += 1
                sections.append({"title": section.get("title", ""), "rows": rows})
            item["sections"] = sections
        elif subtype == "cta_url":
            item["type"] = "cta"
        else:
            item.update(type="unknown", text=item["text"] or subtype or "")
    elif kind == "template":
        send = payload.get("template") or {}
        language = send.get("language") or {}
        language = language.get("code", "") if isinstance(language, dict) else str(language)
        template = (templates or {}).get((delivery.account_id, send.get("name", ""), language))
        if template is None and templates is None:
            template = SandboxTemplate.objects.filter(account_id=delivery.account_id, name=send.get("name", ""),
                                                      language=language).first()
        item.update(type="template", tpl=template_view(send, template), name=send.get("name", ""))
    else:
        item.update(type="unknown", text=kind or "")
    return item


# --- Messenger and Instagram -------------------------------------------------------------------------------------


def _mg_user(item: dict, messaging: dict) -> dict:
    if messaging.get("postback"):
        item.update(type="text", text=messaging["postback"].get("title", ""), reply=True)
    else:
        message = messaging.get("message") or {}
        item.update(type="text", text=message.get("text", ""), reply=bool(message.get("quick_reply")))
    return item


def messenger_item(delivery) -> dict:
    """One Messenger/Instagram chat item: text, media, a button template, a generic template (cards), quick
    replies."""
    item = _base(delivery)
    payload = delivery.payload or {}
    if delivery.kind == USER_KIND:
        return _mg_user(item, payload)
    message = payload.get("message") or {}
    buttons = _buttons(messenger_actions(payload))
    attachment = message.get("attachment") or {}
    item["tag"] = payload.get("tag", "")
    if message.get("text") is not None and not attachment:
        item.update(type="text", text=message.get("text", ""))
    elif attachment.get("type") in ("image", "video", "audio", "file"):
        item.update(type="media", media=attachment["type"], src=(attachment.get("payload") or {}).get("url", ""))
    elif attachment.get("type") == "template":
        template = attachment.get("payload") or {}
        position = 0
        if template.get("template_type") == "button":
            count = len(template.get("buttons") or [])
            item.update(type="buttons", text=template.get("text", ""), buttons=buttons[:count])
            position = count
        elif template.get("template_type") == "generic":
            cards = []
            for element in template.get("elements") or []:
                count = len(element.get("buttons") or [])
                cards.append({"title": element.get("title", ""), "subtitle": element.get("subtitle", ""),
                              "image": element.get("image_url", ""), "buttons": buttons[position:position + count]})
                position += count
            item.update(type="generic", cards=cards)
        else:
            item.update(type="unknown", text=template.get("template_type", ""))
        buttons = buttons[position:]
    else:
        item.update(type="unknown", text="")
    item["quick_replies"] = [b for b in buttons if b["kind"] == "quick_reply"]
    return item


def meta_timeline(deliveries, channel: str) -> list[dict]:
    deliveries = list(deliveries)
    if channel == "whatsapp":
        templates = _templates_for(deliveries)
        items = [whatsapp_item(d, templates) for d in deliveries]
    else:
        items = [messenger_item(d) for d in deliveries]
    # Quick replies show under the latest message only, until the person answers.
    for item in items[:-1]:
        item["quick_replies"] = []
    return items
