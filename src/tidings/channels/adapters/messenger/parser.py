"""Messenger / Instagram webhooks → stored items → InboundEvent.

Body: `{"object": "page" | "instagram", "entry": [{"id", "time", "messaging": [item, …]}]}` (samples in
reference/meta/samples/messenger_docs_fragments/). One stored item per `messaging[]` item, except deliveries: a
`delivery` lists several message ids, and each becomes its own item (one status event per message). Also accepted:
an item written as `{"field", "value"}` (how Meta's webhook reference and test tool show some events) and
`entry[].changes[]` of a messaging field; `standby` items (a conversation another app owns) are stored and ignored.

Ids (dedup of Meta's redeliveries): a message's `mid`; an echo `<mid>:echo`; a postback's `mid`; a delivery
`<mid>:delivery`; a read `<mid>:read` (Instagram's messaging_seen names the message) or `read:<user>:<watermark>`
(Messenger's message_reads only carries a watermark); anything else a hash of the item.

Reads with a watermark mean "every message sent before this moment was read"; the event is a `read` status with
no message id and `data["watermark"]` (epoch ms) for the layer that knows our messages to apply.
"""

import datetime
import hashlib
import json

from tidings.channels.events import InboundEvent, WebhookItem

ID_MAX = 200
# Fields whose change value is a messaging item (Instagram's names differ a little from Messenger's).
MESSAGING_FIELDS = frozenset({
    "messages", "messaging_postbacks", "messaging_referrals", "messaging_referral", "message_deliveries",
    "message_reads", "messaging_seen", "message_echoes", "message_reactions", "messaging_optins", "message_edits",
})
MEDIA_TYPES = ("image", "video", "audio", "file")
_KEYS = ("message", "postback", "referral", "delivery", "read", "reaction", "optin", "account_linking",
         "message_edit", "pass_thread_control", "take_thread_control", "request_thread_control")


def _hash_id(value) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _bounded(event_id: str) -> str:
    return event_id if len(event_id) <= ID_MAX else _hash_id(event_id)


def _sender(item: dict) -> str:
    sender = item.get("sender") or {}
    return str(sender.get("id") or sender.get("user_ref") or "")


def item_kind(item: dict) -> str:
    """What a messaging item is: message | message_echo | postback | referral | delivery | read | … | unknown."""
    if "message" in item:
        return "message_echo" if (item.get("message") or {}).get("is_echo") else "message"
    for key in _KEYS[1:]:
        if key in item:
            return key
    return "unknown"


def _unwrapped(item) -> dict:
    if isinstance(item, dict) and "value" in item and "field" in item and isinstance(item["value"], dict):
        return item["value"]
    if not isinstance(item, dict):
        raise ValueError("Every messaging item is an object.")
    return item


def _items_of(item: dict) -> list[WebhookItem]:
    kind = item_kind(item)
    if kind == "delivery":
        delivery = item.get("delivery") or {}
        mids = [m for m in delivery.get("mids") or [] if isinstance(m, str) and m]
        if not mids:
            return [WebhookItem(_bounded(f"delivery:{_sender(item)}:{delivery.get('watermark')}"), kind, item)]
        return [WebhookItem(_bounded(f"{mid}:delivery"), kind, {**item, "delivery": {**delivery, "mids": [mid]}})
                for mid in mids]
    if kind in ("message", "message_echo", "postback"):
        mid = (item.get("message") or item.get("postback") or {}).get("mid")
        if isinstance(mid, str) and mid:
            return [WebhookItem(_bounded(f"{mid}:echo" if kind == "message_echo" else mid), kind, item)]
    if kind == "read":
        read = item.get("read") or {}
        if read.get("mid"):
            return [WebhookItem(_bounded(f"{read['mid']}:read"), kind, item)]
        if read.get("watermark") is not None:
            return [WebhookItem(_bounded(f"read:{_sender(item)}:{read['watermark']}"), kind, item)]
    return [WebhookItem(_hash_id(item), kind, item)]


def split_webhook(body: bytes, *, expected_object: str) -> list[WebhookItem]:
    """Raise ValueError for a malformed body or another product's webhook (a Page's sent to an Instagram URL)."""
    data = json.loads(body)  # JSONDecodeError and UnicodeDecodeError are ValueErrors
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise ValueError("A Meta webhook body is an object with an `entry` array.")
    if data.get("object") != expected_object:
        raise ValueError(f"This URL takes webhooks with object {expected_object!r}, not {data.get('object')!r}.")
    items: list[WebhookItem] = []
    for entry in data["entry"]:
        if not isinstance(entry, dict):
            raise ValueError("Every webhook entry is an object.")
        for key in ("messaging", "standby", "changes"):
            if not isinstance(entry.get(key, []), list):
                raise ValueError(f"`entry[].{key}` is an array.")
        for item in entry.get("messaging") or []:
            items += _items_of(_unwrapped(item))
        for item in entry.get("standby") or []:
            wrapped = {"standby": _unwrapped(item)}
            items.append(WebhookItem(_hash_id(wrapped), "standby", wrapped))
        for change in entry.get("changes") or []:
            if not isinstance(change, dict):
                raise ValueError("Every change is an object.")
            if change.get("field") in MESSAGING_FIELDS and isinstance(change.get("value"), dict):
                items += _items_of(change["value"])
            else:
                items.append(WebhookItem(_hash_id(change), f"change:{change.get('field', '')}"[:60], change))
    return items


