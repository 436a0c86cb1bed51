"""Conversations (SPEC I1, I2): kept current from the message pipeline, followed, taken over, replied to, closed.

Every write here publishes a real-time event after commit (realtime.py), so open consoles follow along.
States: pending → in progress (someone follows or replies, or a keyword rule assigns) → closed; a customer message
on a closed conversation reopens it as pending.
"""

import phonenumbers
from django.db import transaction
from django.utils.translation import gettext as _

from tidings.channels.models import ChannelAccount
from tidings.contacts.models import Channel, ChannelIdentity, Contact
from tidings.contacts.services import identity_upsert
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.models import Membership, Workspace
from tidings.core.permissions import CS_ROLES
from tidings.core.services import audit_record
from tidings.messaging.models import Direction, Message, Purpose
from tidings.messaging.services import message_send

from . import realtime
from .errors import FollowedByAnother
from .models import ActivityKind, Conversation, ConversationActivity, ConversationState

PREVIEW_MAX = 200
# The country-code picker's default for new WhatsApp conversations (seed 001: Hong Kong).
DEFAULT_WHATSAPP_REGION = "HK"


def member_label(membership: Membership | None) -> str:
    if membership is None:
        return ""
    return membership.user.name or membership.user.email


def preview_of(content: dict) -> str:
    """One line for the conversation list: the text, else the kind of thing sent."""
    content = content or {}
    kind = content.get("type", "")
    text = content.get("text") or content.get("alt_text") or content.get("title") or ""
    if kind == "template":
        text = text or content.get("name", "")
    if kind == "postback":
        text = content.get("data", "")
    if not text:
        text = f"[{kind or 'message'}]"
    return " ".join(str(text).split())[:PREVIEW_MAX]


def _publish_conversation(conversation: Conversation, **extra) -> None:
    realtime.publish(workspace_id=conversation.workspace_id, payload={
        "type": "conversation", "conversation": conversation.pk, "state": conversation.state,
        "assignee": conversation.assignee_id, **extra,
    })


def _activity(conversation: Conversation, kind: str, *, actor=None, previous=None, at=None, **data):
    return ConversationActivity.objects.create(
        workspace_id=conversation.workspace_id, conversation=conversation, kind=kind, actor=actor,
        previous_assignee=previous, assignee=conversation.assignee, data=data,
        at=at or clock.now(conversation.workspace),
    )


def conversation_ensure(*, identity: ChannelIdentity, at=None) -> tuple[Conversation, bool]:
    """The conversation of this identity (one per identity, so per customer and channel account)."""
    existing = Conversation.objects.filter(identity=identity).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        conversation, created = Conversation.objects.get_or_create(
            identity=identity,
            defaults={"workspace_id": identity.workspace_id, "contact_id": identity.contact_id,
                      "account_id": identity.account_id, "channel": identity.channel,
                      **({"last_message_at": at, "created_at": at} if at else {})},
        )
    return conversation, created


