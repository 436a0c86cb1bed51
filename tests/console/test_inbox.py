"""The inbox screen (SPEC I1): the list with state tabs, counts, filters and search; who sees what; one conversation's
history with ticks, activity lines and paging; follow, take over (with the question first) and close."""

import datetime
import html
import itertools
import re

import pytest
from django.urls import reverse

from tidings.contacts.services import identity_note_inbound, identity_upsert, tags_add
from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.inbox.models import ActivityKind, Conversation, ConversationState
from tidings.inbox.services import conversation_close, conversation_follow, conversation_note_message
from tidings.messaging.models import Direction, Message, MessageStatus

_ids = itertools.count(1)


@pytest.fixture
def amy(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Amy")


@pytest.fixture
def ben(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Ben")


@pytest.fixture
def manager(workspace, make_member):
    return make_member(workspace, Role.CS_MANAGER, name="Mia")


def customer(workspace, account, name="陳美玲"):
    identity, _created = identity_upsert(workspace=workspace, account=account, external_id=f"X{next(_ids):010d}",
                                         display_name=name)
    return identity


def message(identity, text="hi", *, direction=Direction.INBOUND, status=None, at=None, content=None, **fields):
    """A message on the customer's identity, noted by the inbox as the pipeline's listener would."""
    at = at or datetime.datetime.now(tz=datetime.UTC)
    stored = Message.objects.create(
        workspace_id=identity.workspace_id, contact=identity.contact, identity=identity, account=identity.account,
        channel=identity.channel, direction=direction, content=content or {"type": "text", "text": text},
        status=status or (MessageStatus.RECEIVED if direction == Direction.INBOUND else MessageStatus.SENT),
        created_at=at, **fields)
    if direction == Direction.INBOUND:
        identity_note_inbound(identity=identity, at=at)
    conversation_note_message(message=stored)
    return stored


def says(workspace, account, text="hi", name="陳美玲", **kwargs):
    identity = customer(workspace, account, name)
    message(identity, text, **kwargs)
    return Conversation.objects.get(identity=identity)


def thread_of(response) -> str:
    """The middle column's history only (the list's previews repeat the last message)."""
    body = response.content.decode()
    return body[body.index("data-thread "):body.index("data-new-pill")]


def names_in_list(response) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'data-name="([^"]*)"', response.content.decode())]


def test_every_channel_in_one_list_newest_first_with_tab_counts(workspace, line_account, whatsapp_account,
                                                                messenger_account, manager, console_client):
    now = datetime.datetime.now(tz=datetime.UTC)
    says(workspace, line_account, "old", name="Lin", at=now - datetime.timedelta(hours=3))
    says(workspace, whatsapp_account, "newest", name="Wong", at=now - datetime.timedelta(minutes=1))
    followed = says(workspace, messenger_account, "middle", name="Mark", at=now - datetime.timedelta(hours=1))
    conversation_follow(conversation=followed, membership=manager)

    client = console_client(manager)
    response = client.get(reverse("console:inbox"))
    assert response.status_code == 200
    assert names_in_list(response) == ["Wong", "Lin"]  # the pending tab, by last message
    body = response.content.decode()
    assert re.search(r'id="tab-count-pending">2<', body) and re.search(r'id="tab-count-in_progress">1<', body)
    assert 'data-channel="whatsapp"' in body and 'data-channel="line"' in body

    in_progress = client.get(reverse("console:inbox_list"), {"state": "in_progress"}, HTTP_HX_REQUEST="true")
    assert names_in_list(in_progress) == ["Mark"]
    assert "Mia" in in_progress.content.decode()  # who follows it
    assert in_progress["HX-Replace-Url"] == "/inbox/?state=in_progress"


def test_filters_by_channel_assignee_tag_and_search(workspace, line_account, whatsapp_account, manager, amy,
                                                    console_client):
    lin = says(workspace, line_account, name="Lin Mei")
    wong = says(workspace, whatsapp_account, name="Wong Ka Yan")
    says(workspace, whatsapp_account, name="Chan Tai Man")
    conversation_follow(conversation=wong, membership=amy)
    tags_add(workspace=workspace, contact_ids=[lin.contact_id], names=["VIP"])
    client = console_client(manager)
    url = reverse("console:inbox_list")

    def names(**query):
        return names_in_list(client.get(url, query))

    assert names(state="pending", channel="line") == ["Lin Mei"]
    assert names(state="in_progress", assignee=str(amy.pk)) == ["Wong Ka Yan"]
    assert names(state="pending", assignee="unassigned") == ["Chan Tai Man", "Lin Mei"]
    assert names(state="pending", tag="VIP") == ["Lin Mei"]
    assert names(state="pending", q="chan") == ["Chan Tai Man"]
    empty = client.get(url, {"state": "pending", "q": "nobody"})
    assert "No conversations match these filters." in empty.content.decode()


