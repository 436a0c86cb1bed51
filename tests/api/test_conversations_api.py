"""The conversations API (issue 6): the inbox list and its filters, one conversation and its history, replies,
follow and takeover (409 naming the follower), close, and new WhatsApp conversations by phone (CS roles only);
another workspace's conversation is a 404 on every route."""

import re

import pytest

from tests.support import cross_workspace as xws
from tidings.api.permissions import api_routes
from tidings.contacts.services import contact_update, tags_add
from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.inbox import selectors as inbox_selectors
from tidings.inbox.models import ActivityKind, Conversation
from tidings.inbox.services import conversation_follow
from tidings.sandbox.personas import persona_act

from ..inbox.cross_workspace_factories import REPLY_BODY, make_conversation
from ..sandbox.persona_support import *  # noqa: F403

# The personas' webhooks come back in-process, inside the request that sent them.
pytestmark = pytest.mark.django_db(transaction=True)

LIST = "/api/v1/conversations"


def customer_says(workspace, persona, text, channel="line"):
    persona_act(workspace=workspace, persona=persona, action="send", channel=channel, text=text)
    return Conversation.objects.get(contact=persona.contact, channel=channel)


@pytest.fixture
def amy(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Amy", email="amy@acme.test")


@pytest.fixture
def ben(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Ben", email="ben@acme.test")


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_list_and_get_show_the_conversation_as_the_inbox_does(workspace, new_persona, admin_api):
    persona = new_persona(name="陳美玲")
    conversation = customer_says(workspace, persona, "Do you have oolong?")
    body = admin_api.get(LIST).json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item == admin_api.get(f"{LIST}/{conversation.pk}").json()
    assert item["state"] == "pending" and item["channel"] == "line"
    assert item["account"] == {"id": conversation.account_id, "name": "Acme LINE OA"}
    assert item["contact"] == {"id": persona.contact.pk, "name": "陳美玲", "phone": persona.contact.phone}
    assert item["assignee"] is None
    assert (item["last_message_preview"], item["unread_count"], item["closed_at"]) == ("Do you have oolong?", 1, None)


def test_filters_by_state_channel_assignee_tag_and_search(workspace, new_persona, admin, api_client, amy):
    admin_api = api_client(admin)
    mei = customer_says(workspace, new_persona(name="陳美玲"), "hi")
    tony = customer_says(workspace, new_persona(name="Tony Wong"), "hello")
    free = customer_says(workspace, new_persona(name="Grace Lee"), "anyone?")
    conversation_follow(conversation=mei, membership=amy)
    conversation_follow(conversation=tony, membership=admin)
    tags_add(workspace=workspace, contact_ids=[tony.contact_id], names=["VIP"])

    assert ids(admin_api.get(LIST)) == [free.pk, tony.pk, mei.pk]  # most recent first
    assert set(ids(admin_api.get(f"{LIST}?state=in_progress"))) == {mei.pk, tony.pk}
    assert ids(admin_api.get(f"{LIST}?state=pending")) == [free.pk]
    assert ids(admin_api.get(f"{LIST}?state=closed")) == []
    assert ids(admin_api.get(f"{LIST}?assignee=me")) == [tony.pk]
    assert ids(admin_api.get(f"{LIST}?assignee=unassigned")) == [free.pk]
    assert ids(admin_api.get(f"{LIST}?assignee={amy.pk}")) == [mei.pk]
    assert len(ids(admin_api.get(f"{LIST}?channel=line"))) == 3
    assert ids(admin_api.get(f"{LIST}?channel=whatsapp")) == []
    assert ids(admin_api.get(f"{LIST}?tag=VIP")) == [tony.pk]
    assert ids(admin_api.get(f"{LIST}?q=wong")) == [tony.pk]
    assert ids(admin_api.get(f"{LIST}?q=美玲&state=in_progress")) == [mei.pk]

    page = admin_api.get(f"{LIST}?limit=1&offset=1").json()
    assert (page["count"], [i["id"] for i in page["items"]]) == (3, [tony.pk])


@pytest.mark.parametrize("cap", [1000, 0], ids=["few matches, by id", "common term, while reading the list"])
def test_search_by_name_phone_email_or_chat_display_name(cap, monkeypatch, workspace, new_persona, admin_api):
    monkeypatch.setattr(inbox_selectors, "SEARCH_ID_CAP", cap)
    mei = customer_says(workspace, new_persona(name="陳美玲", phone="+85261230001"), "hi")
    tony = customer_says(workspace, new_persona(name="Tony Wong", phone="+85261239999"), "hello")
    contact_update(workspace=workspace, contact=tony.contact, email="tony@example.com")
    contact_update(workspace=workspace, contact=mei.contact, name="Mei Chan")  # LINE still calls her 陳美玲
    assert ids(admin_api.get(f"{LIST}?q=美玲")) == [mei.pk]
    assert ids(admin_api.get(f"{LIST}?q=mei chan")) == [mei.pk]
    assert ids(admin_api.get(f"{LIST}?q=TONY@EXAMPLE")) == [tony.pk]
    assert ids(admin_api.get(f"{LIST}?q=6123")) == [tony.pk, mei.pk]
    assert ids(admin_api.get(f"{LIST}?q=9999&state=pending")) == [tony.pk]
    assert admin_api.get(f"{LIST}?q=nobody").json() == {"items": [], "count": 0}


def test_bad_filters_are_a_422_naming_the_field(admin_api):
    for query, field in [("assignee=somebody", "assignee"), ("state=open", "state"), ("channel=fax", "channel"),
                         ("limit=0", "limit")]:
        response = admin_api.get(f"{LIST}?{query}")
        assert response.status_code == 422, query
        assert [d["field"] for d in response.json()["details"]] == [field]


def test_an_agent_sees_their_own_and_unassigned_conversations_only(workspace, new_persona, amy, ben, api_client):
    mine = customer_says(workspace, new_persona(), "a")
    bens = customer_says(workspace, new_persona(), "b")
    free = customer_says(workspace, new_persona(), "c")
    conversation_follow(conversation=mine, membership=amy)
    conversation_follow(conversation=bens, membership=ben)
    client = api_client(amy)
    assert set(ids(client.get(LIST))) == {mine.pk, free.pk}
    assert client.get(LIST).json()["count"] == 2
    for path in (f"{LIST}/{bens.pk}", f"{LIST}/{bens.pk}/messages"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"{LIST}/{bens.pk}/messages", REPLY_BODY).status_code == 404
    assert client.post(f"{LIST}/{bens.pk}/close").status_code == 404
    bens.refresh_from_db()
    assert bens.state == "in_progress" and bens.assignee == ben


def test_history_is_oldest_first_with_ticks_and_pages_back_with_before(workspace, new_persona, admin_api):
    persona = new_persona()
    conversation = customer_says(workspace, persona, "one")
    customer_says(workspace, persona, "two")
    sent = admin_api.post(f"{LIST}/{conversation.pk}/messages", {"messages": [{"type": "text", "text": "three"}]})
    assert sent.status_code == 201, sent.content
    customer_says(workspace, persona, "four")

    history = admin_api.get(f"{LIST}/{conversation.pk}/messages").json()
    assert [(m["direction"], m["content"]["text"]) for m in history["items"]] == [
        ("in", "one"), ("in", "two"), ("out", "three"), ("in", "four")]
    assert history["has_more"] is False
    reply = history["items"][2]
    assert reply["id"] == sent.json()["messages"][0]["id"]
    assert reply["status"] in ("sent", "delivered") and reply["channel"] == "line"
    assert [e["kind"] for e in reply["events"]][:2] == ["queued", "sent"]
    # The same message as GET /api/v1/messages/{id} shows it, plus direction, content and time.
    single = admin_api.get(f"/api/v1/messages/{reply['id']}").json()
    assert {k: reply[k] for k in single} == single

    latest = admin_api.get(f"{LIST}/{conversation.pk}/messages?limit=2").json()
    assert [m["content"]["text"] for m in latest["items"]] == ["three", "four"] and latest["has_more"] is True
    older = admin_api.get(f"{LIST}/{conversation.pk}/messages?limit=2&before={latest['items'][0]['id']}").json()
    assert [m["content"]["text"] for m in older["items"]] == ["one", "two"] and older["has_more"] is False


def test_a_reply_goes_out_and_makes_the_caller_follow(workspace, new_persona, amy, api_client):
    persona = new_persona()
    conversation = customer_says(workspace, persona, "hi")
    response = api_client(amy).post(f"{LIST}/{conversation.pk}/messages",
                                    {"messages": [{"type": "text", "text": "Hello from Acme"}]})
    assert response.status_code == 201, response.content
    assert [m["status"] for m in response.json()["messages"]] == ["queued"]
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == ("in_progress", amy)
    assert conversation.last_message_preview == "Hello from Acme"
    assert persona.contact.messages.filter(direction="out", content__text="Hello from Acme").exists()


def test_invalid_reply_content_is_a_422_naming_the_field(workspace, new_persona, admin_api):
    conversation = customer_says(workspace, new_persona(), "hi")
    response = admin_api.post(f"{LIST}/{conversation.pk}/messages", {"messages": [{"type": "text", "text": ""}]})
    assert response.status_code == 422, response.content
    assert response.json()["details"][0]["field"].startswith("messages[0]")
    assert admin_api.post(f"{LIST}/{conversation.pk}/messages", {"messages": []}).status_code == 422
    assert not conversation.contact.messages.filter(direction="out").exists()


def test_follow_someone_elses_conversation_needs_takeover(workspace, new_persona, amy, ben, api_client):
    conversation = customer_says(workspace, new_persona(), "hi")
    followed = api_client(amy).post(f"{LIST}/{conversation.pk}/follow")
    assert followed.status_code == 200, followed.content
    assert followed.json()["state"] == "in_progress"
    assert followed.json()["assignee"] == {"id": amy.pk, "name": "Amy", "email": "amy@acme.test"}

    as_ben = api_client(ben)
    refused = as_ben.post(f"{LIST}/{conversation.pk}/follow", {"takeover": False})
    assert refused.status_code == 409
    body = refused.json()
    assert "Amy" in body["message"] and "follows this conversation" in body["message"]
    assert body["follower"] == {"id": amy.pk, "name": "Amy", "email": "amy@acme.test"}
    assert body["conversation_id"] == conversation.pk
    conversation.refresh_from_db()
    assert conversation.assignee == amy

    taken = as_ben.post(f"{LIST}/{conversation.pk}/follow", {"takeover": True})
    assert taken.status_code == 200, taken.content
    assert taken.json()["assignee"]["id"] == ben.pk
    activity = conversation.activities.get(kind=ActivityKind.TAKEN_OVER)
    assert (activity.previous_assignee, activity.assignee) == (amy, ben)
    assert AuditEntry.objects.filter(action="conversation.take_over", target_id=str(conversation.pk)).exists()


def test_follow_without_a_body_then_close(workspace, new_persona, amy, api_client):
    conversation = customer_says(workspace, new_persona(), "hi")
    client = api_client(amy)
    # The follow body is optional: a bare POST follows.
    followed = client.client.generic("POST", f"{LIST}/{conversation.pk}/follow", headers=client.headers)
    assert followed.status_code == 200 and followed.json()["assignee"]["id"] == amy.pk
    closed = client.post(f"{LIST}/{conversation.pk}/close")
    assert closed.status_code == 200, closed.content
    assert closed.json()["state"] == "closed" and closed.json()["closed_at"]
    assert ids(client.get(f"{LIST}?state=closed")) == [conversation.pk]


def test_start_a_whatsapp_conversation_by_phone(workspace, whatsapp_account, amy, ben, api_client):
    as_amy = api_client(amy)
    started = as_amy.post(f"{LIST}/whatsapp", {"phone": "6123 4567", "name": "陳大文"})
    assert started.status_code == 201, started.content
    body = started.json()
    assert body["channel"] == "whatsapp" and body["state"] == "in_progress"
    assert body["contact"]["name"] == "陳大文" and body["contact"]["phone"] == "+85261234567"
    assert body["assignee"]["id"] == amy.pk
    again = as_amy.post(f"{LIST}/whatsapp", {"phone": "+852 6123 4567"})
    assert (again.status_code, again.json()["id"]) == (200, body["id"])

    as_ben = api_client(ben)
    refused = as_ben.post(f"{LIST}/whatsapp", {"phone": "+85261234567"})
    assert refused.status_code == 409
    assert refused.json()["follower"]["id"] == amy.pk and refused.json()["conversation_id"] == body["id"]
    taken = as_ben.post(f"{LIST}/whatsapp", {"phone": "+85261234567", "takeover": True})
    assert (taken.status_code, taken.json()["assignee"]["id"]) == (200, ben.pk)

    taiwan = as_amy.post(f"{LIST}/whatsapp", {"phone": "0912 345 678", "country": "TW"})
    assert taiwan.status_code == 201 and taiwan.json()["contact"]["phone"] == "+886912345678"
    assert taiwan.json()["contact"]["name"] == "+886912345678"  # no name: the number


def test_a_bad_number_is_a_422_on_phone(whatsapp_account, amy, api_client):
    for phone in ("12", "", "not a phone"):
        response = api_client(amy).post(f"{LIST}/whatsapp", {"phone": phone})
        assert response.status_code == 422, phone
        assert [d["field"] for d in response.json()["details"]] == ["phone"]


def test_the_first_whatsapp_message_outside_the_window_must_be_a_template(whatsapp_account, amy, api_client):
    client = api_client(amy)
    conversation_id = client.post(f"{LIST}/whatsapp", {"phone": "+85261234567"}).json()["id"]
    response = client.post(f"{LIST}/{conversation_id}/messages", {"messages": [{"type": "text", "text": "Hi!"}]})
    assert response.status_code == 422
    assert "template" in response.json()["message"].lower()
    assert response.json()["details"][0]["field"].startswith("messages")


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SALES_PERSON, Role.MARKETER])
def test_a_non_cs_role_cannot_start_whatsapp_conversations(role, workspace, whatsapp_account, make_member,
                                                           api_client):
    response = api_client(make_member(workspace, role)).post(f"{LIST}/whatsapp", {"phone": "+85261234567"})
    assert response.status_code == 403
    assert response.json()["message"].startswith("Your role may not")
    assert not Conversation.objects.for_workspace(workspace).exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.CS_MANAGER, Role.CS_AGENT])
