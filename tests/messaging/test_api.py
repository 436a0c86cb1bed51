"""POST /api/v1/messages and GET /api/v1/messages/{message_id}: the public contract the external suite uses."""

import pytest

from tidings.contacts.models import ChannelIdentity, Contact
from tidings.core.roles import Role
from tidings.messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customer(workspace, probe_account, make_recipient):
    contact, _ = make_recipient(probe_account, "u-api")
    return contact


def test_send_then_read_back_with_events(workspace, admin, api_client, customer, probe):
    api = api_client(admin)
    response = api.post("/api/v1/messages", {"contact_id": customer.pk, "channel": "probe", "messages": [
        {"type": "text", "text": "Hello"}, {"type": "text", "text": "again"}]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert [m["status"] for m in body["messages"]] == ["queued", "queued"]
    first = body["messages"][0]["id"]
    stored = Message.objects.get(pk=first)
    assert stored.purpose == "api" and stored.source.startswith("api-token:")

    response = api.get(f"/api/v1/messages/{first}")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"id", "status", "channel", "events", "error"}
    assert data["id"] == first and data["status"] == "sent" and data["channel"] == "probe" and data["error"] is None
    assert [e["kind"] for e in data["events"]] == ["queued", "sent"]
    assert all(set(e) == {"kind", "at"} for e in data["events"])
    customer.refresh_from_db()
    assert customer.last_team_interaction_at is not None


def test_unknown_or_foreign_contact_is_404(workspace, other_workspace, admin, api_client, probe_account):
    api = api_client(admin)
    foreign = Contact.objects.create(workspace=other_workspace, name="Theirs")
    for contact_id in (999_999, foreign.pk):
        response = api.post("/api/v1/messages", {"contact_id": contact_id, "channel": "probe",
                                                 "messages": [{"type": "text", "text": "x"}]})
        assert response.status_code == 404, response.content
    assert api.get("/api/v1/messages/999999").status_code == 404


def test_invalid_content_is_422_with_the_field_path(workspace, admin, api_client, line_account):
    contact = Contact.objects.create(workspace=workspace, name="LINE friend")
    ChannelIdentity.objects.create(workspace=workspace, contact=contact, channel="line", account=line_account,
                                   external_id="U" + "a" * 32, subscribed=True)
    api = api_client(admin)
    response = api.post("/api/v1/messages", {"contact_id": contact.pk, "channel": "line",
                                             "messages": [{"type": "text", "text": "x" * 5001}]})
    assert response.status_code == 422, response.content
    assert response.json()["details"][0]["field"] == "messages[0].text"
    response = api.post("/api/v1/messages", {"contact_id": contact.pk, "channel": "line",
                                             "messages": [{"type": "text", "text": "ok"}, {"type": "sticker"}]})
    assert response.status_code == 422 and response.json()["details"][0]["field"].startswith("messages[1]")
    response = api.post("/api/v1/messages", {"contact_id": contact.pk, "channel": "line", "messages": []})
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "messages"
    assert not Message.objects.exists()


def test_no_identity_on_the_channel_is_422_on_channel(workspace, admin, api_client, line_account):
    contact = Contact.objects.create(workspace=workspace, name="No LINE")
    response = api_client(admin).post("/api/v1/messages", {"contact_id": contact.pk, "channel": "line",
                                                           "messages": [{"type": "text", "text": "x"}]})
    assert response.status_code == 422
    assert response.json()["details"] == [{"field": "channel",
                                           "message": "This customer has no LINE account connected."}]


def test_marketer_may_not_use_the_messages_api(workspace, make_member, api_client, customer, probe):
    api = api_client(make_member(workspace, Role.MARKETER))
    response = api.post("/api/v1/messages", {"contact_id": customer.pk, "channel": "probe",
                                             "messages": [{"type": "text", "text": "x"}]})
    assert response.status_code == 403
