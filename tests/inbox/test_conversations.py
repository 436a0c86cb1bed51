"""Conversations kept from the pipeline: created by a customer message, followed, taken over, closed, reopened,
replied to, and started by phone number on WhatsApp (SPEC I1, I2)."""

import pytest

from tidings.core.errors import ServiceError
from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.inbox.errors import FollowedByAnother
from tidings.inbox.models import ActivityKind, Conversation, ConversationState
from tidings.inbox.selectors import conversation_messages, conversations_filter, state_counts
from tidings.inbox.services import (
    conversation_close,
    conversation_follow,
    conversation_reply,
    whatsapp_conversation_start,
)
from tidings.messaging.models import Direction
from tidings.sandbox.personas import persona_act

from ..sandbox.persona_support import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agents(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Amy"), make_member(workspace, Role.CS_AGENT, name="Ben")


def customer_says(workspace, persona, text, channel="line"):
    persona_act(workspace=workspace, persona=persona, action="send", channel=channel, text=text)
    return Conversation.objects.get(contact=persona.contact, channel=channel)


def test_a_customer_message_opens_a_pending_conversation_with_its_preview(workspace, new_persona):
    persona = new_persona()
    conversation = customer_says(workspace, persona, "Do you have oolong?")
    assert conversation.state == ConversationState.PENDING
    assert conversation.assignee is None
    assert conversation.last_message_preview == "Do you have oolong?"
    assert conversation.unread_count == 1
    history = conversation_messages(conversation)
    assert [m.content.get("text") for m in history if m.direction == Direction.INBOUND] == ["Do you have oolong?"]


def test_follow_then_takeover_needs_confirmation_and_is_audited(workspace, new_persona, agents):
    amy, ben = agents
    conversation = customer_says(workspace, new_persona(), "hi")
    conversation_follow(conversation=conversation, membership=amy)
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, amy)
    with pytest.raises(FollowedByAnother) as refused:
        conversation_follow(conversation=conversation, membership=ben)
    assert "Amy" in str(refused.value.message)
    conversation.refresh_from_db()
    assert conversation.assignee == amy
    conversation_follow(conversation=conversation, membership=ben, takeover=True)
    conversation.refresh_from_db()
    assert conversation.assignee == ben
    taken = conversation.activities.get(kind=ActivityKind.TAKEN_OVER)
    assert (taken.previous_assignee, taken.assignee) == (amy, ben)
    assert AuditEntry.objects.filter(action="conversation.take_over", target_id=str(conversation.pk)).exists()


def test_closed_conversation_reopens_as_pending_on_the_next_customer_message(workspace, new_persona, agents):
    amy, _ben = agents
    persona = new_persona()
    conversation = customer_says(workspace, persona, "hi")
    conversation_follow(conversation=conversation, membership=amy)
    conversation_close(conversation=conversation, membership=amy)
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.CLOSED
    again = customer_says(workspace, persona, "one more thing")
    assert again.pk == conversation.pk
    assert (again.state, again.assignee) == (ConversationState.PENDING, None)


def test_reply_goes_through_the_pipeline_and_makes_the_member_follow(workspace, new_persona, agents):
    amy, _ben = agents
    conversation = customer_says(workspace, new_persona(), "hi")
    sent = conversation_reply(conversation=conversation, membership=amy, contents=[{"type": "text", "text": "Hello!"}])
    sent[0].refresh_from_db()
    assert sent[0].status in ("sent", "delivered")
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, amy)
    assert conversation.last_message_preview == "Hello!"


def test_agents_see_their_own_and_unassigned_conversations(workspace, new_persona, agents, make_member):
    amy, ben = agents
    mine = customer_says(workspace, new_persona(), "a")
    theirs = customer_says(workspace, new_persona(), "b")
    free = customer_says(workspace, new_persona(), "c")
    conversation_follow(conversation=mine, membership=amy)
    conversation_follow(conversation=theirs, membership=ben)
    assert set(conversations_filter(amy)) == {mine, free}
    manager = make_member(workspace, Role.CS_MANAGER)
    assert set(conversations_filter(manager)) == {mine, theirs, free}
    assert state_counts(manager) == {"pending": 1, "in_progress": 2, "closed": 0}


def test_new_whatsapp_conversation_by_phone(workspace, whatsapp_account, agents, make_member):
    amy, ben = agents
    conversation = whatsapp_conversation_start(workspace=workspace, membership=amy, phone="6123 4567")
    assert conversation.identity.external_id == "85261234567"
    assert conversation.contact.name == "+85261234567"
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, amy)
    with pytest.raises(FollowedByAnother):
        whatsapp_conversation_start(workspace=workspace, membership=ben, phone="+852 6123 4567")
    again = whatsapp_conversation_start(workspace=workspace, membership=ben, phone="+85261234567", takeover=True)
    assert again.pk == conversation.pk and again.assignee == ben
    with pytest.raises(ServiceError) as bad:
        whatsapp_conversation_start(workspace=workspace, membership=amy, phone="12")
    assert bad.value.field == "phone"
    with pytest.raises(ServiceError):
        whatsapp_conversation_start(workspace=workspace, membership=make_member(workspace, Role.SALES_PERSON),
                                    phone="61234568")


def test_search_counts_stop_at_the_cap_so_a_common_term_stays_fast(workspace, new_persona, make_member):
    manager = make_member(workspace, Role.CS_MANAGER)
    for name in ("陳美玲", "陳大文", "陳小明"):
        customer_says(workspace, new_persona(name=name), "hi")
    customer_says(workspace, new_persona(name="Karen Wong"), "hi")
    assert state_counts(manager, q="陳") == {"pending": 3, "in_progress": 0, "closed": 0}
    # Counting stops one past the cap: the console shows "2+".
    assert state_counts(manager, q="陳", cap=2) == {"pending": 3, "in_progress": 0, "closed": 0}
    assert state_counts(manager, q="陳", cap=1) == {"pending": 2, "in_progress": 0, "closed": 0}


@pytest.mark.parametrize("lookups, cap", [(500, 20000), (1, 20000), (1, 1)],
                         ids=["ids one by one", "ids as one array", "too many ids: read while listing"])
def test_search_finds_the_same_conversations_whichever_way_the_ids_travel(workspace, new_persona, make_member,
                                                                         monkeypatch, lookups, cap):
    from tidings.inbox import selectors

    monkeypatch.setattr(selectors, "SEARCH_ID_LOOKUPS", lookups)
    monkeypatch.setattr(selectors, "SEARCH_ID_CAP", cap)
    manager = make_member(workspace, Role.CS_MANAGER)
    found = {customer_says(workspace, new_persona(name=name), "hi").pk for name in ("陳美玲", "陳大文")}
    customer_says(workspace, new_persona(name="Karen Wong"), "hi")
    rows, counts = selectors.conversations_page(manager, limit=10, q="陳", state="pending")
    assert {c.pk for c in rows} == found
    assert counts == {"pending": 2, "in_progress": 0, "closed": 0}