def test_every_cs_role_can_start_one(role, workspace, whatsapp_account, make_member, api_client):
    response = api_client(make_member(workspace, role)).post(f"{LIST}/whatsapp", {"phone": "+85261234567"})
    assert response.status_code == 201, response.content


CONVERSATION_ROUTES = [r for r in api_routes() if "{conversation_id}" in r.path]


def test_every_conversation_route_is_covered():
    assert {(r.method, r.path.removeprefix(LIST)) for r in CONVERSATION_ROUTES} == {
        ("GET", "/{conversation_id}"), ("GET", "/{conversation_id}/messages"),
        ("POST", "/{conversation_id}/messages"), ("POST", "/{conversation_id}/follow"),
        ("POST", "/{conversation_id}/close"),
    }


@pytest.mark.parametrize("route", CONVERSATION_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_another_workspaces_conversation_is_a_404_on_every_route(route, workspace, other_workspace, admin_api):
    theirs = make_conversation(other_workspace)
    before = xws.snapshot(theirs)
    path = re.sub(r"{conversation_id}", str(theirs.pk), route.path)
    if route.method == "GET":
        response = admin_api.get(path)
    else:
        response = admin_api.post(path, xws.REQUEST_BODIES.get((route.method, route.path), {"takeover": True}))
    assert response.status_code == 404, response.content
    assert response.json() == {"message": "Not found", "details": []}
    assert xws.snapshot(theirs) == before
    assert not theirs.contact.messages.exists()


def test_another_workspaces_conversation_is_not_listed(workspace, other_workspace, admin_api):
    make_conversation(other_workspace)
    assert admin_api.get(LIST).json() == {"items": [], "count": 0}
