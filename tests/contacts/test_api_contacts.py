"""The contacts API: shapes an external client relies on, filters, 422s naming the field, roles, merges."""

import pytest

from tidings.contacts.models import Contact, ContactMerge
from tidings.contacts.services import (
    contact_create,
    contact_set_bound,
    contacts_merge,
    custom_attribute_create,
    identity_set_subscribed,
    identity_upsert,
)
from tidings.core.roles import Role


@pytest.fixture
def client(workspace, admin, api_client):
    return api_client(admin)


def _field(response):
    assert response.status_code == 422, response.content
    return [d["field"] for d in response.json()["details"]]


def test_create_and_read_a_contact(workspace, client):
    custom_attribute_create(workspace=workspace, key="birthday", name="Birthday", type="date")
    response = client.post("/api/v1/contacts", {"name": "Mei", "phone": "6123 4567", "email": "mei@example.com",
                                                "member_id": "M-1"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["id"] and created["phone"] == "+85261234567" and created["member_id"] == "M-1"

    patched = client.patch(f"/api/v1/contacts/{created['id']}", {"attributes": {"birthday": "1990-02-03"}})
    assert patched.status_code == 200, patched.content
    body = client.get(f"/api/v1/contacts/{created['id']}").json()
    assert body["attributes"] == {"birthday": "1990-02-03"}
    assert body["binding"] == {"bound": False, "bound_at": None}
    assert body["identities"] == [] and body["tags"] == [] and body["visitors"] == []
    assert {"last_customer_interaction_at", "last_team_interaction_at", "last_marketing_at"} <= set(body)


def test_profile_shows_identities_tags_binding(workspace, client, line_account):
    identity, _ = identity_upsert(workspace=workspace, account=line_account, external_id="U" + "b" * 32,
                                  display_name="Mei")
    identity_set_subscribed(identity=identity, subscribed=True)
    contact_set_bound(contact=identity.contact)
    client.post(f"/api/v1/contacts/{identity.contact_id}/tags", {"tags": ["vip", "tea"]})

    body = client.get(f"/api/v1/contacts/{identity.contact_id}").json()
    [line] = body["identities"]
    assert (line["channel"], line["account"]["id"], line["external_id"], line["display_name"], line["subscribed"]) == (
        "line", line_account.pk, "U" + "b" * 32, "Mei", True)
    assert body["tags"] == ["tea", "vip"]
    assert body["binding"]["bound"] is True and body["binding"]["bound_at"]


def test_tags_add_and_remove(workspace, client):
    contact = contact_create(workspace=workspace, tags=["old"])
    added = client.post(f"/api/v1/contacts/{contact.pk}/tags", {"tags": ["vip"]})
    assert added.status_code == 200 and added.json()["tags"] == ["old", "vip"]
    removed = client.client.delete(f"/api/v1/contacts/{contact.pk}/tags", data={"tags": ["vip"]},
                                   content_type="application/json", headers=client.headers)
    assert removed.status_code == 200, removed.content
    assert removed.json()["tags"] == ["old"]
    assert client.delete(f"/api/v1/contacts/{contact.pk}/tags?tag=old").json()["tags"] == []
    assert _field(client.post(f"/api/v1/contacts/{contact.pk}/tags", {"tags": ["x" * 101]})) == ["tags"]


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "123"}, "phone"),
    ({"email": "nope"}, "email"),
    ({"attributes": {"unknown": 1}}, "attributes.unknown"),
    ({"attributes": {"birthday": "yesterday"}}, "attributes.birthday"),
    ({"attributes": {"vip": "maybe"}}, "attributes.vip"),
    ({"nickname": "x"}, "nickname"),
])
def test_bad_input_is_a_422_naming_the_field(workspace, client, body, field):
    custom_attribute_create(workspace=workspace, key="birthday", name="Birthday", type="date")
    custom_attribute_create(workspace=workspace, key="vip", name="VIP", type="boolean")
    assert field in _field(client.post("/api/v1/contacts", body))
    contact = contact_create(workspace=workspace, name="Mei")
    assert field in _field(client.patch(f"/api/v1/contacts/{contact.pk}", body))
    assert Contact.objects.get(pk=contact.pk).attributes == {} and Contact.objects.count() == 1


def test_member_id_conflict_is_a_422(workspace, client):
    contact_create(workspace=workspace, member_id="M-1")
    assert _field(client.post("/api/v1/contacts", {"member_id": "M-1"})) == ["member_id"]