def test_an_agent_sees_their_own_and_unassigned_conversations_only(workspace, line_account, amy, ben,
                                                                   console_client):
    mine = says(workspace, line_account, name="Mine")
    theirs = says(workspace, line_account, name="Theirs")
    says(workspace, line_account, name="Nobody's")
    conversation_follow(conversation=mine, membership=amy)
    conversation_follow(conversation=theirs, membership=ben)
    client = console_client(amy)
    assert names_in_list(client.get(reverse("console:inbox_list"), {"state": "in_progress"})) == ["Mine"]
    assert names_in_list(client.get(reverse("console:inbox_list"), {"state": "pending"})) == ["Nobody's"]
    assert client.get(reverse("console:inbox_conversation", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("console:inbox_conversation", args=[mine.pk])).status_code == 200


@pytest.mark.parametrize("role, status", [(Role.MARKETER, 403), (Role.SALES_PERSON, 200), (Role.CS_AGENT, 200)])
def test_the_inbox_follows_the_permission_matrix(workspace, make_member, console_client, role, status):
    assert console_client(make_member(workspace, role)).get(reverse("console:inbox")).status_code == status


def test_empty_inbox_explains_how_conversations_arrive(workspace, amy, console_client):
    body = console_client(amy).get(reverse("console:inbox")).content.decode()
    assert "No conversations yet." in body
    assert "Ask an Admin to connect one" in body  # an agent cannot connect channels
    assert reverse("sandbox_phone:phones") in body  # a sandbox workspace can write as a customer


def test_opening_shows_the_history_with_ticks_and_marks_it_read(workspace, line_account, whatsapp_account, manager,
                                                                console_client):
    identity = customer(workspace, whatsapp_account, "Wong")
    now = datetime.datetime.now(tz=datetime.UTC)
    message(identity, "Do you have oolong?", at=now - datetime.timedelta(minutes=9))
    for minutes, (text, status) in zip((8, 7, 6, 5, 4), [("Queued", "queued"), ("Sent", "sent"),
                                                          ("Delivered", "delivered"), ("Read", "read"),
                                                          ("Failed", "failed")]):
        message(identity, text, direction=Direction.OUTBOUND, status=status, at=now - datetime.timedelta(minutes=minutes),
                source=f"member:{manager.pk}",
                error={"status": 400, "message": "(#131047) Re-engagement message"} if status == "failed" else None)
    conversation = Conversation.objects.get(identity=identity)
    assert conversation.unread_count == 1

    response = console_client(manager).get(reverse("console:inbox_conversation", args=[conversation.pk]))
    body = thread_of(response)
    assert body.index("Do you have oolong?") < body.index("Queued") < body.index("Failed")
    for status in ("queued", "sent", "delivered", "read", "failed"):
        assert f'data-tick="{status}"' in body
    assert "(#131047) Re-engagement message" in body  # the provider's reason, on hover and expanded
    assert "Mia" in body  # who sent them
    assert re.search(r"2[34] h \d+ min left", response.content.decode())  # the WhatsApp window's remaining time
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_line_messages_count_as_read_once_the_customer_answers(workspace, line_account, manager, console_client):
    identity = customer(workspace, line_account)
    now = datetime.datetime.now(tz=datetime.UTC)
    message(identity, "Hello", at=now - datetime.timedelta(minutes=5))
    message(identity, "Our answer", direction=Direction.OUTBOUND, status="delivered",
            at=now - datetime.timedelta(minutes=4))
    conversation = Conversation.objects.get(identity=identity)
    client = console_client(manager)
    before = thread_of(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    assert 'data-tick="delivered"' in before and "tick-inferred" not in before
    message(identity, "Thanks!", at=now - datetime.timedelta(minutes=1))
    after = thread_of(client.get(reverse("console:inbox_conversation", args=[conversation.pk])))
    assert 'data-tick="read"' in after and "tick-inferred" in after


def test_templates_and_rich_messages_render_by_kind(workspace, whatsapp_account, manager, console_client):
    from tidings.message_templates.models import WhatsAppTemplate

    WhatsAppTemplate.objects.create(workspace=workspace, name="order_ready", language="en", category="UTILITY",
                                    body="Hi {{1}}, order {{2}} is ready.", status="approved",
                                    buttons=[{"type": "quick_reply", "text": "Thanks"}])
    identity = customer(workspace, whatsapp_account)
    message(identity, content={"type": "order", "catalog_id": "1", "text": "", "total": "60.00",
                               "items": [{"product_retailer_id": "oolong-100g", "quantity": 2, "item_price": "30.00",
                                          "currency": "HKD"}]})
    message(identity, direction=Direction.OUTBOUND, content={"type": "template", "name": "order_ready", "language": "en",
                                                             "parameters": ["Mei", "A-17"]})
    message(identity, content={"type": "button_reply", "payload": "Thanks", "text": "Thanks"})
    message(identity, direction=Direction.OUTBOUND, content={"type": "carousel", "columns": [
        {"title": "Oolong", "text": "100 g", "actions": [{"type": "uri", "label": "Buy", "uri": "https://x.test"}]},
        {"title": "Pu-erh", "text": "357 g", "actions": [{"type": "postback", "label": "Ask", "data": "ask"}]}]})
    conversation = Conversation.objects.get(identity=identity)
    body = console_client(manager).get(reverse("console:inbox_conversation", args=[conversation.pk])).content.decode()
    assert "oolong-100g" in body and "60.00 HKD" in body
    assert "Hi Mei, order A-17 is ready." in body and "data-wa-template" in body
    assert "Tapped" in body and "Carousel of 2 cards" in body and "Pu-erh" in body


def test_activity_lines_are_interleaved_with_the_messages(workspace, line_account, amy, manager, console_client):
    conversation = says(workspace, line_account, "first")
    conversation_follow(conversation=conversation, membership=amy)
    conversation_follow(conversation=conversation, membership=manager, takeover=True)
    conversation_close(conversation=conversation, membership=manager)
    conversation.refresh_from_db()
    identity = conversation.identity
    message(identity, "one more thing")
    body = thread_of(console_client(manager).get(reverse("console:inbox_conversation", args=[conversation.pk])))
    lines = ["first", "Amy followed", "Mia took over from Amy", "Closed by Mia", "Reopened by a customer message",
             "one more thing"]
    positions = [body.index(line) for line in lines]
    assert positions == sorted(positions)


def test_follow_then_someone_else_is_asked_before_taking_over(workspace, line_account, amy, manager,
                                                              console_client):
    conversation = says(workspace, line_account)
    url = reverse("console:inbox_follow", args=[conversation.pk])
    followed = console_client(amy).post(url, HTTP_HX_REQUEST="true")
    assert followed.status_code == 200 and "You follow it" in followed.content.decode()
    assert followed["HX-Trigger"] == "inbox:refresh"
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, amy)

    client = console_client(manager)
    header = client.get(reverse("console:inbox_header", args=[conversation.pk])).content.decode()
    assert "Amy follows this conversation. Take it over?" in header and "data-takeover-open" in header
    # Without takeover=1 nothing changes: the question comes back.
    asked = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Amy follows this conversation. Take it over?" in asked and "data-open-now" in asked
    conversation.refresh_from_db()
    assert conversation.assignee == amy
    client.post(url, {"takeover": "1"}, HTTP_HX_REQUEST="true")
    conversation.refresh_from_db()
    assert conversation.assignee == manager
    assert conversation.activities.filter(kind=ActivityKind.TAKEN_OVER, previous_assignee=amy).exists()
    assert AuditEntry.objects.filter(action="conversation.take_over", target_id=str(conversation.pk)).exists()


def test_close_and_reopen_from_the_header(workspace, line_account, amy, console_client):
    conversation = says(workspace, line_account)
    client = console_client(amy)
    closed = client.post(reverse("console:inbox_close", args=[conversation.pk]), HTTP_HX_REQUEST="true")
    assert "Reopen and follow" in closed.content.decode()
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.CLOSED
    client.post(reverse("console:inbox_follow", args=[conversation.pk]))  # without JavaScript: back to the page
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, amy)


