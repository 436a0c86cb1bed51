"""Recording what happened to a message. One event per (message, kind); status only moves forward.

Apps above messaging learn of events through listeners (billing refunds a rejected SMS, the notification cascade
moves on when its message fails or is delivered): `@message_event_listener(kinds={...})` registers
`func(*, workspace_id, kind, message_ids, at, data)`, called inside the transaction that recorded the event, so a
listener's writes commit or roll back with it. Each call runs in its own savepoint: a listener that raises is
logged and undone, never the event (a webhook or a delivery outcome must not be lost to a bug upstairs), so a
listener that must not miss anything keeps its own backstop (e.g. a durable timer that re-checks the message).
"""

import logging
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import EventKind, Message, MessageEvent, MessageStatus

logger = logging.getLogger(__name__)

_LISTENERS: list[tuple[frozenset[str], frozenset[str] | None, Callable]] = []


def message_event_listener(*, kinds: Iterable[str], purposes: Iterable[str] | None = None):
    """Register a listener for these event kinds (an app's `AppConfig.ready` imports the module that does).

    `purposes`: the listener only cares about messages sent for these (e.g. notifications), so a recorder that
    knows its messages' purposes skips it for a broadcast's thousands of messages.
    """
    wanted = frozenset(kinds)
    wanted_purposes = frozenset(purposes) if purposes is not None else None

    def register(func):
        if not any(f is func for _k, _p, f in _LISTENERS):
            _LISTENERS.append((wanted, wanted_purposes, func))
        return func

    return register


def message_events_recorded(*, workspace_id: int, kind: str, message_ids: list[int], at, data: dict | None = None,
                            purposes: Iterable[str] | None = None) -> None:
    """Tell the listeners that `kind` was recorded on these messages (called by the recorders, in their
    transaction). `purposes`, when the recorder knows them, lets listeners for other purposes be skipped."""
    if not message_ids:
        return
    present = frozenset(purposes) if purposes is not None else None
    for kinds, wanted_purposes, listener in _LISTENERS:
        if kind not in kinds:
            continue
        if wanted_purposes is not None and present is not None and not wanted_purposes & present:
            continue
        try:
            with transaction.atomic():
                listener(workspace_id=workspace_id, kind=kind, message_ids=list(message_ids), at=at, data=data or {})
        except Exception:  # noqa: BLE001 - a listener's bug must not lose the event itself
            logger.exception("message event listener %s failed on %s for %s", listener.__qualname__, kind,
                             message_ids[:10])

# Later statuses win; `failed` is terminal for delivery but a later read/delivered report still counts.
_STATUS_RANK = {
    MessageStatus.QUEUED: 0, MessageStatus.SENT: 1, MessageStatus.DELIVERED: 2, MessageStatus.READ: 3,
    MessageStatus.FAILED: 4, MessageStatus.RECEIVED: 0,
}
_STATUS_OF_EVENT = {
    EventKind.SENT: MessageStatus.SENT, EventKind.DELIVERED: MessageStatus.DELIVERED,
    EventKind.READ: MessageStatus.READ, EventKind.FAILED: MessageStatus.FAILED,
}


def message_event_record(*, message: Message, kind: str, at=None, data: dict | None = None) -> bool:
    """Record an event once; True if it was new. Moves the message's status forward when the event implies one."""
    at = at or timezone.now()
    try:
        with transaction.atomic():
            MessageEvent.objects.create(workspace_id=message.workspace_id, message=message, kind=kind, at=at,
                                        data=data or {})
    except IntegrityError:
        return False
    new_status = _STATUS_OF_EVENT.get(kind)
    if new_status and _STATUS_RANK[new_status] > _STATUS_RANK.get(message.status, 0):
        fields = {"status": new_status}
        if kind == EventKind.FAILED and data:
            fields["error"] = data
        Message.objects.filter(pk=message.pk).update(**fields, updated_at=at)
        message.status = new_status
    message_events_recorded(workspace_id=message.workspace_id, kind=kind, message_ids=[message.pk], at=at, data=data)
    return True
