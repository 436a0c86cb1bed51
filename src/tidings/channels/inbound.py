"""Inbound webhooks after the signature check: store raw events once, then process each into identities and
whatever the layers above (messaging) consume.

Channels may not import messaging, so messaging registers its consumers here (`@inbound_consumer`) at start-up.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from tidings.contacts.models import ChannelIdentity
from tidings.core.bulk import db_value, rows_insert
from tidings.core.tasking import enqueue_on_commit
from tidings.contacts.services import identity_note_inbound, identity_set_subscribed, identity_upsert

from .events import InboundEvent, WebhookItem
from .models import ChannelAccount, WebhookEvent, WebhookStatus
from .registry import adapter_for

logger = logging.getLogger("tidings.webhooks")

# Kinds that say something about a customer whose identity we keep. Status callbacks are about our messages.
_IDENTITY_KINDS = frozenset({"message", "follow", "unfollow", "postback", "referral", "account_link", "delivery"})
# Kinds by which the person writes to us: they open (or extend) the 24-hour customer-service window.
_WINDOW_KINDS = frozenset({"message", "postback", "referral"})

InboundConsumer = Callable[..., None]
_CONSUMERS: list[InboundConsumer] = []


def inbound_consumer(func: InboundConsumer) -> InboundConsumer:
    """Register `func(*, account, event: InboundEvent, identity: ChannelIdentity | None, webhook_event)`.

    Consumers run in order inside the processing transaction; one raising marks the event failed (nothing kept).
    """
    if func not in _CONSUMERS:
        _CONSUMERS.append(func)
    return func


def inbound_consumers() -> list[InboundConsumer]:
    return list(_CONSUMERS)


def webhook_events_store(*, workspace, account: ChannelAccount, items: list[WebhookItem]) -> list[int]:
    """Store each event once per (account, provider id); returns the ids of rows this call created, whose
    processing - one task for them all, in order - is enqueued with the transaction. Repeats (provider
    redeliveries, or a concurrent delivery of the same event) are left out by the unique constraint.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING and the task row: on PostgreSQL every statement is a round trip
    the provider waits for, and a receiver that looked up repeats first took three."""
    from .tasks import webhook_events_process

    unique = {item.provider_event_id: item for item in items}
    if not unique:
        return []
    received = db_value(WebhookEvent, "received_at", timezone.now())
    rows = [(workspace.pk, account.pk, item.provider_event_id, item.event_type,
             db_value(WebhookEvent, "payload", item.payload), WebhookStatus.RECEIVED, "", received)
            for item in unique.values()]
    with transaction.atomic():
        new_ids = rows_insert(WebhookEvent, ["workspace", "account", "provider_event_id", "event_type", "payload",
                                             "status", "error", "received_at"], rows, skip_conflicts=True)
        if new_ids:
            enqueue_on_commit(webhook_events_process, new_ids)
    return new_ids


def _profile(adapter, account, user_id: str) -> dict:
    """The provider's profile for a user, or {} when it cannot be had now (not a friend, API down): the event is
    processed without it and the name is fetched again with the user's next event."""
    fetch = getattr(adapter, "fetch_profile", None)
    if fetch is None:
        return {}
    try:
        return fetch(account, user_id) or {}
    except Exception as exc:  # noqa: BLE001 - any failure here must not lose the event
        logger.info("Profile fetch failed for %s on account %s: %s", user_id, account.public_id, exc)
        return {}


def _needs_profile(account, event: InboundEvent) -> bool:
    if event.kind in ("unfollow", "delivery"):
        return False  # a blocked user has no profile for us; a PNP recipient need not be a friend
    if event.kind == "follow":
        return True  # a (re)follow is when names and pictures change
    known = ChannelIdentity.objects.filter(account=account, external_id=event.user_id).values_list(
        "display_name", flat=True).first()
    return not known


def webhook_event_process(*, event_id: int) -> str | None:
    """Process one stored event exactly once; returns its final status (None when there was nothing to do).

    Never raises: a failure is kept on the row (status failed, error text) for an operator to look at.
    """
    row = WebhookEvent.objects.select_related("account", "workspace").filter(pk=event_id).first()
    if row is None or row.status != WebhookStatus.RECEIVED:
        return None
    account = row.account
    try:
        adapter = adapter_for(account.channel)
        event = adapter.parse_event(account, row.payload)
        profile = {}
        if event.kind in _IDENTITY_KINDS and event.user_id and _needs_profile(account, event):
            profile = _profile(adapter, account, event.user_id)  # outside the transaction: it is an HTTP call
        with transaction.atomic():
            locked = WebhookEvent.objects.select_for_update().get(pk=event_id)
            if locked.status != WebhookStatus.RECEIVED:
                return None  # processed by a concurrent run
            status = _apply(account, locked, event, profile)
            locked.status = status
            locked.processed_at = timezone.now()
            locked.save(update_fields=["status", "processed_at"])
        return status
    except Exception as exc:  # noqa: BLE001 - the provider already got its 200; keep the failure on the row
        logger.exception("Webhook event %s (account %s) failed", event_id, account.public_id)
        WebhookEvent.objects.filter(pk=event_id, status=WebhookStatus.RECEIVED).update(
            status=WebhookStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], processed_at=timezone.now()
        )
        return WebhookStatus.FAILED


def _apply(account, row: WebhookEvent, event: InboundEvent, profile: dict) -> str:
    if event.kind == "unknown":
        return WebhookStatus.IGNORED
    identity = None
    if event.kind in _IDENTITY_KINDS and event.user_id:
        identity, _created = identity_upsert(
            workspace=row.workspace, account=account, external_id=event.user_id,
            display_name=profile.get("display_name") or event.display_name, picture_url=profile.get("picture_url", ""),
        )
        if event.kind in _WINDOW_KINDS:
            identity_note_inbound(identity=identity, at=event.occurred_at)
        if event.kind in ("follow", "unfollow"):
            subscribed = event.kind == "follow"
            # Events can arrive out of order: an older follow must not undo a newer unfollow (and back).
            newer = identity.unsubscribed_at if subscribed else identity.subscribed_at
            if newer is None or newer <= event.occurred_at:
                identity_set_subscribed(identity=identity, subscribed=subscribed, at=event.occurred_at)
    for consumer in _CONSUMERS:
        consumer(account=account, event=event, identity=identity, webhook_event=row)
    return WebhookStatus.PROCESSED
