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
