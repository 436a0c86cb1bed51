"""WhatsApp Cloud API webhooks: one stored item per message, status and template update, each → InboundEvent.

Envelope: `{object: "whatsapp_business_account", entry: [{id, changes: [{field, value}]}]}`. A `messages` change
carries `metadata`, `contacts` and `messages[]` or `statuses[]`; other fields (template status, quality, groups,
user preferences…) carry their own value. Item ids: the wamid for a message, `<wamid>:<status>` for a status (one
message goes sent → delivered → read), and a hash of the JSON for everything else, so Meta's redeliveries dedup.
"""

import datetime
import hashlib
import json
from decimal import Decimal, InvalidOperation

from tidings.channels.events import InboundEvent, WebhookItem

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
TEMPLATE_FIELDS = ("message_template_status_update",)


def _hash(data) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _contact_for(contacts: list, wa_id) -> dict | None:
    for contact in contacts:
        if isinstance(contact, dict) and str(contact.get("wa_id", "")) == str(wa_id):
            return contact
    return contacts[0] if len(contacts) == 1 and isinstance(contacts[0], dict) else None


def _change_items(field: str, value: dict, entry_time=None) -> list[WebhookItem]:
    items = []
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    messages, statuses = value.get("messages"), value.get("statuses")
    if field == "messages" and (isinstance(messages, list) or isinstance(statuses, list)):
        contacts = value.get("contacts") if isinstance(value.get("contacts"), list) else []
        for message in messages or []:
            if not isinstance(message, dict):
                raise ValueError("Every WhatsApp message is an object.")
            payload = {"field": field, "metadata": metadata, "message": message}
            contact = _contact_for(contacts, message.get("from", ""))
            if contact is not None:
                payload["contact"] = contact
            event_id = message.get("id") if isinstance(message.get("id"), str) and message.get("id") else None
            items.append(WebhookItem(provider_event_id=event_id or _hash(payload),
                                     event_type=f"message.{message.get('type', 'unknown')}"[:60], payload=payload))
        for status in statuses or []:
            if not isinstance(status, dict):
                raise ValueError("Every WhatsApp status is an object.")
            payload = {"field": field, "metadata": metadata, "status": status}
            wamid, state = status.get("id"), status.get("status")
            event_id = f"{wamid}:{state}" if isinstance(wamid, str) and wamid and state else _hash(payload)
            items.append(WebhookItem(provider_event_id=event_id[:200], event_type=f"status.{state}"[:60],
                                     payload=payload))
        return items
    payload = {"field": field, "value": value}
    kind = "template_status" if field in TEMPLATE_FIELDS else f"unknown.{field}"
    # The entry's time is part of the id: the same change can happen twice (a template approved again after an edit),
    # while a redelivery repeats the time too.
    return [WebhookItem(provider_event_id=_hash({**payload, "time": entry_time}), event_type=kind[:60],
                        payload=payload)]


