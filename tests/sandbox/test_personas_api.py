"""The sandbox API: personas, their actions and the fakes' request log (sandbox workspaces only)."""

import pytest

from tidings.core.roles import Role
from tidings.messaging.services import message_send

from .persona_support import *  # noqa: F403
from .persona_support import hk_phone, inbound

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_api(workspace, make_member, api_client):
    return api_client(make_member(workspace, Role.ADMIN))


def test_create_and_list_personas(admin_api, accounts):
    response = admin_api.post("/api/v1/sandbox/personas", {"name": "Wong Siu Ming", "phone": "+852 6987 0001",
                                                           "pnp_consent": True})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["phone"] == "+85269870001" and created["contact_id"]
    assert created["line"]["friend"] is True and created["line"]["blocked"] is False
    assert created["line"]["pnp_consent"] is True and created["line"]["user_id"].startswith("U")
    assert created["sms"] == {"phone": "+85269870001"}
    admin_api.post("/api/v1/sandbox/personas", {"name": "No LINE", "phone": hk_phone(), "line": False})
    listed = admin_api.get("/api/v1/sandbox/personas").json()
    assert [p["name"] for p in listed] == ["Wong Siu Ming", "No LINE"]
    assert listed[1]["line"] is None
    assert set(listed[0]) == {"id", "name", "phone", "contact_id", "line", "sms", "whatsapp", "messenger", "instagram",
                              "created_at"}
    assert admin_api.get(f"/api/v1/sandbox/personas/{created['id']}").json()["id"] == created["id"]


def test_create_validation(admin_api, accounts):
    response = admin_api.post("/api/v1/sandbox/personas", {"name": "X", "phone": "123"})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "phone"
    response = admin_api.post("/api/v1/sandbox/personas", {"phone": hk_phone()})
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "name"


def test_actions(admin_api, workspace, accounts, new_persona):
    persona = new_persona()
    url = f"/api/v1/sandbox/personas/{persona.pk}/actions"
    response = admin_api.post(url, {"action": "send", "channel": "line", "text": "Hello 你好"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["webhook_status"] == 200 and body["events"][0]["type"] == "message"
    assert inbound(persona)[-1].content == {"type": "text", "text": "Hello 你好"}

    [message] = message_send(workspace=workspace, contact=persona.contact, channel="line", contents=[
        {"type": "buttons", "text": "Rate us", "actions": [{"type": "postback", "label": "5 stars", "data": "rate=5"}]}
    ], purpose="chat")
    response = admin_api.post(url, {"action": "tap", "channel": "line", "message_id": message.pk, "button": "5 stars"})
    assert response.status_code == 200, response.content
    assert response.json()["events"][0]["postback"] == {"data": "rate=5"}
    assert inbound(persona)[-1].content == {"type": "postback", "data": "rate=5"}

    response = admin_api.post(url, {"action": "block", "channel": "line"})
    assert response.json()["persona"]["line"]["blocked"] is True
    response = admin_api.post(url, {"action": "consent_pnp", "channel": "line"})
    assert response.json()["persona"]["line"]["pnp_consent"] is True and response.json()["webhook_status"] is None


@pytest.mark.parametrize("body, field", [
    ({"action": "wave", "channel": "line"}, "action"),
    ({"action": "send", "channel": "pigeon", "text": "x"}, "channel"),
    ({"action": "send", "channel": "line"}, "text"),
    ({"action": "tap", "channel": "line", "button": 0}, "message_id"),
    ({"action": "open_link", "channel": "line"}, "url"),
    ({"channel": "line"}, "action"),
    ({"action": "send", "channel": "line", "text": "x", "extra": 1}, "extra"),
])
def test_action_validation_names_the_field(admin_api, accounts, new_persona, body, field):
    persona = new_persona()
    response = admin_api.post(f"/api/v1/sandbox/personas/{persona.pk}/actions", body)
    assert response.status_code == 422, response.content
    assert response.json()["details"][0]["field"] == field


def test_requests_log(admin_api, workspace, accounts, new_persona):
    persona = new_persona()
    message_send(workspace=workspace, contact=persona.contact, channel="line",
                 contents=[{"type": "text", "text": "one"}], purpose="chat")
    message_send(workspace=workspace, contact=persona.contact, channel="line",
                 contents=[{"type": "text", "text": "two"}], purpose="chat")
    response = admin_api.get("/api/v1/sandbox/requests?provider=line&path=/v2/bot/message/push")
    assert response.status_code == 200
    page = response.json()
    assert len(page) == 2
    newest = page[0]
    assert set(newest) == {"id", "provider", "method", "path", "query", "headers", "body", "response_status",
                           "response_body", "at"}
    assert newest["method"] == "POST" and newest["path"] == "/v2/bot/message/push"
    assert newest["body"]["messages"] == [{"type": "text", "text": "two"}]
    assert newest["response_status"] == 200 and "sentMessages" in newest["response_body"]
    assert [r["id"] for r in admin_api.get("/api/v1/sandbox/requests?provider=line&limit=1").json()] == [newest["id"]]
    assert admin_api.get("/api/v1/sandbox/requests?provider=twilio").json() == []


def test_live_workspace_answers_404(make_workspace, make_member, api_client):
    live = make_workspace(sandbox=False)
    client = api_client(make_member(live, Role.ADMIN))
    for method, path, body in (
        ("get", "/api/v1/sandbox/personas", None),
        ("post", "/api/v1/sandbox/personas", {"name": "X", "phone": "+85269870002"}),
        ("post", "/api/v1/sandbox/personas/1/actions", {"action": "send", "channel": "line", "text": "x"}),
        ("get", "/api/v1/sandbox/requests", None),
    ):
        response = getattr(client, method)(path, body) if body else getattr(client, method)(path)
        assert response.status_code == 404, (path, response.content)


@pytest.mark.parametrize("role, status", [(Role.ADMIN, 200), (Role.SUPERVISOR, 200), (Role.MARKETER, 403),
                                          (Role.CS_AGENT, 403)])
def test_permission(workspace, make_member, api_client, role, status):
    assert api_client(make_member(workspace, role)).get("/api/v1/sandbox/personas").status_code == status