# --- parsing -----------------------------------------------------------------------------------------------------


def _epoch(value) -> datetime.datetime | None:
    """Meta's times are epoch milliseconds (some documentation examples show seconds, as strings)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number < 1e11:  # seconds: 1e11 ms is 1973, 1e11 s is the year 5138
        number *= 1000
    try:
        return datetime.datetime.fromtimestamp(number / 1000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _attachment(attachment: dict) -> dict:
    kind = str(attachment.get("type") or "")
    payload = attachment.get("payload") or {}
    url = payload.get("url")
    if kind in MEDIA_TYPES:
        content = {"type": kind}
        if payload.get("sticker_id"):
            content = {"type": "sticker", "sticker_id": str(payload["sticker_id"])}
    elif kind in ("reel", "ig_reel"):
        content = {"type": "video", "shared": kind}
        if payload.get("title"):
            content["title"] = payload["title"]
    elif kind == "location":
        coordinates = payload.get("coordinates") or {}
        return {"type": "location", "title": attachment.get("title", ""), "latitude": coordinates.get("lat"),
                "longitude": coordinates.get("long")}
    elif kind == "fallback":
        content = {"type": "link", "title": attachment.get("title", "")}
        url = url or attachment.get("url")
    elif kind in ("share", "ig_post", "story_mention", "ig_story"):
        content = {"type": "share", "share_type": kind}
    else:
        content = {"type": "attachment", "attachment_type": kind}
    if url:
        content["url"] = url
    return content


def message_content(message: dict) -> dict:
    """A message a person sent → our content dict (media stays at Meta's URL)."""
    text = message.get("text")
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        return {"type": "quick_reply", "text": text or "", "payload": str(quick_reply.get("payload", ""))}
    attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    if attachments:
        content = _attachment(attachments[0])
        if len(attachments) > 1:
            content["attachments"] = [_attachment(a) for a in attachments]
        if text:
            content["text"] = text
        return content
    if isinstance(text, str):
        return {"type": "text", "text": text}
    if message.get("is_unsupported"):
        return {"type": "unsupported"}
    return {"type": "unknown"}


def _referral_data(referral: dict, type_key: str) -> dict:
    data = {"ref": str(referral.get("ref") or ""), "source": str(referral.get("source") or "")}
    if referral.get("type"):
        data[type_key] = referral["type"]
    for key in ("ad_id", "ads_context_data", "referer_uri", "product"):
        if referral.get(key):
            data[key] = referral[key]
    return data


def parse_event(payload: dict) -> InboundEvent:
    if "standby" in payload and "sender" not in payload:
        return InboundEvent(kind="unknown", provider_event_id="", raw_type="standby",
                            occurred_at=datetime.datetime.now(tz=datetime.UTC))
    kind_raw = item_kind(payload)
    occurred = _epoch(payload.get("timestamp"))
    event = InboundEvent(kind="unknown", provider_event_id="", raw_type=kind_raw, user_id=_sender(payload) or None,
                         occurred_at=occurred or datetime.datetime.now(tz=datetime.UTC))
    if (payload.get("sender") or {}).get("user_ref"):
        event.data["user_ref"] = True  # a chat-plugin visitor: not a PSID until they log in
    if kind_raw == "message":
        message = payload["message"] or {}
        event.kind = "message"
        event.content = message_content(message)
        event.provider_message_id = message.get("mid") or None
        if isinstance(message.get("reply_to"), dict) and message["reply_to"].get("mid"):
            event.data["reply_to"] = message["reply_to"]["mid"]
        if isinstance(message.get("referral"), dict):
            event.data.update(_referral_data(message["referral"], "referral_type"))
    elif kind_raw == "postback":
        postback = payload.get("postback") or {}
        event.kind = "postback"
        event.provider_message_id = postback.get("mid") or None
        event.data.update({"data": str(postback.get("payload") or ""), "title": str(postback.get("title") or "")})
        if isinstance(postback.get("referral"), dict):  # a new thread opened by an m.me / ig.me link with ?ref=
            event.data.update(_referral_data(postback["referral"], "referral_type"))
    elif kind_raw == "referral":
        event.kind = "referral"
        event.data.update(_referral_data(payload.get("referral") or {}, "type"))
    elif kind_raw == "delivery":
        delivery = payload.get("delivery") or {}
        event.kind, event.status = "status", "delivered"
        mids = delivery.get("mids") or []
        event.provider_message_id = mids[0] if mids else None
        event.data["watermark"] = delivery.get("watermark")
        event.occurred_at = occurred or _epoch(delivery.get("watermark")) or event.occurred_at
    elif kind_raw == "read":
        read = payload.get("read") or {}
        event.kind, event.status = "status", "read"
        event.provider_message_id = read.get("mid") or None
        if read.get("watermark") is not None:
            event.data["watermark"] = read["watermark"]
    # echoes of our own sends, reactions, opt-ins, edits, handover: stored and ignored.
    return event
