"""Keyword rules firing on what simulated customers send through signed webhooks (SPEC I4): once per message, the
counter moves, newest rule wins, states and channels respected, auto-assign in turn skipping inactive members."""

import pytest

from tidings.contacts.models import ContactTag
from tidings.core.roles import Role
from tidings.core.services import member_set_active
from tidings.inbox.keyword_rules import keyword_rule_create, keyword_rule_set_active, keyword_rules_list
from tidings.inbox.keywords import keyword_rules_fire
from tidings.inbox.models import ActivityKind, Conversation, ConversationState, KeywordRule, KeywordTrigger
from tidings.inbox.services import conversation_follow
from tidings.messaging.models import Direction, Message
from tidings.sandbox.models import SandboxDelivery
from tidings.sandbox.personas import persona_act

from ..sandbox.persona_support import *  # noqa: F403
from ..sandbox.persona_support import inbound

pytestmark = pytest.mark.django_db(transaction=True)


def says(workspace, persona, text, channel="line") -> Conversation:
    persona_act(workspace=workspace, persona=persona, action="send", channel=channel, text=text)
    return Conversation.objects.get(contact=persona.contact, channel=channel)


def phone_shows(persona, channel="line") -> list[str]:
    """What reached the customer's simulated phone from us (text or image URL), oldest first."""
    out = []
    for delivery in SandboxDelivery.objects.filter(persona=persona, channel=channel).exclude(kind="user"):
        payload = delivery.payload
        out.append(payload.get("text") or payload.get("body") or payload.get("originalContentUrl") or "")
    return out


def count(rule) -> int:
    return KeywordTrigger.objects.filter(rule=rule).count()


def reply_rule(workspace, name="Opening hours", keywords=("hours",), text="We open 10:00-22:00.", **data):
    data.setdefault("match_type", "any")
    contents = [{"type": "text", "text": text}] if text else []
    return keyword_rule_create(workspace=workspace, kind="reply", data={
        "name": name, "keywords": list(keywords), "reply_contents": contents, **data})


def tags_of(persona) -> set[str]:
    return set(ContactTag.objects.filter(contact=persona.contact).values_list("tag__name", flat=True))


def test_a_matching_message_fires_once_and_the_counter_moves(workspace, new_persona):
    rule = reply_rule(workspace, tags=["asked-hours"])
    persona = new_persona()

    conversation = says(workspace, persona, "What are your opening HOURS?")
    assert count(rule) == 1
    assert phone_shows(persona) == ["We open 10:00-22:00."]
    assert tags_of(persona) == {"asked-hours"}
    # The bot answered: nobody follows it, it stays pending for a person to pick up.
    assert (conversation.state, conversation.assignee) == (ConversationState.PENDING, None)
    reply = Message.objects.get(contact=persona.contact, direction=Direction.OUTBOUND)
    assert reply.source == f"keyword-rule:{rule.pk}"

    says(workspace, persona, "Thanks! and weekend hours?")
    says(workspace, persona, "ok bye")  # no keyword
    assert count(rule) == 2
    assert phone_shows(persona) == ["We open 10:00-22:00.", "We open 10:00-22:00."]
    [listed] = keyword_rules_list(workspace, kind="reply")
    assert listed.trigger_count == 2


def test_a_reprocessed_message_neither_counts_nor_answers_twice(workspace, new_persona):
    rule = reply_rule(workspace)
    persona = new_persona()
    conversation = says(workspace, persona, "hours please")
    [message] = inbound(persona)
    # The pipeline hands the same message over again (a redelivery, a replayed job).
    assert keyword_rules_fire(conversation=conversation, message=message) == []
    assert count(rule) == 1
    assert phone_shows(persona) == ["We open 10:00-22:00."]


def test_match_types_case_and_width(workspace, new_persona):
    exact = reply_rule(workspace, name="Menu", keywords=["Menu"], match_type="exact", text="Here is the menu.")
    both = reply_rule(workspace, name="Buy oolong", keywords=["買", "oolong"], match_type="all", text="Oolong: $120")
    persona = new_persona()
    says(workspace, persona, "menu")  # case-insensitive, exact
    says(workspace, persona, "the menu")  # not exactly
    says(workspace, persona, "ＭＥＮＵ")  # full-width letters are other characters
    says(workspace, persona, "我想買 Oolong")  # contains all
    says(workspace, persona, "我想買紅茶")  # only one of two
    assert (count(exact), count(both)) == (1, 1)
    assert phone_shows(persona) == ["Here is the menu.", "Oolong: $120"]


def test_the_newest_rule_wins_and_any_text_comes_last(workspace, new_persona):
    catch_all = reply_rule(workspace, name="Anything", keywords=[], match_type="anything", text="A person will answer.")
    older = reply_rule(workspace, name="Price v1", keywords=["price"], text="Old price list")
    newer = reply_rule(workspace, name="Price v2", keywords=["price"], text="New price list")
    persona = new_persona()
    says(workspace, persona, "price?")
    says(workspace, persona, "hello")
    assert (count(newer), count(older), count(catch_all)) == (1, 0, 1)
    assert phone_shows(persona) == ["New price list", "A person will answer."]
    assert [r.name for r in keyword_rules_list(workspace, kind="reply")] == ["Price v2", "Price v1", "Anything"]


