"""Reads of messages and their events, always within one workspace."""

from .models import Dispatch, Message, MessageEvent


def message_get(workspace, message_id) -> Message | None:
    try:
        return Message.objects.for_workspace(workspace).filter(pk=int(message_id)).first()
    except (TypeError, ValueError):
        return None


def message_events(message: Message):
    return MessageEvent.objects.filter(message=message).order_by("at", "id")


def dispatch_messages(dispatch: Dispatch):
    """A dispatch's messages in the order the adapter sends them: by recipient, then position."""
    return dispatch.messages.select_related("identity").order_by("identity_id", "position")


def message_outcomes(message_ids) -> dict[int, dict]:
    """{message id: {"status", "error", "events": {kind: at}}} for the sent / delivered / failed events of these
    messages - what a caller following its messages (the notification cascade) needs, in two queries."""
    ids = [pk for pk in message_ids if pk]
    out = {pk: {"status": status, "error": error, "events": {}}
           for pk, status, error in Message.objects.filter(pk__in=ids).values_list("pk", "status", "error")}
    events = MessageEvent.objects.filter(message_id__in=ids, kind__in=["sent", "delivered", "failed"])
    for message_id, kind, at in events.values_list("message_id", "kind", "at"):
        out[message_id]["events"][kind] = at
    return out
