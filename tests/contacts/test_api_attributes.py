"""The custom attributes API: defining typed fields, who may, and what happens to contacts' values."""

import pytest

from tidings.contacts.models import Contact, CustomAttribute
from tidings.contacts.services import contact_create
from tidings.core.roles import Role


@pytest.fixture
def marketer(workspace, make_member, api_client):
    return api_client(make_member(workspace, Role.MARKETER))


def test_marketer_defines_and_edits_attributes(workspace, marketer):
    response = marketer.post("/api/v1/custom-attributes", {"key": "tier", "name": "Tier", "type": "choice",
                                                           "choices": ["gold", "silver"]})
    assert response.status_code == 201, response.content
    tier = response.json()
    assert (tier["key"], tier["type"], tier["choices"]) == ("tier", "choice", ["gold", "silver"])

    listed = marketer.get("/api/v1/custom-attributes").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == tier["id"]
    assert marketer.get(f"/api/v1/custom-attributes/{tier['id']}").json()["name"] == "Tier"

    patched = marketer.patch(f"/api/v1/custom-attributes/{tier['id']}", {"name": "Level",
                                                                         "choices": ["gold", "silver", "bronze"]})
    assert patched.status_code == 200 and patched.json()["choices"] == ["gold", "silver", "bronze"]
    created = marketer.post("/api/v1/contacts", {"name": "Mei", "attributes": {"tier": "bronze"}})
    assert created.status_code == 201 and created.json()["attributes"] == {"tier": "bronze"}


@pytest.mark.parametrize("role", [Role.CS_AGENT, Role.CS_MANAGER, Role.SALES_PERSON])
def test_roles_without_attributes_edit_may_not_define(workspace, make_member, api_client, role):
    client = api_client(make_member(workspace, role))
    response = client.post("/api/v1/custom-attributes", {"key": "tier", "name": "Tier", "type": "text"})
    assert response.status_code == 403
    assert not CustomAttribute.objects.exists()


def test_reading_definitions_needs_contacts_view(workspace, make_member, api_client):
    assert api_client(make_member(workspace, Role.CS_MANAGER)).get("/api/v1/custom-attributes").status_code == 200
    assert api_client(make_member(workspace, Role.CS_AGENT)).get("/api/v1/custom-attributes").status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"key": "Tier Level", "name": "Tier", "type": "text"}, "key"),
    ({"key": "tier", "name": "Tier", "type": "colour"}, "type"),
    ({"key": "tier", "name": "", "type": "text"}, "name"),
    ({"key": "tier", "name": "Tier", "type": "choice"}, "choices"),
    ({"key": "tier", "name": "Tier"}, "type"),
])
def test_bad_definitions_are_422s(marketer, body, field):
    response = marketer.post("/api/v1/custom-attributes", body)
    assert response.status_code == 422, response.content
    assert field in [d["field"] for d in response.json()["details"]]


def test_type_is_fixed_once_contacts_have_values(workspace, marketer):
    visits = marketer.post("/api/v1/custom-attributes", {"key": "visits", "name": "Visits", "type": "text"}).json()
    assert marketer.patch(f"/api/v1/custom-attributes/{visits['id']}", {"type": "number"}).status_code == 200
    contact_create(workspace=workspace, attributes={"visits": "3"})
    response = marketer.patch(f"/api/v1/custom-attributes/{visits['id']}", {"type": "date"})
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "type"


def test_delete_removes_every_value(workspace, marketer):
    tier = marketer.post("/api/v1/custom-attributes", {"key": "tier", "name": "Tier", "type": "text"}).json()
    contact = contact_create(workspace=workspace, attributes={"tier": "gold"})
    assert marketer.delete(f"/api/v1/custom-attributes/{tier['id']}").status_code == 204
    assert Contact.objects.get(pk=contact.pk).attributes == {}
    assert marketer.get(f"/api/v1/custom-attributes/{tier['id']}").status_code == 404