def _lock(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update(of=("self",)).select_related("assignee__user", "workspace").get(
        pk=conversation.pk)


@transaction.atomic
def conversation_note_message(*, message: Message, create: bool = True) -> Conversation | None:
    """A message was received or queued for this conversation's identity: move its preview, count it unread, and
    reopen a closed conversation on a customer message. Keyword rules run on customer messages."""
    if message.identity_id is None:
        return None
    if create:
        conversation, _created = conversation_ensure(identity=message.identity, at=message.created_at)
    else:
        conversation = Conversation.objects.filter(identity_id=message.identity_id).first()
        if conversation is None:
            return None
    conversation = _lock(conversation)
    inbound = message.direction == Direction.INBOUND
    fields = ["last_message_preview", "last_message_direction"]
    if message.created_at >= conversation.last_message_at:
        conversation.last_message_at = message.created_at
        fields.append("last_message_at")
    conversation.last_message_preview = preview_of(message.content)
    conversation.last_message_direction = message.direction
    if conversation.contact_id != message.identity.contact_id:  # a contact merge moved the identity
        conversation.contact_id = message.identity.contact_id
        fields.append("contact")
    reopened = False
    if inbound:
        conversation.unread_count += 1
        fields.append("unread_count")
        if conversation.state == ConversationState.CLOSED:
            conversation.state, conversation.assignee, conversation.closed_at = ConversationState.PENDING, None, None
            fields += ["state", "assignee", "closed_at"]
            reopened = True
    conversation.save(update_fields=fields)
    if reopened:
        _activity(conversation, ActivityKind.REOPENED, at=message.created_at)
    realtime.publish(workspace_id=conversation.workspace_id, payload={
        "type": "message", "conversation": conversation.pk, "message": message.pk, "direction": message.direction,
    })
    if reopened:
        _publish_conversation(conversation, activity=ActivityKind.REOPENED)
    if inbound:
        from .keywords import keyword_rules_fire

        keyword_rules_fire(conversation=conversation, message=message)
    return conversation


def _follow_locked(conversation: Conversation, membership: Membership, *, kind: str, actor: Membership | None,
                   at=None, **data) -> Conversation:
    previous = conversation.assignee
    conversation.assignee = membership
    conversation.state = ConversationState.IN_PROGRESS
    conversation.closed_at = None
    conversation.save(update_fields=["assignee", "state", "closed_at"])
    _activity(conversation, kind, actor=actor, previous=previous, at=at, **data)
    _publish_conversation(conversation, activity=kind, previous_assignee=previous.pk if previous else None,
                          actor=actor.pk if actor else None, actor_name=member_label(actor))
    return conversation


@transaction.atomic
def conversation_follow(*, conversation: Conversation, membership: Membership, takeover: bool = False
                        ) -> Conversation:
    """The member follows (跟進) the conversation: it moves to in progress, assigned to them.

    Someone else following it already → FollowedByAnother, unless `takeover`: then the member takes it over,
    audited, and the previous follower is told (their console gets the event naming who took over)."""
    conversation = _lock(conversation)
    current = conversation.assignee
    if current is not None and current.pk == membership.pk:
        if conversation.state != ConversationState.IN_PROGRESS:
            return _follow_locked(conversation, membership, kind=ActivityKind.FOLLOWED, actor=membership)
        return conversation
    if current is not None and current.is_active and conversation.state == ConversationState.IN_PROGRESS:
        if not takeover:
            raise FollowedByAnother(
                _("%(name)s follows this conversation. Take it over?") % {"name": member_label(current)},
                conversation=conversation, follower=current)
        audit_record(workspace=conversation.workspace, actor=membership.user, action="conversation.take_over",
                     target=conversation, changes={"assignee": [member_label(current), member_label(membership)]})
        return _follow_locked(conversation, membership, kind=ActivityKind.TAKEN_OVER, actor=membership)
    return _follow_locked(conversation, membership, kind=ActivityKind.FOLLOWED, actor=membership)


@transaction.atomic
def conversation_assign(*, conversation: Conversation, membership: Membership, rule_name: str = "") -> Conversation:
    """A keyword auto-assign rule hands the conversation to a member (it is in progress from then on)."""
    conversation = _lock(conversation)
    return _follow_locked(conversation, membership, kind=ActivityKind.AUTO_ASSIGNED, actor=None,
                          **({"rule": rule_name} if rule_name else {}))


@transaction.atomic
def conversation_close(*, conversation: Conversation, membership: Membership | None) -> Conversation:
    """Close (結束對話). Closing a pending one lands it in the team's closed list with no follower."""
    conversation = _lock(conversation)
    if conversation.state == ConversationState.CLOSED:
        return conversation
    conversation.state = ConversationState.CLOSED
    conversation.closed_at = clock.now(conversation.workspace)
    conversation.save(update_fields=["state", "closed_at"])
    _activity(conversation, ActivityKind.CLOSED, actor=membership, previous=conversation.assignee)
    _publish_conversation(conversation, activity=ActivityKind.CLOSED, actor=membership.pk if membership else None)
    return conversation


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation) -> None:
    if conversation.unread_count:
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0
        _publish_conversation(conversation, activity="read")


