"""What inbound provider events mean for messages (registered with channels.inbound at start-up).

Runs inside the webhook event's processing transaction, once per stored event.
"""

import datetime

from django.utils import timezone

from tidings.channels.adapters.line.signature import pnp_phone_hash
from tidings.channels.events import InboundEvent
from tidings.channels.inbound import inbound_consumer
from tidings.contacts.services import contact_set_phone, contacts_touch
from tidings.core.errors import ServiceError

from .events import message_event_record
from .models import Direction, Dispatch, DispatchKind, EventKind, Message, MessageStatus, Purpose

REPLY_WINDOW = datetime.timedelta(hours=24)
# How far back a PNP delivery report is matched by hashed phone (LINE reports within 24 h; late ones exist).
PNP_MATCH_WINDOW = datetime.timedelta(days=7)

# Provider statuses (Twilio MessageStatus; WhatsApp, Messenger, Instagram) → our event kind. Twilio's `sending`,
# `accepted`, `scheduled` say nothing new.
STATUS_EVENTS = {
    "queued": EventKind.QUEUED,
    "sent": EventKind.SENT,
    "delivered": EventKind.DELIVERED,
    "undelivered": EventKind.FAILED,
    "failed": EventKind.FAILED,
    "read": EventKind.READ,
}


def _inbound_message(*, account, event: InboundEvent, identity, content: dict) -> Message:
    message = Message.objects.create(
        workspace_id=account.workspace_id, contact_id=identity.contact_id, identity=identity, account=account,
        channel=account.channel, direction=Direction.INBOUND, purpose=Purpose.CHAT, source="webhook",
        content=content, status=MessageStatus.RECEIVED, provider_message_id=event.provider_message_id or "",
        created_at=event.occurred_at,
    )
    message_event_record(message=message, kind=EventKind.RECEIVED, at=event.occurred_at)
    contacts_touch(contact_ids=[identity.contact_id], kind="customer", at=event.occurred_at)
    return message


def _mark_replied(*, account, identity, reply: Message, at) -> None:
    """A customer's message counts as a reply to every outbound message they got in the 24 h before it."""
    outbound = Message.objects.filter(
        workspace_id=account.workspace_id, contact_id=identity.contact_id, direction=Direction.OUTBOUND,
        status__in=[MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ],
        created_at__gte=at - REPLY_WINDOW, created_at__lte=at,
    ).exclude(events__kind=EventKind.REPLIED)
    for message in outbound:
        message_event_record(message=message, kind=EventKind.REPLIED, at=at, data={"reply_id": reply.pk})


def _pnp_messages(account, delivery_data: str) -> list[Message]:
    """The PNP messages a delivery report is about: by our X-Line-Delivery-Tag, else by the hashed phone."""
    if not delivery_data:
        return []
    dispatches = Dispatch.objects.filter(account=account, kind=DispatchKind.PNP)
    dispatch = dispatches.filter(options__delivery_tag=delivery_data).order_by("-id").first()
    if dispatch is None and len(delivery_data) == 64:
        dispatch = dispatches.filter(options__phone_hash=delivery_data).order_by("-id").first()
    if dispatch is None and len(delivery_data) == 64:
        # Sent without a tag, LINE echoes the hash of the phone: compare recent untagged sends (a hash cannot
        # be inverted, and the pipeline stores the phone, not its hash).
        recent = dispatches.filter(created_at__gte=timezone.now() - PNP_MATCH_WINDOW).order_by("-id")
        for candidate in recent.iterator(chunk_size=500):
            options = candidate.options or {}
            if not options.get("delivery_tag") and options.get("phone") and (
                pnp_phone_hash(options["phone"]) == delivery_data
            ):
                dispatch = candidate
                break
    if dispatch is None:
        return []
    return list(dispatch.messages.select_related("dispatch").order_by("position"))


@inbound_consumer
def messages_from_inbound(*, account, event: InboundEvent, identity, webhook_event) -> None:
    if event.kind == "message" and identity is not None:
        message = _inbound_message(account=account, event=event, identity=identity, content=event.content or {})
        _mark_replied(account=account, identity=identity, reply=message, at=event.occurred_at)
    elif event.kind == "postback" and identity is not None:
        content = {"type": "postback", "data": event.data.get("data", "")}
        if event.data.get("params"):
            content["params"] = event.data["params"]
        _inbound_message(account=account, event=event, identity=identity, content=content)
    elif event.kind == "account_link" and identity is not None:
        content = {"type": "account_link", "result": event.data.get("result", ""),
                   "nonce": event.data.get("nonce", "")}
        _inbound_message(account=account, event=event, identity=identity, content=content)
    elif event.kind == "delivery":
        _pnp_delivered(account=account, event=event, identity=identity)
    elif event.kind == "status":
        _provider_status(account=account, event=event)


def _pnp_delivered(*, account, event: InboundEvent, identity) -> None:
    messages = _pnp_messages(account, event.data.get("delivery_data", ""))
    for message in messages:
        message_event_record(message=message, kind=EventKind.DELIVERED, at=event.occurred_at,
                             data={"delivery_data": event.data.get("delivery_data", "")})
    # N2: the report names the LINE user when they are a friend: that user owns the phone we sent to.
    phone = messages and messages[0].dispatch.options.get("phone")
    if identity is not None and phone:
        try:
            contact_set_phone(contact=identity.contact, phone=phone)
        except ServiceError:
            pass  # a number phonenumbers rejects is not worth failing the delivery report over


def _read_up_to(*, account, event: InboundEvent) -> None:
    """Messenger's message_reads name no message, only a watermark: everything we sent that person on this account
    up to that moment has been read."""
    try:
        up_to = datetime.datetime.fromtimestamp(int(event.data["watermark"]) / 1000, tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError):
        return
    unread = Message.objects.filter(
        account=account, identity__external_id=event.user_id, direction=Direction.OUTBOUND,
        status__in=[MessageStatus.SENT, MessageStatus.DELIVERED], created_at__lte=up_to,
    )
    for message in unread:
        message_event_record(message=message, kind=EventKind.READ, at=event.occurred_at,
                             data={"watermark": event.data["watermark"]})


def _provider_status(*, account, event: InboundEvent) -> None:
    kind = STATUS_EVENTS.get((event.status or "").lower())
    if kind == EventKind.READ and not event.provider_message_id and event.user_id and event.data.get("watermark"):
        _read_up_to(account=account, event=event)
        return
    if kind is None or not event.provider_message_id:
        return
    outbound = Message.objects.filter(account=account, direction=Direction.OUTBOUND)
    message = outbound.filter(provider_message_id=event.provider_message_id).first()
    callback = str(event.data.get("biz_opaque_callback_data") or "")
    if message is None and callback.isdigit():
        # WhatsApp echoes our message id: a status for a send whose answer (and so its wamid) we never stored.
        message = outbound.filter(pk=int(callback)).first()
        if message is not None and not message.provider_message_id:
            Message.objects.filter(pk=message.pk).update(provider_message_id=event.provider_message_id)
    if message is None:
        return
    data = {"status": event.status}
    if kind == EventKind.FAILED:
        data.update(event.error or {})
        for key in ("ErrorCode", "ErrorMessage"):
            if event.data.get(key) not in (None, ""):
                data[key] = event.data[key]
    message_event_record(message=message, kind=kind, at=event.occurred_at, data=data)