def test_list_filters_and_pages(workspace, client, line_account):
    friend, _ = identity_upsert(workspace=workspace, account=line_account, external_id="U" + "c" * 32,
                                display_name="Lin")
    identity_set_subscribed(identity=friend, subscribed=True)
    contact_set_bound(contact=friend.contact)
    for n in range(3):
        contact_create(workspace=workspace, name=f"Shopper {n}", tags=["web"])

    page = client.get("/api/v1/contacts?limit=2&offset=0").json()
    assert page["count"] == 4 and len(page["items"]) == 2
    assert page["items"][0]["name"] == "Shopper 2"  # newest first

    def names(query):
        return sorted(c["name"] for c in client.get(f"/api/v1/contacts?{query}").json()["items"])

    assert names("q=shopper 1") == ["Shopper 1"]
    assert names("tag=web") == ["Shopper 0", "Shopper 1", "Shopper 2"]
    assert names("channel=line") == ["Lin"]
    assert names("subscribed=true") == ["Lin"]
    assert names("bound=true") == ["Lin"]
    assert names("bound=false&tag=web&q=2") == ["Shopper 2"]
    assert _field(client.get("/api/v1/contacts?channel=fax")) == ["channel"]


def test_a_merged_contacts_id_leads_to_the_kept_one(workspace, client):
    kept = contact_create(workspace=workspace, name="Kept")
    merged = contact_create(workspace=workspace, name="Merged", tags=["web"])
    contacts_merge(workspace=workspace, kept=kept, merged=merged, reason="manual")
    body = client.get(f"/api/v1/contacts/{merged.pk}").json()
    assert (body["id"], body["tags"]) == (kept.pk, ["web"])
    assert [c["id"] for c in client.get("/api/v1/contacts").json()["items"]] == [kept.pk]
    assert client.get("/api/v1/contacts/999999").status_code == 404


def test_merge_and_undo_over_the_api(workspace, admin, make_member, api_client):
    kept = contact_create(workspace=workspace, name="Kept")
    merged = contact_create(workspace=workspace, name="Merged", email="m@example.com")
    marketer = api_client(make_member(workspace, Role.MARKETER))
    assert marketer.post(f"/api/v1/contacts/{kept.pk}/merge", {"merged_id": merged.pk}).status_code == 403

    client = api_client(admin)
    response = client.post(f"/api/v1/contacts/{kept.pk}/merge", {"merged_id": merged.pk})
    assert response.status_code == 201, response.content
    merge = response.json()
    assert (merge["kept"]["id"], merge["merged"]["id"], merge["reason"]) == (kept.pk, merged.pk, "manual")
    assert client.get(f"/api/v1/contacts/{kept.pk}").json()["email"] == "m@example.com"
    assert [m["id"] for m in client.get(f"/api/v1/contacts/{kept.pk}/merges").json()] == [merge["id"]]
    assert _field(client.post(f"/api/v1/contacts/{kept.pk}/merge", {"merged_id": merged.pk})) == ["merged_id"]

    assert marketer.post(f"/api/v1/contact-merges/{merge['id']}/undo").status_code == 403
    undone = client.post(f"/api/v1/contact-merges/{merge['id']}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert client.get(f"/api/v1/contacts/{kept.pk}").json()["email"] == ""
    assert client.get(f"/api/v1/contacts/{merged.pk}").json()["id"] == merged.pk
    assert _field(client.post(f"/api/v1/contact-merges/{merge['id']}/undo")) == ["merge"]
    assert ContactMerge.objects.get().undone_by == admin


@pytest.mark.parametrize(("role", "view", "edit"), [
    (Role.ADMIN, True, True),
    (Role.MARKETER, True, True),
    (Role.CS_MANAGER, True, True),
    (Role.CS_AGENT, False, True),
    (Role.SALES_PERSON, False, False),
])
def test_roles(workspace, make_member, api_client, role, view, edit):
    contact = contact_create(workspace=workspace, name="Mei")
    client = api_client(make_member(workspace, role))
    assert (client.get("/api/v1/contacts").status_code == 200) is view
    assert (client.get(f"/api/v1/contacts/{contact.pk}").status_code == 200) is view
    assert (client.post("/api/v1/contacts", {"name": "New"}).status_code == 201) is edit
    assert (client.patch(f"/api/v1/contacts/{contact.pk}", {"name": "Lin"}).status_code == 200) is edit
    assert (client.post(f"/api/v1/contacts/{contact.pk}/tags", {"tags": ["vip"]}).status_code == 200) is edit
    assert (Contact.objects.get(pk=contact.pk).name == "Lin") is edit
