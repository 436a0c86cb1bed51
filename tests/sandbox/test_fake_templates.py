"""The fake Graph API's message_templates edge: Meta's official create samples accepted, Meta's rules refused with
code 100, list paging, delete, edit, and every request conforming to Meta's OpenAPI document."""

import json

import pytest

from tidings.channels.adapters.whatsapp import templates_api
from tidings.channels.http import http_client
from tidings.channels.meta import GraphApiError
from tidings.sandbox.models import SandboxRequest, SandboxTemplate
from tests.support.openapi_conformance import conformance_errors
from tests.support.reference import REFERENCE

from .test_fake_whatsapp_conformance import unmasked, whatsapp_spec  # Meta's document with its defects corrected

pytestmark = pytest.mark.django_db

META = REFERENCE / "meta"
SAMPLES = sorted((META / "samples" / "whatsapp_template_create").glob("*.json"))


def graph(account, method, path, token=None, **kwargs):
    with http_client() as client:
        return client.request(method, f"{account.base_url}/v23.0/{path}", headers={
            "Authorization": f"Bearer {token or account.credentials['access_token']}"}, **kwargs)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_metas_create_samples_are_accepted_and_conform(whatsapp_account, sample):
    payload = json.loads(sample.read_text())
    if "<" in payload["name"]:  # the Flow samples keep Meta's "<TEMPLATE_NAME>" placeholder, which Meta would refuse
        payload["name"] = sample.stem
    answer = templates_api.template_create(whatsapp_account, payload)
    assert answer["status"] == "PENDING" and answer["category"] == payload["category"]
    assert SandboxTemplate.objects.get(template_id=answer["id"]).components == payload["components"]
    record = SandboxRequest.objects.get(method="POST")
    assert conformance_errors(unmasked(record), whatsapp_spec()) == []


def button_payload(*types):
    buttons = []
    for n, kind in enumerate(types):
        button = {"type": kind, "text": f"Button {n}"}
        if kind == "URL":
            button["url"] = f"https://shop.example/{n}"
        if kind == "PHONE_NUMBER":
            button["phone_number"] = "+85230001234"
        buttons.append(button)
    return {"name": "mix", "language": "en", "category": "MARKETING", "components": [
        {"type": "BODY", "text": "Spring offers"}, {"type": "BUTTONS", "buttons": buttons}]}


@pytest.mark.parametrize("types,message", [
    (("QUICK_REPLY", "URL", "QUICK_REPLY"), "Quick reply buttons must stay together in one group"),
    (("URL", "URL", "URL"), "At most 2 website (URL) button(s) per template."),
    (("PHONE_NUMBER", "PHONE_NUMBER"), "At most 1 call phone number button(s) per template."),
    (("ORDER_DETAILS", "ORDER_DETAILS"), "At most 1 go to order button(s) per template."),
    (("QUICK_REPLY",) * 11, "At most 10 quick reply button(s) per template."),
])
def test_a_wrong_button_mix_gets_metas_error(whatsapp_account, types, message):
    with pytest.raises(GraphApiError) as caught:
        templates_api.template_create(whatsapp_account, button_payload(*types))
    error = caught.value.error
    assert (error["status"], error["code"], error["message"]) == (400, 100, "Invalid parameter")
    assert error["error_data"]["details"].startswith(message)
    assert not SandboxTemplate.objects.exists()


def test_valid_mixes_in_either_order_are_accepted(whatsapp_account):
    for name, types in (("a", ("QUICK_REPLY", "QUICK_REPLY", "URL", "PHONE_NUMBER")),
                        ("b", ("URL", "PHONE_NUMBER", "QUICK_REPLY", "QUICK_REPLY"))):
        assert templates_api.template_create(whatsapp_account, {**button_payload(*types), "name": name})["id"]


def test_another_waba_id_is_an_unknown_object(whatsapp_account):
    response = graph(whatsapp_account, "POST", "123456/message_templates", json=button_payload("URL"))
    assert response.status_code == 400
    assert response.json()["error"]["error_subcode"] == 33


def test_bad_token_is_refused(whatsapp_account):
    waba = whatsapp_account.settings["waba_id"]
    response = graph(whatsapp_account, "GET", f"{waba}/message_templates", token="wrong")
    assert (response.status_code, response.json()["error"]["code"]) == (401, 190)


def test_list_pages_with_cursors_and_delete_by_name(whatsapp_account):
    for n in range(7):
        SandboxTemplate.objects.create(account=whatsapp_account, template_id=str(100 + n), name=f"t{n}",
                                       language="en", category="UTILITY", components=[])
    waba = whatsapp_account.settings["waba_id"]
    first = graph(whatsapp_account, "GET", f"{waba}/message_templates", params={"limit": 5}).json()
    assert [t["name"] for t in first["data"]] == ["t0", "t1", "t2", "t3", "t4"] and "next" in first["paging"]
    assert len(templates_api.templates_list(whatsapp_account)) == 7
    assert templates_api.template_delete(whatsapp_account, "t3") == {"success": True}
    assert not SandboxTemplate.objects.filter(name="t3").exists()
    with pytest.raises(GraphApiError) as caught:
        templates_api.template_delete(whatsapp_account, "t3")
    assert caught.value.error["status"] == 404
    for record in SandboxRequest.objects.filter(method__in=["GET", "DELETE"]):
        assert conformance_errors(unmasked(record), whatsapp_spec()) == [], record.path


def test_edit_sends_an_approved_template_back_to_review(whatsapp_account):
    template = SandboxTemplate.objects.create(account=whatsapp_account, template_id="4242", name="edit_me",
                                              language="en", category="UTILITY", status="APPROVED",
                                              components=[{"type": "BODY", "text": "Old"}])
    assert templates_api.template_edit(whatsapp_account, "4242", {"components": [
        {"type": "BODY", "text": "New text"}]}) == {"success": True}
    template.refresh_from_db()
    assert (template.status, template.components[0]["text"]) == ("PENDING", "New text")
    with pytest.raises(GraphApiError):  # not while it is in review
        templates_api.template_edit(whatsapp_account, "4242", {"components": [{"type": "BODY", "text": "x"}]})
