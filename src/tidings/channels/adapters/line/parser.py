"""LINE webhooks (webhook.yml): signature check, one stored item per event, and each event → InboundEvent."""

import datetime
import hashlib
import json

from django.http import HttpRequest

from tidings.channels.events import InboundEvent, WebhookItem

from .signature import line_signature_valid

SIGNATURE_HEADER = "x-line-signature"


def verify_signature(account, request: HttpRequest, body: bytes) -> bool:
    return line_signature_valid(account.credentials.get("channel_secret", ""), body,
                                request.headers.get(SIGNATURE_HEADER))


def split_webhook(body: bytes) -> list[WebhookItem]:
    """`{destination, events}` → one item per event (id = webhookEventId). Empty events = LINE's connectivity check."""
    data = json.loads(body)  # JSONDecodeError and UnicodeDecodeError are ValueErrors
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise ValueError("A LINE webhook body is an object with an `events` array.")
    items = []
    for event in data["events"]:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError("Every LINE webhook event is an object with a `type`.")
        event_id = event.get("webhookEventId")
        if not isinstance(event_id, str) or not event_id:
            # Not sent by today's LINE, but never drop an event: a content hash still dedups exact repeats.
            event_id = "sha256:" + hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
        items.append(WebhookItem(provider_event_id=event_id, event_type=event["type"][:60], payload=event))
    return items


def _occurred_at(event: dict) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(int(event["timestamp"]) / 1000, tz=datetime.UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return datetime.datetime.now(tz=datetime.UTC)


def _message_content(message: dict) -> dict:
    """A LINE message a user sent → our content dict (media stays at LINE; its message id fetches it)."""
    kind = message.get("type")
    if kind == "text":
        content = {"type": "text", "text": message.get("text", "")}
        if message.get("emojis"):
            content["emojis"] = message["emojis"]
        if message.get("mention"):
            content["mention"] = message["mention"]
        return content
    if kind in ("image", "video", "audio"):
        content = {"type": kind}
        provider = message.get("contentProvider") or {}
        if provider.get("type") == "external":
            if provider.get("originalContentUrl"):
                content["url"] = provider["originalContentUrl"]
            if provider.get("previewImageUrl"):
                content["preview_url"] = provider["previewImageUrl"]
        if message.get("duration") is not None:
            content["duration_ms"] = message["duration"]
        if message.get("imageSet"):
            content["image_set"] = message["imageSet"]
        return content
    if kind == "file":
        return {"type": "file", "file_name": message.get("fileName", ""), "file_size": message.get("fileSize")}
    if kind == "location":
        return {"type": "location", "title": message.get("title", ""), "address": message.get("address", ""),
                "latitude": message.get("latitude"), "longitude": message.get("longitude")}
    if kind == "sticker":
        content = {"type": "sticker", "package_id": str(message.get("packageId", "")),
                   "sticker_id": str(message.get("stickerId", "")),
                   "resource_type": message.get("stickerResourceType", "")}
        if message.get("keywords"):
            content["keywords"] = message["keywords"]
        if message.get("text"):
            content["text"] = message["text"]
        return content
    return {"type": str(kind or "unknown")}


def parse_event(account, payload: dict) -> InboundEvent:
    kind_raw = payload.get("type", "")
    source = payload.get("source") or {}
    standby = payload.get("mode") == "standby"
    common = {"source": source, "mode": payload.get("mode", "active"),
              "is_redelivery": bool((payload.get("deliveryContext") or {}).get("isRedelivery"))}
    event = InboundEvent(
        kind="unknown",
        provider_event_id=payload.get("webhookEventId", ""),
        occurred_at=_occurred_at(payload),
        user_id=source.get("userId") or None,
        # Standby: another channel (e.g. a chat module) owns the conversation; we must not reply.
        reply_token=None if standby else payload.get("replyToken"),
        data=common,
        raw_type=kind_raw,
    )
    if kind_raw == "message":
        message = payload.get("message") or {}
        event.kind = "message"
        event.content = _message_content(message)
        event.provider_message_id = str(message.get("id", "")) or None
        if message.get("quoteToken"):
            event.data["quote_token"] = message["quoteToken"]
        if message.get("quotedMessageId"):
            event.data["quoted_message_id"] = message["quotedMessageId"]
    elif kind_raw == "follow":
        event.kind = "follow"
        event.data["is_unblocked"] = bool((payload.get("follow") or {}).get("isUnblocked"))
    elif kind_raw == "unfollow":
        event.kind = "unfollow"
    elif kind_raw == "postback":
        postback = payload.get("postback") or {}
        event.kind = "postback"
        event.data["data"] = postback.get("data", "")
        if postback.get("params"):
            event.data["params"] = postback["params"]
    elif kind_raw == "accountLink":
        link = payload.get("link") or {}
        event.kind = "account_link"
        event.data["result"] = link.get("result", "")
        event.data["nonce"] = link.get("nonce", "")
    elif kind_raw == "delivery":
        # PNP delivered: data is our X-Line-Delivery-Tag, or the hashed phone when we sent none.
        event.kind = "delivery"
        event.data["delivery_data"] = (payload.get("delivery") or {}).get("data", "")
    # messageEdited, unsend, join, leave, beacon, … are stored and ignored.
    return event
