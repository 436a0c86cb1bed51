"""Send a message to a contact and follow it: queued -> sent -> delivered (SPEC C3, public API).

Both routes need `conversations.view` (the inbox permission: every role but Marketer), the permission of a member
who may write to customers one by one.
"""

import datetime
from typing import Any

from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from tidings.core.permissions import Permission
from tidings.messaging.models import Purpose
from tidings.messaging.selectors import message_events, message_get
from tidings.messaging.services import message_send

from ..errors import COMMON_ERRORS, ObjectNotFound
from ..permissions import requires

router = Router(tags=["messages"])


class MessageSend(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: int
    channel: str = Field(..., max_length=20, description='"line", "sms", ...')
    messages: list[dict[str, Any]] = Field(
        ..., description='Channel-neutral contents, e.g. [{"type": "text", "text": "Hello"}]; up to 5 go in one request.'
    )
    tag: str | None = Field(
        None, max_length=40,
        description="Messenger/Instagram message tag for a send outside the 24-hour window, e.g. POST_PURCHASE_UPDATE.",
    )


class MessageRef(Schema):
    id: int
    status: str


class MessagesSent(Schema):
    messages: list[MessageRef]


class EventOut(Schema):
    kind: str
    at: datetime.datetime


class MessageOut(Schema):
    id: int
    status: str
    channel: str
    events: list[EventOut]
    error: dict | None = None


@router.post("/messages", response={201: MessagesSent, **COMMON_ERRORS}, summary="Send messages to a contact")
@requires(Permission.CONVERSATIONS_VIEW)
def send_messages(request, payload: MessageSend):
    messages = message_send(
        workspace=request.auth.workspace, contact=payload.contact_id, channel=payload.channel,
        contents=payload.messages, purpose=Purpose.API, source=f"api-token:{request.auth.pk}", tag=payload.tag,
    )
    # Statuses as stored when accepted (queued); delivery runs after commit - poll GET /messages/{id}.
    return Status(201, {"messages": [{"id": m.pk, "status": m.status} for m in messages]})


@router.get("/messages/{message_id}", response={200: MessageOut, **COMMON_ERRORS}, summary="A message and its events")
@requires(Permission.CONVERSATIONS_VIEW)
def get_message(request, message_id: int):
    message = message_get(request.auth.workspace, message_id)
    if message is None:
        raise ObjectNotFound()
    return message_out(message, message_events(message))


def message_out(message, events) -> dict:
    """One message as the API shows it (also each item of a conversation's history), `events` in order."""
    return {
        "id": message.pk, "status": message.status, "channel": message.channel, "error": message.error,
        "events": [{"kind": e.kind, "at": e.at} for e in events],
    }
