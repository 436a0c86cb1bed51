"""The sandbox API's personas on WhatsApp, Messenger and Instagram: the shape an external test suite reads, and the
new actions (send, tap, order) over HTTP, each answered with the Graph webhook body that reached Tidings."""

import pytest

from tidings.messaging.models import Message
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxDelivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def meta(whatsapp_account, messenger_account, instagram_account):
    return {"whatsapp": whatsapp_account, "messenger": messenger_account, "instagram": instagram_account}


def _create(api, **body):
    body.setdefault("line", False)
    response = api.post("/api/v1/sandbox/personas", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_persona_shape_on_every_channel(admin_api, meta):
    on_all = _create(admin_api, name="Lam Ka Ho", phone="+852 6123 7001", whatsapp={},
                     messenger={"in_window": True}, instagram={"igsid": "17841400000000077", "in_window": False})
    assert on_all["whatsapp"] == {"wa_id": "85261237001", "in_window": False}
    assert on_all["messenger"]["in_window"] is True and on_all["messenger"]["psid"].isdigit()
    assert on_all["instagram"] == {"igsid": "17841400000000077", "in_window": False}
    sms_only = _create(admin_api, name="SMS only", phone="+85261237002")
    assert sms_only["whatsapp"] is None and sms_only["messenger"] is None and sms_only["instagram"] is None

    listed = admin_api.get("/api/v1/sandbox/personas").json()
    assert isinstance(listed, list) and [p["id"] for p in listed] == [on_all["id"], sms_only["id"]]
    assert set(listed[0]) == {"id", "name", "phone", "contact_id", "line", "sms", "whatsapp", "messenger",
                              "instagram", "created_at"}
    assert listed[0]["messenger"] == on_all["messenger"]
    # The persona in the window really wrote: Tidings holds its message.
    assert Message.objects.filter(contact_id=on_all["contact_id"], channel="messenger", direction="in").count() == 1


@pytest.mark.parametrize("body, field", [
    ({"whatsapp": {"wa_id": "not-digits"}}, "whatsapp.wa_id"),
    ({"whatsapp": {"number": "1"}}, "whatsapp.number"),
    ({"instagram": {"igsid": "12"}}, "instagram.igsid"),
])
def test_create_validation(admin_api, meta, body, field):
    response = admin_api.post("/api/v1/sandbox/personas", {"name": "X", "phone": "+85261237003", "line": False,
                                                           **body})
    assert response.status_code == 422, response.content
    assert response.json()["details"][0]["field"] == field


def test_whatsapp_without_a_sandbox_account_is_a_clear_422(admin_api):
    response = admin_api.post("/api/v1/sandbox/personas", {"name": "X", "phone": "+85261237004", "line": False,
                                                           "whatsapp": {}})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "whatsapp"
    assert "WhatsApp" in response.json()["details"][0]["message"]


def test_send_tap_and_order_actions(admin_api, workspace, meta):
    persona = _create(admin_api, name="Ho Wing", phone="+85261237005", whatsapp={"in_window": True},
                      messenger={"in_window": True})
    url = f"/api/v1/sandbox/personas/{persona['id']}/actions"

    response = admin_api.post(url, {"action": "send", "channel": "whatsapp", "text": "Any oat milk?"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["webhook_status"] == 200 and body["persona"]["whatsapp"]["in_window"] is True
    [hook] = body["events"]
    assert hook["entry"][0]["changes"][0]["value"]["messages"][0]["text"] == {"body": "Any oat milk?"}

    [question] = message_send(workspace=workspace, contact=persona["contact_id"], channel="whatsapp", contents=[
        {"type": "buttons", "text": "Hot or iced?", "actions": [
            {"type": "postback", "label": "Hot", "data": "temp=hot"},
            {"type": "postback", "label": "Iced", "data": "temp=iced"}]}], purpose="chat")
    response = admin_api.post(url, {"action": "tap", "channel": "whatsapp", "message_id": question.pk, "button": 1})
    assert response.status_code == 200, response.content
    reply = Message.objects.filter(contact_id=persona["contact_id"], direction="in").order_by("-id").first()
    assert reply.content == {"type": "button_reply", "id": "temp=iced", "title": "Iced"}

    response = admin_api.post(url, {"action": "order", "channel": "whatsapp", "items": [
        {"product_retailer_id": "oolong", "quantity": 2, "item_price": "25.00", "currency": "HKD"}]})
    assert response.status_code == 200, response.content
    order = response.json()["events"][0]["entry"][0]["changes"][0]["value"]["messages"][0]["order"]
    assert order["product_items"] == [{"product_retailer_id": "oolong", "quantity": 2, "item_price": 25,
                                       "currency": "HKD"}]
    assert order["catalog_id"].isdigit()

    response = admin_api.post(url, {"action": "send", "channel": "messenger", "text": "Open on Sunday?"})
    assert response.status_code == 200, response.content
    assert response.json()["events"][0]["object"] == "page"
    assert SandboxDelivery.objects.filter(persona_id=persona["id"], kind="user").count() == 6  # 2 greetings + 4


@pytest.mark.parametrize("body, field", [
    ({"action": "order", "channel": "whatsapp", "items": []}, "items"),
    ({"action": "order", "channel": "whatsapp", "items": [{"product_retailer_id": "x", "quantity": 1,
                                                           "item_price": 1, "currency": "HKDX"}]}, "items.0.currency"),
    ({"action": "order", "channel": "messenger", "items": [{"product_retailer_id": "x", "quantity": 1,
                                                            "item_price": 1, "currency": "HKD"}]}, "channel"),
    ({"action": "order", "channel": "line", "items": [{"product_retailer_id": "x", "quantity": 1,
                                                       "item_price": 1, "currency": "HKD"}]}, "channel"),
    ({"action": "send", "channel": "instagram", "text": "hi"}, "channel"),
    ({"action": "send", "channel": "whatsapp", "text": " "}, "text"),
    ({"action": "tap", "channel": "whatsapp", "button": 0}, "message_id"),
    ({"action": "block", "channel": "whatsapp"}, "channel"),
])
def test_action_validation_names_the_field(admin_api, meta, body, field):
    persona = _create(admin_api, name="Yu", phone="+85261237006", whatsapp={}, messenger={})
    response = admin_api.post(f"/api/v1/sandbox/personas/{persona['id']}/actions", body)
    assert response.status_code == 422, response.content
    assert response.json()["details"][0]["field"] == field
