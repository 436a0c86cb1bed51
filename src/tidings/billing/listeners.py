"""What billing does when messaging records message events: a charged SMS that failed is refunded (L2).

Registered with messaging's listener registry (messaging may not import billing). Runs in the transaction that
records the event — a Twilio `failed` / `undelivered` status callback, or the provider refusing the request — so
the refund commits with it; `sms_refund` refunds a charge at most once however often the event is reported.
"""

from tidings.core.models import Workspace
from tidings.messaging.events import message_event_listener
from tidings.messaging.models import EventKind

from .models import EntryKind, LedgerEntry
from .services import sms_refund_for_message


@message_event_listener(kinds={EventKind.FAILED})
def refund_failed_sms(*, workspace_id: int, kind: str, message_ids: list[int], at, data: dict) -> None:
    charged = set(LedgerEntry.objects.filter(workspace_id=workspace_id, kind=EntryKind.SMS_CHARGE,
                                             message_id__in=message_ids, refund__isnull=True)
                  .values_list("message_id", flat=True))
    if not charged:  # most failed messages were never charged: no lock taken for them
        return
    workspace = Workspace.objects.get(pk=workspace_id)
    for message_id in sorted(charged):
        sms_refund_for_message(workspace=workspace, message_id=message_id)
