import pytest

from tidings.core.models import Membership, Store
from tidings.core.roles import Role


def assert_422(response, field=None):
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    for detail in body["details"]:
        assert set(detail) == {"field", "message"}
    if field is not None:
        assert body["details"][0]["field"] == field, body
    return body


def test_bad_email_on_post_members_is_422_and_creates_nobody(workspace, admin_api):
    before = Membership.objects.for_workspace(workspace).count()
    body = assert_422(admin_api.post("/api/v1/members", {"email": "not-an-email", "role": "cs_agent"}), "email")
    assert body["details"][0]["message"]
    assert Membership.objects.for_workspace(workspace).count() == before


def test_duplicate_member_is_422_on_email(workspace, admin_api):
    assert admin_api.post("/api/v1/members", {"email": "dup@acme.test", "role": "cs_agent"}).status_code == 201
    assert_422(admin_api.post("/api/v1/members", {"email": "dup@acme.test", "role": "marketer"}), "email")


def test_unknown_role_is_422_on_role(admin_api):
    assert_422(admin_api.post("/api/v1/members", {"email": "x@acme.test", "role": "wizard"}), "role")


def test_sales_role_without_store_is_422_on_store_id(admin_api):
    assert_422(admin_api.post("/api/v1/members", {"email": "s@acme.test", "role": "sales_person",
                                                  "employee_code": "E1"}), "store_id")


def test_store_of_another_workspace_is_422_on_store_id(workspace, other_workspace, admin_api):
    from tidings.core.services import store_create

    theirs = store_create(workspace=other_workspace, actor=None, name="Theirs", code="T1")
    assert_422(admin_api.post("/api/v1/members", {"email": "s@acme.test", "role": "sales_person",
                                                  "store_id": theirs.pk, "employee_code": "E1"}), "store_id")
    assert not Membership.objects.filter(user__email="s@acme.test").exists()


def test_missing_required_field_is_422(admin_api):
    assert_422(admin_api.post("/api/v1/members", {"role": "cs_agent"}), "email")


def test_unknown_time_zone_is_422_on_time_zone(workspace, admin_api):
    assert_422(admin_api.patch("/api/v1/workspace", {"time_zone": "Mars/Olympus_Mons"}), "time_zone")
    workspace.refresh_from_db()
    assert workspace.time_zone == "Asia/Taipei"


def test_over_long_name_is_422(admin_api):
    assert_422(admin_api.patch("/api/v1/workspace", {"name": "x" * 121}), "name")


def test_wrong_type_is_422(admin_api):
    assert_422(admin_api.patch("/api/v1/workspace", {"name": 42}), "name")
    assert_422(admin_api.patch("/api/v1/workspace", {"name": None}), "name")
    assert_422(admin_api.patch("/api/v1/members/not-a-number", {}))


def test_unknown_field_is_422(admin_api):
    assert_422(admin_api.patch("/api/v1/workspace", {"slug": "stolen"}), "slug")


def test_bad_currency_is_422_on_currency(admin_api):
    assert_422(admin_api.patch("/api/v1/workspace", {"currency": "twd"}), "currency")


def test_unknown_module_is_422_with_its_path(admin_api):
    assert_422(admin_api.put("/api/v1/workspace/modules", {"modules": ["coupons", "teleport"]}), "modules.1")


def test_bad_pagination_is_422(admin_api):
    assert_422(admin_api.get("/api/v1/members?limit=0"), "limit")
    assert_422(admin_api.get("/api/v1/members?limit=1000"), "limit")
    assert_422(admin_api.get("/api/v1/members?offset=-1"), "offset")


def test_store_code_clash_is_422_on_code(workspace, admin_api):
    assert admin_api.post("/api/v1/stores", {"name": "One", "code": "C1"}).status_code == 201
    assert_422(admin_api.post("/api/v1/stores", {"name": "Two", "code": "C1"}), "code")
    assert Store.objects.for_workspace(workspace).filter(code="C1").count() == 1


def test_malformed_json_is_a_json_error(admin_api):
    response = admin_api.client.post("/api/v1/stores", data="{not json", content_type="application/json",
                                      headers=admin_api.headers)
    assert response.status_code == 400
    assert response.json()["message"]


def test_last_admin_cannot_be_demoted(workspace, make_member, api_client):
    admin = make_member(workspace, Role.ADMIN)
    response = api_client(admin).patch(f"/api/v1/members/{admin.pk}", {"role": "marketer"})
    assert_422(response, "role")
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_a_failed_patch_applies_nothing(workspace, make_member, api_client):
    admin = make_member(workspace, Role.ADMIN)
    agent = make_member(workspace, Role.CS_AGENT)
    # The role change is valid, the self-deactivation is not: neither happens.
    response = api_client(admin).patch(f"/api/v1/members/{admin.pk}", {"role": "admin", "is_active": False})
    assert response.status_code == 422
    response = api_client(admin).patch(f"/api/v1/members/{agent.pk}", {"role": "sales_person"})
    assert_422(response, "store_id")
    agent.refresh_from_db()
    assert agent.role == Role.CS_AGENT


@pytest.mark.django_db
def test_server_error_is_logged_json_500(admin_api, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    # /me reads the token's workspace slug; make that blow up.
    monkeypatch.setattr("tidings.core.models.Workspace.slug", property(boom), raising=False)
    with caplog.at_level("ERROR", logger="tidings.api"):
        response = admin_api.get("/api/v1/me")
    assert response.status_code == 500
    assert response.json()["message"]
    assert "kaboom" not in response.content.decode()
    assert any("Unhandled error" in r.getMessage() for r in caplog.records)
