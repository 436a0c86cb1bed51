"""POST/GET /api/v1/events: shapes, 422s naming the field, all-or-nothing batches, permissions, dedupe."""

import pytest

from tidings.contacts.models import TrackingEvent, Visitor
from tidings.contacts.services import contact_create
from tidings.core.roles import Role


@pytest.fixture
def api(workspace, make_member, api_client):
    return api_client(make_member(workspace, Role.MARKETER))


@pytest.fixture
def mei(workspace):
    return contact_create(workspace=workspace, name="Mei", member_id="M-1")


def test_send_events_by_contact_member_and_visitor(api, mei):
    response = api.post("/api/v1/events", {"events": [
        {"type": "view_product", "contact_id": mei.pk, "properties": {"id": "P1"},
         "occurred_at": "2025-05-01T09:30:00+08:00"},
        {"type": "purchase", "member_id": "M-1", "properties": {"transaction_id": "O-1", "amount": 420}},
        {"type": "add_to_cart", "visitor_id": "v-abcdefgh12345678"},
    ]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stored"] == 3 and body["duplicates"] == 0 and len(body["ids"]) == 3
    first = TrackingEvent.objects.get(pk=body["ids"][0])
    assert (first.contact_id, first.source, first.occurred_at.isoformat()) == (mei.pk, "api", "2025-05-01T01:30:00+00:00")
    assert Visitor.objects.filter(visitor_id="v-abcdefgh12345678").exists()

    listed = api.get(f"/api/v1/events?contact_id={mei.pk}").json()
    assert listed["count"] == 2
    assert [e["type"] for e in listed["items"]] == ["purchase", "view_product"]
    assert listed["items"][0]["properties"] == {"transaction_id": "O-1", "amount": 420}
    by_visitor = api.get("/api/v1/events?visitor_id=v-abcdefgh12345678").json()
    assert by_visitor["items"][0]["visitor_id"] == "v-abcdefgh12345678"


def test_event_ids_make_retries_safe(api, mei):
    batch = {"events": [{"type": "checkout", "contact_id": mei.pk, "event_id": "chk-1"}]}
    assert api.post("/api/v1/events", batch).json()["stored"] == 1
    again = api.post("/api/v1/events", batch).json()
    assert (again["stored"], again["duplicates"], again["ids"]) == (0, 1, [])


@pytest.mark.parametrize("event, field", [
    ({"type": "page_view", "member_id": "M-1"}, "events.1.type"),
    ({"type": "purchase", "contact_id": 987654}, "events.1.contact_id"),
    ({"type": "purchase", "member_id": "M-404"}, "events.1.member_id"),
    ({"type": "purchase"}, "events.1.contact_id"),
    ({"type": "purchase", "visitor_id": "no"}, "events.1.visitor_id"),
    ({"type": "purchase", "member_id": "M-1", "occurred_at": "soon"}, "events.1.occurred_at"),
    ({"type": "purchase", "member_id": "M-1", "properties": "cheap"}, "events.1.properties"),
    ({"type": "purchase", "contact_id": "abc"}, "events.1.contact_id"),
    ({"member_id": "M-1"}, "events.1.type"),
])
def test_a_bad_item_refuses_the_batch_naming_its_field(api, mei, event, field):
    response = api.post("/api/v1/events", {"events": [{"type": "view_product", "member_id": "M-1"}, event]})
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json()["details"]]
    assert not TrackingEvent.objects.exists()


def test_every_bad_item_is_named(api, mei):
    response = api.post("/api/v1/events", {"events": [
        {"type": "nope", "member_id": "M-1"}, {"type": "purchase", "member_id": "M-1"},
        {"type": "purchase", "contact_id": 424242}]})
    assert [d["field"] for d in response.json()["details"]] == ["events.0.type", "events.2.contact_id"]


@pytest.mark.parametrize("count", [0, 101])
def test_batch_size_is_1_to_100(api, mei, count):
    response = api.post("/api/v1/events", {"events": [{"type": "view_product", "member_id": "M-1"}] * count})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "events"


def test_100_events_in_one_batch(api, mei):
    response = api.post("/api/v1/events", {"events": [{"type": "view_product", "member_id": "M-1"}] * 100})
    assert response.json()["stored"] == 100


def test_another_workspaces_contact_is_unknown(api, other_workspace):
    theirs = contact_create(workspace=other_workspace, name="Theirs", member_id="M-1")
    response = api.post("/api/v1/events", {"events": [{"type": "purchase", "contact_id": theirs.pk}]})
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "events.0.contact_id"
    response = api.post("/api/v1/events", {"events": [{"type": "purchase", "member_id": "M-1"}]})
    assert response.json()["details"][0]["field"] == "events.0.member_id"
    assert api.get(f"/api/v1/events?contact_id={theirs.pk}").status_code == 404


def test_roles_without_events_send_are_refused(workspace, make_member, api_client, mei):
    agent = api_client(make_member(workspace, Role.CS_AGENT))
    response = agent.post("/api/v1/events", {"events": [{"type": "purchase", "member_id": "M-1"}]})
    assert response.status_code == 403
    assert not TrackingEvent.objects.exists()


def test_unknown_visitor_in_listing_is_404(api):
    assert api.get("/api/v1/events?visitor_id=v-nobody-here-123").status_code == 404
