import pytest

from tidings.core.roles import Role
from tidings.core.services import api_token_create, api_token_revoke, member_set_active
from tests.conftest import ApiClient


def assert_401(response):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["message"]
    assert body["details"] == []
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_no_token_is_401():
    assert_401(ApiClient(None).get("/api/v1/me"))


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["garbage", "tid_not-a-real-token", "tid_", ""])
def test_garbage_token_is_401(raw):
    client = ApiClient(None)
    client.headers = {"Authorization": f"Bearer {raw}"}
    assert_401(client.get("/api/v1/me"))


@pytest.mark.django_db
def test_wrong_scheme_is_401(workspace, admin):
    _token, raw = api_token_create(workspace=workspace, actor=None, membership=admin, name="t")
    client = ApiClient(None)
    client.headers = {"Authorization": f"Token {raw}"}
    assert_401(client.get("/api/v1/me"))


def test_revoked_token_is_401(workspace, admin):
    token, raw = api_token_create(workspace=workspace, actor=None, membership=admin, name="t")
    client = ApiClient(raw)
    assert client.get("/api/v1/me").status_code == 200
    api_token_revoke(workspace=workspace, actor=None, token=token)
    assert_401(client.get("/api/v1/me"))


def test_token_of_deactivated_member_is_401(workspace, admin, make_member):
    agent = make_member(workspace, Role.CS_AGENT)
    _token, raw = api_token_create(workspace=workspace, actor=None, membership=agent, name="t")
    client = ApiClient(raw)
    assert client.get("/api/v1/me").status_code == 200
    member_set_active(workspace=workspace, actor=admin.user, membership=agent, active=False)
    assert_401(client.get("/api/v1/me"))


def test_writes_are_401_without_token_and_change_nothing(workspace):
    response = ApiClient(None).patch("/api/v1/workspace", {"name": "Hijacked"})
    assert_401(response)
    workspace.refresh_from_db()
    assert workspace.name == "Acme Tea"


def test_me_returns_the_token_owner(workspace, make_member, api_client):
    member = make_member(workspace, Role.MARKETER, email="mia@acme.test", name="Mia")
    response = api_client(member).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["workspace"] == "acme"
    assert body["email"] == "mia@acme.test"
    assert body["role"] == "marketer"
    assert body["name"] == "Mia"


def test_token_acts_in_its_own_workspace_only(workspace, other_workspace, make_member, api_client):
    # One person, two seats: each token sees the workspace it was made for.
    member_a = make_member(workspace, Role.ADMIN, email="both@example.test")
    from tidings.core.services import member_add

    member_b = member_add(workspace=other_workspace, actor=None, email="both@example.test", role=Role.MARKETER)
    assert api_client(member_a).get("/api/v1/me").json()["workspace"] == "acme"
    me_b = api_client(member_b).get("/api/v1/me").json()
    assert (me_b["workspace"], me_b["role"]) == ("rival", "marketer")


def test_unknown_api_path_is_json_404(admin_api):
    response = admin_api.client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.json() == {"message": "Not found", "details": []}


def test_unsupported_method_is_json_405(admin_api):
    response = admin_api.delete("/api/v1/me")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["details"] == []
