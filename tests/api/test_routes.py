"""The foundation routes do what they say, through the core services (so writes are audited)."""

import datetime

from tidings.core.models import AuditEntry, Membership
from tidings.core.roles import Role
from tidings.core.services import store_create
from tidings.timers.registry import timer_handler
from tidings.timers.services import timer_schedule


@timer_handler("test.api_list_probe")
def _list_probe(timer):  # pragma: no cover - these timers are only listed, never fired
    pass


def test_get_workspace(workspace, admin_api):
    body = admin_api.get("/api/v1/workspace").json()
    assert body["slug"] == "acme"
    assert body["name"] == "Acme Tea"
    assert body["time_zone"] == "Asia/Taipei"
    assert body["is_sandbox"] is True
    assert "coupons" in body["enabled_modules"]


def test_patch_workspace_changes_only_what_was_sent_and_audits(workspace, admin_api):
    response = admin_api.patch("/api/v1/workspace", {"name": "Acme Tea House", "time_zone": "Asia/Hong_Kong"})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Acme Tea House"
    workspace.refresh_from_db()
    assert (workspace.name, workspace.time_zone, workspace.currency) == ("Acme Tea House", "Asia/Hong_Kong", "TWD")
    entry = AuditEntry.objects.for_workspace(workspace).filter(action="workspace.update").get()
    assert entry.actor.memberships.filter(workspace=workspace, role=Role.ADMIN).exists()


def test_put_modules(workspace, admin_api):
    response = admin_api.put("/api/v1/workspace/modules", {"modules": ["omo", "coupons"]})
    assert response.status_code == 200
    assert response.json()["enabled_modules"] == ["coupons", "omo"]
    workspace.refresh_from_db()
    assert workspace.enabled_modules == ["coupons", "omo"]


def test_members_list_is_paginated(workspace, make_member, admin_api):
    for _ in range(4):
        make_member(workspace, Role.CS_AGENT)
    total = Membership.objects.for_workspace(workspace).count()
    page = admin_api.get("/api/v1/members?limit=2&offset=1").json()
    assert page["count"] == total
    assert len(page["items"]) == 2
    all_ids = [m["id"] for m in admin_api.get("/api/v1/members").json()["items"]]
    assert [m["id"] for m in page["items"]] == all_ids[1:3]


def test_members_list_filters(workspace, make_member, admin_api):
    make_member(workspace, Role.MARKETER, email="mia@acme.test")
    body = admin_api.get("/api/v1/members?role=marketer").json()
    assert [m["email"] for m in body["items"]] == ["mia@acme.test"]
    assert admin_api.get("/api/v1/members?q=mia@").json()["count"] == 1


def test_members_list_shows_only_this_workspace(workspace, other_workspace, make_member, admin_api):
    make_member(other_workspace, Role.ADMIN, email="boss@rival.test")
    emails = [m["email"] for m in admin_api.get("/api/v1/members").json()["items"]]
    assert "boss@rival.test" not in emails


def test_add_member_then_get_it(workspace, admin_api):
    store = store_create(workspace=workspace, actor=None, name="Main", code="M1")
    response = admin_api.post("/api/v1/members", {
        "email": "Sam@Acme.test", "name": "Sam", "role": "sales_person", "store_id": store.pk, "employee_code": "S-7",
    })
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "sam@acme.test"
    assert body["store"] == {"id": store.pk, "name": "Main", "code": "M1"}
    assert admin_api.get(f"/api/v1/members/{body['id']}").json() == body
    assert AuditEntry.objects.for_workspace(workspace).filter(action="member.add").exists()


def test_patch_member_role_and_active(workspace, make_member, admin_api):
    agent = make_member(workspace, Role.CS_AGENT)
    body = admin_api.patch(f"/api/v1/members/{agent.pk}", {"role": "cs_manager"}).json()
    assert body["role"] == "cs_manager"
    body = admin_api.patch(f"/api/v1/members/{agent.pk}", {"is_active": False}).json()
    assert body["is_active"] is False
    agent.refresh_from_db()
    assert (agent.role, agent.is_active) == (Role.CS_MANAGER, False)
    body = admin_api.patch(f"/api/v1/members/{agent.pk}", {"is_active": True}).json()
    assert body["is_active"] is True


def test_stores_crud(workspace, admin_api):
    created = admin_api.post("/api/v1/stores", {"name": "Causeway Bay", "code": "CWB"}).json()
    assert created["code"] == "CWB"
    assert admin_api.get(f"/api/v1/stores/{created['id']}").json()["name"] == "Causeway Bay"
    patched = admin_api.patch(f"/api/v1/stores/{created['id']}", {"code": "CWB-1"}).json()
    assert (patched["name"], patched["code"]) == ("Causeway Bay", "CWB-1")
    listed = admin_api.get("/api/v1/stores").json()
    assert listed["count"] == 1 and listed["items"][0]["code"] == "CWB-1"


def test_timers_lists_this_workspaces_pending_timers(workspace, other_workspace, admin_api):
    timer_schedule(workspace=workspace, kind="test.api_list_probe", key="mine", delay=datetime.timedelta(hours=1))
    timer_schedule(workspace=other_workspace, kind="test.api_list_probe", key="theirs", delay=datetime.timedelta(hours=1))
    body = admin_api.get("/api/v1/timers").json()
    assert body["count"] == 1
    assert body["items"][0]["key"] == "mine"
    assert body["items"][0]["kind"] == "test.api_list_probe"
