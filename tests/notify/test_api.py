"""The Notification API: settings (N4), sending with per-item outcomes and an Idempotency-Key, reading a notification
with its steps; roles and the Notification API module."""

import pytest

from tidings.core.roles import Role
from tidings.core.services import workspace_modules_set
from tidings.notify.models import Notification, NotificationSetting
from tidings.sandbox.models import SandboxRequest

from .conftest import CONTENT, PNP, VALUES, requests_to

SETTING = {"name": "Order shipped", "scenario": "shipped", "methods": ["line_push", "line_pnp", "sms"],
           "sms_wait_minutes": 30, "content": CONTENT}


@pytest.fixture
def api(admin, api_client):
    return api_client(admin)


def create_setting(api, **changes):
    response = api.post("/api/v1/notification-settings", {**SETTING, **changes})
    assert response.status_code == 201, response.content
    return response.json()


def test_create_read_list_and_patch_a_setting(api, workspace):
    created = create_setting(api)
    assert created["id"] and created["methods"] == ["line_push", "line_pnp", "sms"]
    assert created["content"] == CONTENT and created["sms_wait_minutes"] == 30 and created["scenario"] == "shipped"
    assert api.get(f"/api/v1/notification-settings/{created['id']}").json()["name"] == "Order shipped"
    listed = api.get("/api/v1/notification-settings").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == created["id"]
    patched = api.patch(f"/api/v1/notification-settings/{created['id']}",
                        {"sms_wait_minutes": 60, "content": {"sms": "Shipped: {order_id}"}}).json()
    assert patched["sms_wait_minutes"] == 60 and patched["content"]["sms"] == "Shipped: {order_id}"
    assert patched["content"]["line_pnp"] == CONTENT["line_pnp"]  # the other texts are kept


@pytest.mark.parametrize("minutes", [4, 1441])
def test_a_wait_outside_5_to_1440_minutes_is_refused_naming_the_field(api, minutes):
    response = api.post("/api/v1/notification-settings", {**SETTING, "sms_wait_minutes": minutes})
    assert response.status_code == 422
    assert response.json()["details"] == [{"field": "sms_wait_minutes", "message":
                                           "The SMS wait time is a whole number of minutes from 5 to 1440."}]


@pytest.mark.parametrize("minutes", [5, 1440])
def test_the_wait_bounds_themselves_are_allowed(api, minutes):
    assert create_setting(api, sms_wait_minutes=minutes)["sms_wait_minutes"] == minutes


@pytest.mark.parametrize(("changes", "field"), [
    ({"scenario": "lunch"}, "scenario"),
    ({"scenario": "custom"}, "custom_scenario"),
    ({"methods": []}, "methods"),
    ({"methods": ["fax"]}, "methods"),
    ({"content": {"line_push": "Hi"}}, "content.line_pnp"),
    ({"name": "x" * 51}, "name"),
])
def test_bad_settings_name_their_field(api, changes, field):
    response = api.post("/api/v1/notification-settings", {**SETTING, **changes})
    assert response.status_code == 422 and response.json()["details"][0]["field"] == field


def test_a_custom_scenario_keeps_its_name(api):
    created = create_setting(api, scenario="custom", custom_scenario="Repair completed")
    assert created["scenario"] == "custom" and created["custom_scenario"] == "Repair completed"


def test_items_are_answered_in_order_and_a_bad_one_is_rejected_while_the_others_proceed(
        api, workspace, line_account, sms_account, funded):
    setting = create_setting(api)
    response = api.post("/api/v1/notification-messages", {"setting_id": setting["id"], "items": [
        {"phone": "+886912000001", "values": VALUES, "reference": "A1"},
        {"phone": "12", "values": VALUES, "reference": "A2"},
        {"phone": "+886912000003", "values": {"order_id": "A3"}, "reference": "A3"},
        {"phone": "6123 4567", "values": VALUES, "reference": "A4"},
    ]})
    assert response.status_code == 201, response.content
    items = response.json()["items"]
    assert [i["status"] for i in items] == ["queued", "rejected", "rejected", "queued"]
    assert [i["reference"] for i in items] == ["A1", "A2", "A3", "A4"]
    assert items[1]["id"] is None and items[1]["error"]["field"] == "phone"
    assert items[2]["error"] == {"field": "values.name",
                                 "message": "No value for the variable {name} that the LINE push message text uses."}
    # stored in E.164; a national number takes the workspace's default region (Hong Kong)
    phones = dict(Notification.objects.values_list("pk", "phone"))
    assert phones == {items[0]["id"]: "+886912000001", items[3]["id"]: "+85261234567"}


