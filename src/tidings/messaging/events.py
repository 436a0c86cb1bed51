"""Recording what happened to a message. One event per (message, kind); status only moves forward."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import EventKind, Message, MessageEvent, MessageStatus

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
    return True
