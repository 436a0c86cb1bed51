"""Conversations (SPEC I1, I2): the inbox list, one conversation and its history, replies, follow / take over, close,
and new WhatsApp conversations by phone number.

The caller is the token's member: they see what the inbox shows them (CS Agents their own and unassigned
conversations, sales roles their customers'); a conversation they may not see is a 404, like another workspace's.
Following a conversation someone else follows answers 409 naming that member, unless the body says
`"takeover": true`. Every write goes through the inbox services, as the console's do.
"""

import datetime
from typing import Any, Literal

from django.db.models import Prefetch, prefetch_related_objects
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, field_validator

from tidings.core import clock
from tidings.core.permissions import Permission
from tidings.inbox.errors import FollowedByAnother
from tidings.inbox.models import Conversation, ConversationState
from tidings.inbox.selectors import (
    conversation_get,
    conversation_get_for_takeover,
    conversation_messages,
    conversations_filter,
)
from tidings.inbox.services import (
    DEFAULT_WHATSAPP_REGION,
    conversation_close,
    conversation_follow,
    conversation_reply,
    whatsapp_conversation_start,
)
from tidings.messaging.models import MessageEvent

from ..errors import COMMON_ERRORS, ErrorDetail, ObjectNotFound
from ..pagination import MAX_LIMIT, PageParams, page_of
from ..permissions import requires
from .contacts import AccountRef, ChannelName
from .messages import MessageOut, MessagesSent, message_out

router = Router(tags=["conversations"])

StateName = Literal["pending", "in_progress", "closed"]
assert set(StateName.__args__) == set(ConversationState.values)


class CustomerRef(Schema):
    id: int
    name: str
    phone: str = Field(..., description="E.164, or empty")


class MemberRef(Schema):
    id: int = Field(..., description="The membership id (as in /api/v1/members)")
    name: str
    email: str


class ConversationOut(Schema):
    id: int
    state: StateName = Field(..., description="pending (待處理), in_progress (處理中) or closed (已結束)")
    channel: ChannelName
    account: AccountRef = Field(..., description="The channel account (LINE Official Account, WhatsApp number, …)")
    contact: CustomerRef
    assignee: MemberRef | None = Field(..., description="The member who follows it; null: the unassigned queue")
    last_message_at: datetime.datetime
    last_message_preview: str
    unread_count: int = Field(..., description="Customer messages since a member last opened it in the console")
    created_at: datetime.datetime
    closed_at: datetime.datetime | None


ConversationPage = page_of(ConversationOut)


class ConversationFilters(PageParams):
    state: StateName | None = Field(None, description="One tab: pending, in_progress or closed (default: all)")
    channel: ChannelName | None = None
    assignee: str = Field("", max_length=20, description='"me", "unassigned" or a membership id')
    tag: str = Field("", max_length=100, description="Only conversations whose customer has this tag")
    q: str = Field("", max_length=200, description="Part of the customer's name, phone, email or chat display name")

    @field_validator("assignee")
    @classmethod
    def _assignee(cls, value: str) -> str:
        value = value.strip()
        if value and value not in ("me", "unassigned") and not value.isdigit():
            raise ValueError('Use "me", "unassigned" or a membership id.')
        return value


class ConversationMessageOut(MessageOut):
    direction: Literal["in", "out"] = Field(..., description='"in" from the customer, "out" from the workspace')
    content: dict[str, Any] = Field(..., description="Channel-neutral content, as sent to POST /api/v1/messages")
    created_at: datetime.datetime


class MessageHistory(Schema):
    items: list[ConversationMessageOut] = Field(..., description="Oldest first")
    has_more: bool = Field(..., description="Older messages exist: ask again with before=<the first item's id>")


class HistoryParams(Schema):
    before: int | None = Field(None, ge=1, description="Only messages older than this message id (paging back)")
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"Messages per page (1-{MAX_LIMIT}), the latest first")


class ReplyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    messages: list[dict[str, Any]] = Field(
        ..., min_length=1,
        description='Channel-neutral contents, e.g. [{"type": "text", "text": "Hello"}], as for POST /api/v1/messages',
    )
    tag: str | None = Field(
        None, max_length=40,
        description="Messenger/Instagram message tag for a reply outside the 24-hour window, e.g. HUMAN_AGENT.",
    )


class FollowIn(Schema):
    model_config = ConfigDict(extra="forbid")

    takeover: bool = Field(False, description="Take the conversation over when another member follows it")


class WhatsAppStartIn(Schema):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(..., max_length=40, description="The customer's WhatsApp number, with or without +country code")
    name: str = Field("", max_length=200, description="The customer's name for a new contact (default: the number)")
    country: str = Field(DEFAULT_WHATSAPP_REGION, min_length=2, max_length=2,
                         description="ISO region for a number without +country code (default HK, +852)")
    takeover: bool = Field(False, description="Take the conversation over when another member follows it")


class FollowedOut(Schema):
    message: str
    details: list[ErrorDetail] = []
    follower: MemberRef = Field(..., description="The member who follows the conversation now")
    conversation_id: int


FOLLOW_ERRORS = {**COMMON_ERRORS, 409: FollowedOut}


def _member_ref(membership) -> dict | None:
    if membership is None:
        return None
    return {"id": membership.pk, "name": membership.user.name, "email": membership.user.email}


def conversation_out(conversation: Conversation) -> dict:
    """One conversation as the API shows it; expects contact, account and assignee__user selected."""
    contact = conversation.contact
    return {
        "id": conversation.pk, "state": conversation.state, "channel": conversation.channel,
        "account": {"id": conversation.account_id, "name": conversation.account.name},
        "contact": {"id": contact.pk, "name": contact.name or conversation.identity.display_name,
                    "phone": contact.phone},
        "assignee": _member_ref(conversation.assignee),
        "last_message_at": conversation.last_message_at, "last_message_preview": conversation.last_message_preview,
        "unread_count": conversation.unread_count, "created_at": conversation.created_at,
        "closed_at": conversation.closed_at,
    }


def _followed_by_another(exc: FollowedByAnother):
    return Status(409, {
        "message": str(exc.message), "details": [{"field": "takeover", "message": str(exc.message)}],
        "follower": _member_ref(exc.follower), "conversation_id": exc.conversation.pk,
    })


def _conversation(request, conversation_id: int) -> Conversation:
    conversation = conversation_get(request.auth.membership, conversation_id)
    if conversation is None:
        raise ObjectNotFound()
    return conversation


def _reloaded(request, conversation: Conversation) -> dict:
    """The conversation as it is after the caller's write (which leaves it visible to them: they follow it, or
    closed one they could see), with the relations the answer shows."""
    return conversation_out(conversation_get_for_takeover(request.auth.membership, conversation.pk))


@router.get("/conversations", response={200: ConversationPage, **COMMON_ERRORS},
            summary="The inbox list: conversations the caller may see, most recent first")
@requires(Permission.CONVERSATIONS_VIEW)
def list_conversations(request, filters: Query[ConversationFilters]):
    conversations = conversations_filter(
        request.auth.membership, state=filters.state or "", channel=filters.channel or "",
        assignee=filters.assignee, tag=filters.tag, q=filters.q,
    )
    rows = conversations.select_related("contact", "identity", "account", "assignee__user")
    page = rows[filters.offset:filters.offset + filters.limit]
    return {"items": [conversation_out(c) for c in page], "count": conversations.count()}


# Before the /conversations/{conversation_id} routes: their path parameter would match "whatsapp" first.
@router.post("/conversations/whatsapp", response={200: ConversationOut, 201: ConversationOut, **FOLLOW_ERRORS},
             summary="Start a WhatsApp conversation by phone number (CS roles); the caller follows it")