def split_webhook(body: bytes) -> list[WebhookItem]:
    """Malformed bodies (not JSON, no entry list, changes that are not objects) → ValueError (answered 400)."""
    data = json.loads(body)  # JSONDecodeError and UnicodeDecodeError are ValueErrors
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise ValueError("A WhatsApp webhook body is an object with an `entry` array.")
    items = []
    for entry in data["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            raise ValueError("Every WhatsApp webhook entry is an object with a `changes` array.")
        for change in entry.get("changes", []):
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise ValueError("Every WhatsApp webhook change is an object with a `value` object.")
            items.extend(_change_items(str(change.get("field", "")), change["value"], entry.get("time")))
    return items


# --- parsing --------------------------------------------------------------------------------------------------


def _occurred_at(timestamp) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.datetime.now(tz=datetime.UTC)


def decimal_string(value) -> str:
    """A price as a decimal string with at least two places ("30" → "30.00", 12.5 → "12.50", "0.125" kept)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "0.00"
    if not number.is_finite():
        return "0.00"
    exponent = number.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return str(number.quantize(Decimal(1).scaleb(-places)))


def _order(order: dict) -> dict:
    items, total = [], Decimal(0)
    for item in order.get("product_items") or []:
        if not isinstance(item, dict):
            continue
        try:
            quantity = int(item.get("quantity") or 0)
        except (TypeError, ValueError):
            quantity = 0
        price = decimal_string(item.get("item_price", 0))
        total += Decimal(price) * quantity
        items.append({"product_retailer_id": str(item.get("product_retailer_id", "")), "quantity": quantity,
                      "item_price": price, "currency": str(item.get("currency", ""))})
    return {"type": "order", "catalog_id": str(order.get("catalog_id", "")), "text": order.get("text", "") or "",
            "items": items, "total": decimal_string(total)}


def _content(message: dict) -> dict:
    kind = message.get("type") or "unknown"
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        return {"type": "text", "text": body.get("body", "")}
    if kind in MEDIA_KINDS:
        content = {"type": kind, "media_id": str(body.get("id", "")), "mime_type": body.get("mime_type", "")}
        for key in ("caption", "filename", "sha256"):
            if body.get(key):
                content[key] = body[key]
        return content
    if kind == "location":
        return {"type": "location", **{k: body[k] for k in ("latitude", "longitude", "name", "address", "url")
                                       if k in body}}
    if kind == "contacts":
        return {"type": "contacts", "contacts": message.get("contacts") or []}
    if kind == "reaction":
        return {"type": "reaction", "message_id": body.get("message_id", ""), "emoji": body.get("emoji", "")}
    if kind == "button":  # a template's quick-reply button
        return {"type": "button_reply", "payload": body.get("payload", ""), "text": body.get("text", "")}
    if kind == "interactive":
        reply_kind = body.get("type", "")
        reply = body.get(reply_kind) if isinstance(body.get(reply_kind), dict) else {}
        if reply_kind in ("button_reply", "list_reply"):
            content = {"type": reply_kind, "id": reply.get("id", ""), "title": reply.get("title", "")}
            if reply.get("description"):
                content["description"] = reply["description"]
            return content
        return {"type": f"interactive.{reply_kind}" if reply_kind else "interactive", "data": reply}
    if kind == "order":
        return _order(body)
    if kind == "system":
        return {"type": "system", "text": body.get("body", ""), "system_type": body.get("type", ""),
                "wa_id": body.get("wa_id", "")}
    content = {"type": str(kind)}  # unsupported, and types newer than this parser
    if message.get("errors"):
        content["errors"] = message["errors"]
    return content


def _message_event(payload: dict) -> InboundEvent:
    message = payload["message"]
    contact = payload.get("contact") or {}
    event = InboundEvent(
        kind="message", provider_event_id=str(message.get("id", "")),
        occurred_at=_occurred_at(message.get("timestamp")),
        user_id=str(message.get("from") or contact.get("wa_id") or "") or None,
        display_name=((contact.get("profile") or {}).get("name") or ""), content=_content(message),
        provider_message_id=str(message.get("id", "")) or None, raw_type=str(message.get("type", "")),
        data={"phone_number_id": str((payload.get("metadata") or {}).get("phone_number_id", ""))},
    )
    if message.get("context"):
        event.data["context"] = message["context"]  # the message replied to (a button tap names our wamid)
    if message.get("referral"):
        event.data["referral"] = message["referral"]  # click-to-WhatsApp ad the person came from
    return event


def _error(status: dict) -> dict | None:
    errors = status.get("errors") or []
    if not errors or not isinstance(errors[0], dict):
        return None
    first = errors[0]
    return {key: first[key] for key in ("code", "title", "message", "error_data") if key in first}


def _status_event(payload: dict) -> InboundEvent:
    status = payload["status"]
    data = {key: status[key] for key in ("conversation", "pricing", "biz_opaque_callback_data") if key in status}
    return InboundEvent(
        kind="status", provider_event_id=f"{status.get('id', '')}:{status.get('status', '')}",
        occurred_at=_occurred_at(status.get("timestamp")), user_id=str(status.get("recipient_id", "")) or None,
        provider_message_id=str(status.get("id", "")) or None, status=str(status.get("status", "")),
        error=_error(status), data=data, raw_type="status",
    )


def parse_event(account, payload: dict) -> InboundEvent:
    if isinstance(payload.get("message"), dict):
        return _message_event(payload)
    if isinstance(payload.get("status"), dict):
        return _status_event(payload)
    field = str(payload.get("field", ""))
    value = payload.get("value") if isinstance(payload.get("value"), dict) else {}
    kind = "template_status" if field in TEMPLATE_FIELDS else "unknown"
    return InboundEvent(kind=kind, provider_event_id=_hash(payload), occurred_at=datetime.datetime.now(tz=datetime.UTC),
                        data=value, raw_type=field)