@transaction.atomic
def conversation_reply(*, conversation: Conversation, membership: Membership | None, contents: list,
                       tag: str | None = None, source: str = "") -> list[Message]:
    """Send what a member wrote through the message pipeline (refusals as ServiceError, nothing sent).

    A reply on a pending or closed conversation makes the member its follower (in progress)."""
    messages = message_send(
        workspace=conversation.workspace, contact=conversation.identity.contact_id, channel=conversation.channel,
        contents=contents, purpose=Purpose.CHAT, account=conversation.account, tag=tag,
        source=source or (f"member:{membership.pk}" if membership else ""),
    )
    locked = _lock(conversation)
    if membership is not None and locked.state != ConversationState.IN_PROGRESS:
        _follow_locked(locked, membership, kind=ActivityKind.FOLLOWED, actor=membership)
    conversation.refresh_from_db()
    return messages


def _whatsapp_account(workspace: Workspace, account: ChannelAccount | None) -> ChannelAccount:
    accounts = ChannelAccount.objects.for_workspace(workspace).filter(channel=Channel.WHATSAPP, is_active=True)
    if account is not None:
        accounts = accounts.filter(pk=account.pk)
    found = accounts.order_by("id").first()
    if found is None:
        raise ServiceError(_("Connect a WhatsApp number first (Settings → Channels)."), field="account")
    return found


def whatsapp_phone_clean(phone: str, *, region: str = DEFAULT_WHATSAPP_REGION) -> str:
    """E.164 for the typed number; the picker's country code applies when the number has none."""
    raw = (phone or "").strip()
    if not raw:
        raise ServiceError(_("Enter the customer's WhatsApp phone number."), field="phone")
    try:
        parsed = phonenumbers.parse(raw, (region or DEFAULT_WHATSAPP_REGION).upper())
    except phonenumbers.NumberParseException:
        raise ServiceError(_("Enter a valid phone number, e.g. +852 6123 4567."), field="phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ServiceError(_("Enter a valid phone number, e.g. +852 6123 4567."), field="phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@transaction.atomic
def whatsapp_conversation_start(*, workspace: Workspace, membership: Membership, phone: str, name: str = "",
                                region: str = DEFAULT_WHATSAPP_REGION, takeover: bool = False,
                                account: ChannelAccount | None = None) -> Conversation:
    """New WhatsApp conversation (SPEC I2, CS roles): the conversation with this number, which the member follows at
    once when it is new, unassigned or closed; followed by another member → FollowedByAnother unless `takeover`.

    The customer is found by the number (an existing WhatsApp identity or contact) or created, named `name` or the
    number. The first message outside the 24-hour window must be a template: the pipeline enforces it on send."""
    if membership.role not in CS_ROLES:
        raise ServiceError(_("Only customer-service roles can start WhatsApp conversations."), code="forbidden")
    e164 = whatsapp_phone_clean(phone, region=region)
    name = " ".join((name or "").split())[:200] or e164
    account = _whatsapp_account(workspace, account)
    wa_id = e164.lstrip("+")
    identity = ChannelIdentity.objects.filter(account=account, external_id=wa_id).select_related("contact").first()
    if identity is None:
        contact = (Contact.objects.for_workspace(workspace).filter(phone=e164, merged_into__isnull=True)
                   .order_by("id").first())
        if contact is None:
            contact = Contact.objects.create(workspace=workspace, name=name, phone=e164,
                                             created_at=clock.now(workspace))
        identity, _created = identity_upsert(workspace=workspace, account=account, external_id=wa_id,
                                             display_name="", contact=contact)
    conversation, created = conversation_ensure(identity=identity, at=clock.now(workspace))
    if created:
        _activity(conversation, ActivityKind.STARTED, actor=membership)
    return conversation_follow(conversation=conversation, membership=membership, takeover=takeover)