@requires(Permission.WHATSAPP_CONVERSATION_START)
def start_whatsapp_conversation(request, payload: WhatsAppStartIn):
    workspace = request.auth.workspace
    started_at = clock.now(workspace)
    try:
        conversation = whatsapp_conversation_start(
            workspace=workspace, membership=request.auth.membership, phone=payload.phone, name=payload.name,
            region=payload.country.upper(), takeover=payload.takeover,
        )
    except FollowedByAnother as exc:
        return _followed_by_another(exc)
    # New: made by this call (the service answers the number's existing conversation when there is one).
    return Status(201 if conversation.created_at >= started_at else 200, _reloaded(request, conversation))


@router.get("/conversations/{conversation_id}", response={200: ConversationOut, **COMMON_ERRORS},
            summary="One conversation")
@requires(Permission.CONVERSATIONS_VIEW)
def get_conversation(request, conversation_id: int):
    return conversation_out(_conversation(request, conversation_id))


@router.get("/conversations/{conversation_id}/messages", response={200: MessageHistory, **COMMON_ERRORS},
            summary="A conversation's messages, oldest first (the latest `limit`, or those before `before`)")
@requires(Permission.CONVERSATIONS_VIEW)
def list_conversation_messages(request, conversation_id: int, params: Query[HistoryParams]):
    conversation = _conversation(request, conversation_id)
    # One more than asked tells whether older messages remain.
    messages = conversation_messages(conversation, before_id=params.before, limit=params.limit + 1)
    has_more = len(messages) > params.limit
    messages = messages[1:] if has_more else messages
    prefetch_related_objects(messages, Prefetch("events", queryset=MessageEvent.objects.order_by("at", "id")))
    return {
        "items": [{**message_out(m, m.events.all()), "direction": m.direction, "content": m.content,
                   "created_at": m.created_at} for m in messages],
        "has_more": has_more,
    }


@router.post("/conversations/{conversation_id}/messages", response={201: MessagesSent, **COMMON_ERRORS},
             summary="Reply: send messages to the conversation's customer on its channel account")
@requires(Permission.CONVERSATIONS_VIEW)
def reply_to_conversation(request, conversation_id: int, payload: ReplyIn):
    conversation = _conversation(request, conversation_id)
    messages = conversation_reply(conversation=conversation, membership=request.auth.membership,
                                  contents=payload.messages, tag=payload.tag, source=f"api-token:{request.auth.pk}")
    # Statuses as stored when accepted (queued); delivery runs after commit - poll GET /messages/{id}.
    return Status(201, {"messages": [{"id": m.pk, "status": m.status} for m in messages]})


@router.post("/conversations/{conversation_id}/follow", response={200: ConversationOut, **FOLLOW_ERRORS},
             summary="Follow (跟進) a conversation; take it over from another member with takeover: true")
@requires(Permission.CONVERSATIONS_VIEW)
def follow_conversation(request, conversation_id: int, payload: FollowIn | None = None):
    # CS roles may take over a conversation their list does not show (an agent: one another agent follows).
    conversation = conversation_get_for_takeover(request.auth.membership, conversation_id)
    if conversation is None:
        raise ObjectNotFound()
    try:
        conversation = conversation_follow(conversation=conversation, membership=request.auth.membership,
                                           takeover=bool(payload and payload.takeover))
    except FollowedByAnother as exc:
        return _followed_by_another(exc)
    return _reloaded(request, conversation)


@router.post("/conversations/{conversation_id}/close", response={200: ConversationOut, **COMMON_ERRORS},
             summary="Close (結束) a conversation; the customer's next message reopens it as pending")
@requires(Permission.CONVERSATIONS_VIEW)
def close_conversation(request, conversation_id: int):
    conversation = conversation_close(conversation=_conversation(request, conversation_id),
                                      membership=request.auth.membership)
    return _reloaded(request, conversation)
