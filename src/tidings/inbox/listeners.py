"""Keeping conversations current from the message pipeline (messaging.events listeners).

Customer messages (received) create or reopen the conversation and run keyword rules; messages we queue move the
preview (chat and API sends start a conversation; broadcasts only touch an existing one); delivery outcomes reach
open consoles as ticks. A renamed or deleted tag reaches the keyword rules that add it (contacts.tags).
"""

from django.db.models import Q

from tidings.contacts.tags import tag_change_listener
from tidings.core.id_sets import ids_q
from tidings.messaging.events import message_event_listener
from tidings.messaging.models import EventKind, Message, Purpose

from . import realtime
from .keyword_rules import keyword_rules_tag_changed
from .services import conversation_note_message

# Sends that belong in a conversation of their own; others (broadcasts, journeys…) only show in an existing one.
_CONVERSATIONAL = frozenset({Purpose.CHAT, Purpose.API})


@message_event_listener(kinds={EventKind.RECEIVED, EventKind.QUEUED})
def conversation_from_message(*, workspace_id, kind, message_ids, at, data) -> None:
    messages = Message.objects.filter(pk__in=message_ids)
    if kind == EventKind.QUEUED:  # a broadcast's thousands of messages: only those with somewhere to show
        messages = messages.filter(Q(purpose__in=_CONVERSATIONAL) | Q(identity__conversation__isnull=False))
    for message in messages.select_related("identity").order_by("created_at", "id"):
        create = kind == EventKind.RECEIVED or message.purpose in _CONVERSATIONAL
        conversation_note_message(message=message, create=create)


@message_event_listener(kinds={EventKind.SENT, EventKind.DELIVERED, EventKind.READ, EventKind.FAILED})
def ticks_to_consoles(*, workspace_id, kind, message_ids, at, data) -> None:
    rows = (Message.objects.filter(ids_q("pk", message_ids), identity__conversation__isnull=False)
            .values_list("pk", "identity__conversation__id", "status"))
    for message_id, conversation_id, status in rows:
        realtime.publish(workspace_id=workspace_id, payload={
            "type": "status", "conversation": conversation_id, "message": message_id, "status": status,
        })


@tag_change_listener
def keyword_rules_follow_tag(*, workspace, old: str, new: str | None) -> None:
    keyword_rules_tag_changed(workspace=workspace, old=old, new=new)
