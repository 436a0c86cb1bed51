"""The demo's inbox: conversations in all three states on LINE, WhatsApp and Messenger, followed by the demo CS
agent and by others, keyword rules that fire on the personas' messages, personal and team-wide saved replies; and a
second load changes nothing."""

import pytest

from tidings.core.models import Membership
from tidings.demo.loader import demo_load
from tidings.inbox.models import Conversation, ConversationActivity, KeywordRule, KeywordTrigger, SavedReply
from tidings.inbox.saved_replies import saved_replies_for
from tidings.messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def _snapshot(workspace):
    return {
        "conversations": sorted(Conversation.objects.filter(workspace=workspace)
                                .values_list("pk", "state", "assignee_id")),
        "activities": ConversationActivity.objects.filter(workspace=workspace).count(),
        "rules": KeywordRule.objects.filter(workspace=workspace).count(),
        "triggers": KeywordTrigger.objects.filter(workspace=workspace).count(),
        "replies": SavedReply.objects.filter(workspace=workspace).count(),
        "messages": Message.objects.filter(workspace=workspace).count(),
    }


def test_demo_inbox_has_every_state_on_each_main_channel_and_loads_once():
    workspace = demo_load()  # the personas' webhooks are processed once the load commits
    members = {m.user.email: m for m in Membership.objects.filter(workspace=workspace).select_related("user")}
    agent = members["cs-agent@demo.test"]
    conversations = list(Conversation.objects.filter(workspace=workspace))
    states = {(c.channel, c.state) for c in conversations}
    for channel in ("line", "whatsapp", "messenger"):
        for state in ("pending", "in_progress", "closed"):
            assert (channel, state) in states, f"no {state} conversation on {channel}"
    in_progress = [c for c in conversations if c.state == "in_progress"]
    assert any(c.assignee_id == agent.pk for c in in_progress)
    assert any(c.assignee_id not in (None, agent.pk) for c in in_progress)
    # A closed conversation stays closed: the customer had nothing more to say after the load.
    assert all(c.assignee_id is not None for c in conversations if c.state == "closed")

    # Keyword rules fired on the personas' questions ("有冇新品？", "幾點開？") and answered them.
    rules = {r.name: r for r in KeywordRule.objects.filter(workspace=workspace)}
    assert len(rules) == 3
    assert KeywordTrigger.objects.filter(rule=rules["新品查詢 New items"]).count() == 1
    assert KeywordTrigger.objects.filter(rule=rules["營業時間 Opening hours"]).count() == 1
    assert Message.objects.filter(workspace=workspace, source__startswith="keyword-rule:").count() == 2

    # Kai sees the team's replies and his own; the manager's personal one is hers alone.
    titles = set(saved_replies_for(agent).values_list("title", flat=True))
    assert {"營業時間 Opening hours", "我的結尾 My sign-off"} <= titles
    assert "VIP 招呼 VIP welcome" not in titles
    assert SavedReply.objects.filter(workspace=workspace, owner__isnull=True).count() >= 2
    # Kai answered Emily on Messenger with his sign-off, her name filled in.
    assert Message.objects.filter(workspace=workspace, source=f"member:{agent.pk}", channel="messenger",
                                  content__text__icontains="Emily Lau").exists()

    before = _snapshot(workspace)
    demo_load()
    assert _snapshot(workspace) == before
