"""POST/GET/PUT/DELETE /api/v1/whatsapp-templates in the exact shape the issue's external suite uses."""

import datetime

import pytest

from tidings.core.roles import Role
from tidings.message_templates.models import WhatsAppTemplate
from tidings.sandbox.models import SandboxTemplate
from tidings.timers.services import clock_advance

from tests.message_templates.conftest import buttons, template_data

pytestmark = pytest.mark.django_db

URL = "/api/v1/whatsapp-templates"


@pytest.fixture
def marketer_api(workspace, make_member, api_client):
    return api_client(make_member(workspace, Role.MARKETER))


def test_create_answers_201_with_id_and_pending_status_then_get(workspace, whatsapp_account, marketer_api):
    response = marketer_api.post(URL, template_data(language="zh_TW", header={"format": "TEXT", "text": "出貨通知"},
                                                    buttons=buttons("qr", "qr", "url", "phone")))
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "PENDING" and isinstance(created["id"], int)
    fetched = marketer_api.get(f"{URL}/{created['id']}").json()
    assert fetched["header"] == {"format": "TEXT", "text": "出貨通知", "url": None}
    assert [b["type"] for b in fetched["buttons"]] == ["quick_reply", "quick_reply", "url", "phone"]
    assert fetched["provider_template_id"] == SandboxTemplate.objects.get().template_id


def test_without_a_whatsapp_account_the_template_is_a_draft(workspace, marketer_api):
    response = marketer_api.post(URL, template_data())
    assert (response.status_code, response.json()["status"]) == (201, "DRAFT")
    submitted = marketer_api.post(f"{URL}/{response.json()['id']}/submit")
    assert submitted.status_code == 422
    assert submitted.json()["details"] == [{"field": "account", "message": (
        "Connect a WhatsApp account first: templates are reviewed for its business account.")}]


@pytest.mark.parametrize("kinds,audience,field,message", [
    (("qr", "url", "qr"), "general", "buttons[2]",
     "Quick reply buttons must stay together in one group: put them all before or all after the other buttons."),
    (("url", "url", "url"), "general", "buttons[2]", "At most 2 website (URL) button(s) per template."),
    (("phone", "phone"), "general", "buttons[1]", "At most 1 call phone number button(s) per template."),
    (("qr",) * 11, "general", "buttons[10]", "At most 10 quick reply button(s) per template."),
    (("qr",) * 8 + ("url", "url", "phone"), "general", "buttons[10]", "A template has at most 10 buttons."),
    (("order", "order"), "system_notification", "buttons[1]", "At most 1 go to order button(s) per template."),
    (("order",), "general", "buttons[0]",
     "The “go to order” button is only for templates whose audience is system notification."),
])
def test_each_button_rule_answers_422_naming_it(whatsapp_account, marketer_api, kinds, audience, field, message):
    response = marketer_api.post(URL, template_data(audience=audience, buttons=buttons(*kinds)))
    assert response.status_code == 422
    assert response.json() == {"message": message, "details": [{"field": field, "message": message}]}
    assert not WhatsAppTemplate.objects.exists() and not SandboxTemplate.objects.exists()


@pytest.mark.parametrize("overrides,field", [
    ({"name": "Bad Name"}, "name"), ({"body": "x" * 1025}, "body"), ({"header": "h" * 61}, "header.text"),
    ({"footer": "f" * 61}, "footer"), ({"category": "PROMO"}, "category"),
    ({"buttons": [{"type": "quick_reply", "text": "x" * 26}]}, "buttons[0].text"),
    ({"body": "Hi {{2}} there"}, "body"),
])
def test_meta_limits_answer_422_on_the_field(whatsapp_account, marketer_api, overrides, field):
    response = marketer_api.post(URL, template_data(**overrides))
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == field


def test_unknown_fields_are_refused(marketer_api):
    response = marketer_api.post(URL, {**template_data(), "colour": "red"})
    assert response.status_code == 422 and response.json()["details"][0]["field"] == "colour"


@pytest.mark.django_db(transaction=True)
def test_status_follows_meta_review_when_the_sandbox_clock_moves(workspace, whatsapp_account, make_member,
                                                                 api_client):
    admin = api_client(make_member(workspace, Role.ADMIN))
    approved = admin.post(URL, template_data()).json()
    rejected = admin.post(URL, template_data(name="reject_this_one")).json()
    assert admin.post("/api/v1/sandbox/clock", {"advance": "31s"}).json()["fired"] >= 2
    assert admin.get(f"{URL}/{approved['id']}").json()["status"] == "APPROVED"
    body = admin.get(f"{URL}/{rejected['id']}").json()
    assert (body["status"], body["rejected_reason"]) == ("REJECTED", "INVALID_FORMAT")
    listed = admin.get(f"{URL}?status=APPROVED").json()
    assert listed["count"] == 1 and listed["items"][0]["name"] == "order_shipped"


def test_edit_list_sync_and_delete(workspace, whatsapp_account, marketer_api):
    created = marketer_api.post(URL, template_data(draft=True)).json()
    assert created["status"] == "DRAFT"
    edited = marketer_api.put(f"{URL}/{created['id']}", template_data(footer="Thank you"))
    assert edited.status_code == 200 and edited.json()["status"] == "PENDING"  # an edit without draft submits
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=31))
    assert marketer_api.post(f"{URL}/sync").json() == {"updated": 1, "added": 0}
    assert marketer_api.get(f"{URL}/{created['id']}").json()["status"] == "APPROVED"
    assert marketer_api.delete(f"{URL}/{created['id']}").status_code == 204
    assert marketer_api.get(f"{URL}/{created['id']}").status_code == 404
    assert not SandboxTemplate.objects.exists()


@pytest.mark.parametrize("role,allowed", [(Role.ADMIN, True), (Role.MARKETER, True), (Role.SUPERVISOR, True),
                                          (Role.CS_AGENT, False), (Role.SALES_PERSON, False)])
def test_marketers_and_admins_manage_templates(workspace, make_member, api_client, role, allowed):
    client = api_client(make_member(workspace, role))
    assert (client.get(URL).status_code == 200) is allowed
    assert client.post(URL, template_data()).status_code == (201 if allowed else 403)