def test_history_pages_back_and_picks_up_what_is_new(workspace, line_account, manager, console_client):
    identity = customer(workspace, line_account)
    start = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(hours=2)
    sent = [message(identity, f"message {n:02d}", at=start + datetime.timedelta(minutes=n)) for n in range(45)]
    conversation = Conversation.objects.get(identity=identity)
    client = console_client(manager)
    page = client.get(reverse("console:inbox_conversation", args=[conversation.pk])).content.decode()
    assert "message 44" in page and "message 05" in page and "message 04" not in page
    assert "Load earlier messages" in page
    thread = reverse("console:inbox_thread", args=[conversation.pk])
    earlier = client.get(thread, {"before": sent[5].pk}).content.decode()
    assert "message 00" in earlier and "message 04" in earlier and "message 05" not in earlier
    assert "beginning of the conversation" in earlier

    new = message(identity, "brand new")
    since = client.get(thread, {"after": sent[-1].pk, "after_activity": 0}).content.decode()
    assert "brand new" in since and "message 44" not in since
    Message.objects.filter(pk=new.pk).update(status=MessageStatus.RECEIVED)
    only = client.get(thread, {"only": new.pk}).content.decode()
    assert f'data-message-id="{new.pk}"' in only and only.count("data-message-id") == 1


def test_a_conversation_of_another_workspace_is_not_found(workspace, other_workspace, make_member, console_client):
    from tidings.channels.services import account_create

    account = account_create(workspace=other_workspace, actor=None, channel="line", name="Theirs")
    foreign = says(other_workspace, account)
    client = console_client(make_member(workspace, Role.ADMIN))
    for name in ("inbox_conversation", "inbox_thread", "inbox_header"):
        assert client.get(reverse(f"console:{name}", args=[foreign.pk])).status_code == 404
    for name in ("inbox_follow", "inbox_close", "inbox_read"):
        assert client.post(reverse(f"console:{name}", args=[foreign.pk])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.assignee is None and foreign.state == ConversationState.PENDING