def test_when_every_item_is_rejected_the_answer_is_422_with_the_items(api, line_account):
    setting = create_setting(api)
    response = api.post("/api/v1/notification-messages", {"setting_id": setting["id"], "items": [
        {"phone": "not a phone", "values": VALUES}]})
    assert response.status_code == 422
    body = response.json()
    assert body["details"][0]["field"] == "items[0].phone"
    assert body["items"] == [{"id": None, "status": "rejected", "reference": "",
                              "error": {"field": "phone", "message": body["details"][0]["message"]}}]
    assert not Notification.objects.exists()


@pytest.mark.parametrize("count", [0, 101])
def test_an_empty_or_oversized_batch_is_refused(api, count):
    setting = create_setting(api)
    items = [{"phone": f"+8869120{i:05d}", "values": VALUES} for i in range(count)]
    response = api.post("/api/v1/notification-messages", {"setting_id": setting["id"], "items": items})
    assert response.status_code == 422 and response.json()["details"][0]["field"].startswith("items")


def test_an_unknown_setting_is_a_404(api):
    response = api.post("/api/v1/notification-messages", {"setting_id": 999999, "items": [
        {"phone": "+886912000001", "values": VALUES}]})
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_twice_makes_one_notification(api, workspace, line_account, sms_account, funded,
                                                              persona):
    customer = persona(friend=False, pnp_consent=True)
    setting = create_setting(api)
    body = {"setting_id": setting["id"], "items": [{"phone": customer.phone, "values": VALUES, "reference": "A1"}]}
    api.headers["Idempotency-Key"] = "order-A1-shipped"
    first = api.post("/api/v1/notification-messages", body)
    second = api.post("/api/v1/notification-messages", body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Notification.objects.count() == 1 and len(requests_to(PNP)) == 1
    # the same key with another body is refused, and creates nothing
    other = api.post("/api/v1/notification-messages", {**body, "items": [{**body["items"][0], "reference": "B"}]})
    assert other.status_code == 422 and other.json()["details"][0]["field"] == "Idempotency-Key"
    # without a key (or with another) a retry is a new notification
    del api.headers["Idempotency-Key"]
    assert api.post("/api/v1/notification-messages", body).status_code == 201
    assert Notification.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_reading_a_notification_shows_its_steps(api, workspace, line_account, sms_account, funded, persona):
    customer = persona(line=False)
    setting = create_setting(api)
    sent = api.post("/api/v1/notification-messages", {"setting_id": setting["id"], "items": [
        {"phone": customer.phone, "values": VALUES, "reference": "A9"}]}).json()
    body = api.get(f"/api/v1/notification-messages/{sent['items'][0]['id']}").json()
    assert body["id"] == sent["items"][0]["id"] and body["status"] == "sent" and body["reference"] == "A9"
    assert [(s["method"], s["status"]) for s in body["steps"]] == [("line_pnp", "failed"), ("sms", "sent")]
    assert body["steps"][0]["error"] == "Failed to send messages" and body["steps"][1]["error"] is None
    assert all(s["at"] for s in body["steps"])
    assert SandboxRequest.objects.filter(provider="twilio").exists()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.MARKETER])
def test_marketing_roles_may_use_the_api(role, workspace, make_member, api_client):
    assert api_client(make_member(workspace, role)).get("/api/v1/notification-settings").status_code == 200


@pytest.mark.parametrize("role", [Role.CS_MANAGER, Role.CS_AGENT, Role.SALES_MANAGER, Role.SALES_PERSON])
def test_other_roles_may_not(role, workspace, make_member, api_client):
    client = api_client(make_member(workspace, role))
    assert client.get("/api/v1/notification-settings").status_code == 403
    assert client.post("/api/v1/notification-messages", {"setting_id": 1, "items": []}).status_code == 403


def test_without_the_notification_api_module_every_route_is_refused(api, workspace):
    setting = create_setting(api)
    workspace_modules_set(workspace=workspace, actor=None,
                          modules=[m for m in workspace.enabled_modules if m != "notification_api"])
    for path in ("/api/v1/notification-settings", f"/api/v1/notification-settings/{setting['id']}"):
        response = api.get(path)
        assert response.status_code == 403 and "Notification API" in response.json()["message"]
    response = api.post("/api/v1/notification-messages", {"setting_id": setting["id"], "items": [
        {"phone": "+886912000001", "values": VALUES}]})
    assert response.status_code == 403
    assert NotificationSetting.objects.count() == 1 and not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_calls_with_one_key_create_once(workspace, line_account, sms_account, setting):
    import threading

    from django.db import connection

    from tidings.notify.services import notifications_send

    body = [{"phone": "+886912000001", "values": VALUES, "reference": "A1"},
            {"phone": "+886912000002", "values": VALUES, "reference": "A2"}]
    barrier, answers = threading.Barrier(2), []

    def call():
        try:
            barrier.wait()
            answers.append(notifications_send(workspace=workspace, setting_id=setting.pk, items=body,
                                              idempotency_key="same-key"))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0][0] == 201
    assert Notification.objects.count() == 2  # the two items, once
