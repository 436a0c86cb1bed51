"""Webhook bodies the fake WhatsApp Cloud API sends, shaped like Meta's own samples
(reference/meta/samples/whatsapp_webhooks*/): `{object, entry: [{id: <WABA id>, changes: [{field, value}]}]}` with
`value.metadata {display_phone_number, phone_number_id}`, `contacts`, and `messages` or `statuses`.

Timestamps are epoch seconds as strings, on the workspace clock; ids are wamids. The `wa_message_*` builders return
one inbound message object (what the persona sent); `wa_webhook_*` wrap them into a full body. Sending is
`common.graph_webhook_send(account, body)` (signed) or `graph_webhook_schedule` (later, as a durable timer).
"""

import base64
import re
import secrets

from tidings.channels.models import ChannelAccount

from ..models import Persona
from .common import epoch


def wamid() -> str:
    """A WhatsApp message id: "wamid." and base64, like HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTEy… (50 characters)."""
    return "wamid." + base64.b64encode(b"\x1c\x18\x0b" + secrets.token_bytes(30)).decode()


def _display_number(account: ChannelAccount) -> str:
    return re.sub(r"\D", "", str((account.settings or {}).get("display_phone_number", "")))


def _metadata(account: ChannelAccount) -> dict:
    return {"display_phone_number": _display_number(account), "phone_number_id": account.external_id}


def _waba_id(account: ChannelAccount) -> str:
    return str((account.settings or {}).get("waba_id") or account.external_id)


def _envelope(account: ChannelAccount, field: str, value: dict) -> dict:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": _waba_id(account), "changes": [{"value": value, "field": field}]}]}


def _inbound(account: ChannelAccount, persona: Persona, kind: str, body: dict, context_id: str | None = None) -> dict:
    message = {"from": persona.whatsapp_id, "id": wamid(), "timestamp": str(epoch(account)), "type": kind}
    if context_id:
        # A tap on a business message names it: context.from is our number, context.id its wamid.
        message = {"context": {"from": _display_number(account), "id": context_id}, **message}
    message[kind] = body
    return message


def wa_message_text(account: ChannelAccount, persona: Persona, text: str) -> dict:
    return _inbound(account, persona, "text", {"body": text})


def wa_message_button(account: ChannelAccount, persona: Persona, context_id: str, payload: str, text: str) -> dict:
    """A tap on a template's quick-reply button (inbound type "button")."""
    return _inbound(account, persona, "button", {"payload": payload, "text": text}, context_id)


def wa_message_interactive_reply(account: ChannelAccount, persona: Persona, context_id: str, kind: str,
                                 reply_id: str, title: str) -> dict:
    """A tap on an interactive reply button (kind "button_reply") or a list row ("list_reply")."""
    if kind not in ("button_reply", "list_reply"):
        raise ValueError(f"Unknown interactive reply kind {kind!r}")
    return _inbound(account, persona, "interactive", {"type": kind, kind: {"id": reply_id, "title": title}},
                    context_id)


def wa_message_order(account: ChannelAccount, persona: Persona, catalog_id: str, items: list[dict],
                     text: str = "") -> dict:
    """A cart sent from the business's catalog: items `{product_retailer_id, quantity, item_price, currency}`."""
    product_items = [{"product_retailer_id": str(item["product_retailer_id"]), "quantity": int(item["quantity"]),
                      "item_price": item["item_price"], "currency": item["currency"]} for item in items]
    return _inbound(account, persona, "order", {"catalog_id": str(catalog_id), "text": text,
                                                "product_items": product_items})


def wa_webhook_messages(account: ChannelAccount, persona: Persona, message: dict) -> dict:
    """The full webhook body for one inbound message, with the persona's profile name."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": _metadata(account),
        "contacts": [{"profile": {"name": persona.name}, "wa_id": persona.whatsapp_id}],
        "messages": [message],
    }
    return _envelope(account, "messages", value)


def wa_status(account: ChannelAccount, message_id: str, status: str, recipient_id: str, *, delay=None,
              biz_opaque_callback_data: str | None = None, error: dict | None = None,
              category: str | None = None) -> dict:
    """One `statuses[]` item: sent / delivered / read / failed (with `errors`, as Meta reports them)."""
    item = {"id": message_id, "status": status,
            "timestamp": str(epoch(account, delay) if delay is not None else epoch(account)),
            "recipient_id": recipient_id}
    if biz_opaque_callback_data:
        item["biz_opaque_callback_data"] = biz_opaque_callback_data
    if category and status in ("sent", "delivered"):
        item["pricing"] = {"billable": category != "service", "pricing_model": "PMP", "type": "regular",
                           "category": category}
    if error is not None:
        item["errors"] = [{**error, "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/"
                                            "error-codes/"}]
    return item


def wa_webhook_statuses(account: ChannelAccount, statuses: list[dict]) -> dict:
    value = {"messaging_product": "whatsapp", "metadata": _metadata(account), "statuses": list(statuses)}
    return _envelope(account, "messages", value)


def wa_webhook_template_status(account: ChannelAccount, template_id, name: str, language: str, event: str,
                               reason: str | None = None) -> dict:
    """`message_template_status_update`: event APPROVED / REJECTED / PENDING / PAUSED / DISABLED…"""
    value = {"event": event, "message_template_id": int(template_id) if str(template_id).isdigit() else template_id,
             "message_template_name": name, "message_template_language": language,
             "reason": reason if reason is not None else "NONE"}
    body = _envelope(account, "message_template_status_update", value)
    body["entry"][0]["time"] = epoch(account)
    return body