def test_auto_reply_skips_in_progress_conversations_unless_the_rule_says_so(workspace, new_persona, make_member):
    agent = make_member(workspace, Role.CS_AGENT)
    plain = reply_rule(workspace, name="Hours", text="10-22")
    persona = new_persona()
    conversation = says(workspace, persona, "hi")
    conversation_follow(conversation=conversation, membership=agent)
    says(workspace, persona, "hours?")
    assert count(plain) == 0
    keen = reply_rule(workspace, name="Hours (always)", include_in_progress=True, text="10-22 every day")
    says(workspace, persona, "hours??")
    assert count(keen) == 1
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, agent)


def test_a_disabled_rule_or_another_channel_does_not_fire(workspace, new_persona):
    rule = reply_rule(workspace)
    sms_only = reply_rule(workspace, name="SMS hours", channels=["sms"], text="SMS: 10-22")
    keyword_rule_set_active(workspace=workspace, rule=rule, active=False)
    persona = new_persona()
    says(workspace, persona, "hours")
    assert (count(rule), count(sms_only)) == (0, 0)
    says(workspace, persona, "hours", channel="sms")
    assert count(sms_only) == 1
    assert KeywordTrigger.objects.get(rule=sms_only).channel == "sms"


def test_a_sticker_fires_nothing(workspace, new_persona):
    catch_all = reply_rule(workspace, keywords=[], match_type="anything", text="Hi!")
    persona = new_persona()
    conversation = says(workspace, persona, "hello")
    sticker = Message.objects.create(
        workspace=workspace, contact=persona.contact, identity=conversation.identity, account=conversation.account,
        channel="line", direction=Direction.INBOUND, content={"type": "sticker", "package_id": "1", "sticker_id": "2"})
    assert keyword_rules_fire(conversation=conversation, message=sticker) == []
    assert count(catch_all) == 1


def test_a_refused_reply_keeps_the_message_and_still_counts(workspace, new_persona):
    # Made before SMS was connected (the form checks the connected channels): SMS cannot carry an image.
    rule = KeywordRule.objects.create(workspace=workspace, kind="reply", name="Catalogue", keywords=["catalogue"],
                                      reply_contents=[{"type": "image", "url": "https://example.test/c.png"}],
                                      tags=["catalogue"])
    persona = new_persona()
    conversation = says(workspace, persona, "catalogue please", channel="sms")
    assert [m.content["text"] for m in inbound(persona, "sms")] == ["catalogue please"]
    assert conversation.last_message_preview == "catalogue please"
    assert count(rule) == 1
    assert tags_of(persona) == {"catalogue"}
    assert phone_shows(persona, "sms") == []


@pytest.fixture
def cs_agents(workspace, make_member):
    return [make_member(workspace, Role.CS_AGENT, name=name) for name in ("Amy", "Ben", "Cat")]


def assign_rule(workspace, **data):
    return keyword_rule_create(workspace=workspace, kind="assign", data={
        "name": "Complaints", "keywords": ["refund"], "assign_role": Role.CS_AGENT, "assign_order": "in_turn",
        **data})


def test_auto_assign_in_turn_skips_inactive_members(workspace, new_persona, cs_agents):
    amy, ben, cat = cs_agents
    rule = assign_rule(workspace, tags=["refund"])
    member_set_active(workspace=workspace, actor=None, membership=ben, active=False)
    assigned = []
    for _ in range(3):
        conversation = says(workspace, new_persona(), "I want a refund")
        assert conversation.state == ConversationState.IN_PROGRESS
        assigned.append(conversation.assignee)
        activity = conversation.activities.get(kind=ActivityKind.AUTO_ASSIGNED)
        assert (activity.assignee, activity.actor) == (conversation.assignee, None)
    assert assigned == [amy, cat, amy]
    assert count(rule) == 3


def test_auto_assign_never_fires_on_in_progress_conversations(workspace, new_persona, cs_agents):
    amy, ben, _cat = cs_agents
    rule = assign_rule(workspace, assign_role="", assign_member=ben.pk)
    persona = new_persona()
    conversation = says(workspace, persona, "hello")
    conversation_follow(conversation=conversation, membership=amy)
    says(workspace, persona, "refund now")
    conversation.refresh_from_db()
    assert (conversation.assignee, count(rule)) == (amy, 0)


def test_reply_and_assign_fire_together_but_a_sales_assignee_silences_the_reply(workspace, new_persona, cs_agents,
                                                                                 make_member):
    amy = cs_agents[0]
    reply = reply_rule(workspace, name="Refund policy", keywords=["refund"], text="Refunds take 7 days.")
    to_cs = assign_rule(workspace, assign_role="", assign_member=amy.pk, keywords=["refund"])
    persona = new_persona()
    conversation = says(workspace, persona, "refund?")
    assert (count(reply), count(to_cs)) == (1, 1)
    assert phone_shows(persona) == ["Refunds take 7 days."]
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, amy)

    seller = make_member(workspace, Role.SALES_PERSON)
    to_sales = assign_rule(workspace, name="Wholesale", keywords=["wholesale refund"], assign_role=Role.SALES_PERSON)
    other = new_persona()
    conversation = says(workspace, other, "wholesale refund")
    assert conversation.assignee == seller
    assert (count(to_sales), count(reply)) == (1, 1)
    assert phone_shows(other) == []


def test_an_assign_rule_with_nobody_to_assign_does_not_fire(workspace, new_persona, make_member):
    rule = assign_rule(workspace, assign_role=Role.SUPERVISOR)  # no supervisor in this workspace
    conversation = says(workspace, new_persona(), "refund")
    assert (conversation.state, count(rule)) == (ConversationState.PENDING, 0)
