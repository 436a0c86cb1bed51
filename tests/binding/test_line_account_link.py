"""LINE account link end to end: the bot gets a link token from (fake) LINE and sends the login button; the shop's
login page hands the link token and member id to /bind/v1/line-link, which answers LINE's dialog URL with a fresh
nonce; the dialog sends the signed accountLink webhook; Tidings binds the member and the browser."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tidings.binding.models import BindingToken
from tidings.binding.services import binding_settings_update
from tidings.contacts.models import Contact, Visitor
from tidings.sandbox.fake_line.webhooks import line_event_account_link, line_event_postback, line_webhook_send
from tidings.sandbox.models import SandboxDelivery, SandboxRequest
from tidings.sandbox.personas import persona_act
from tidings.timers.services import clock_advance

from .conftest import DEFAULT_SUCCESS, bindings, received

pytestmark = pytest.mark.django_db(transaction=True)

LOGIN = "https://shop.example.test/login?next=/account"


@pytest.fixture
def link_ready(workspace, line_account, admin):
    binding_settings_update(workspace=workspace, by=admin, enabled=True, member_login_url=LOGIN)
    return line_account


def ask_for_link(account, persona) -> str:
    """The customer taps the rich menu's "link account" item; returns the login URL their button opens."""
    assert line_webhook_send(account, [line_event_postback(persona, "tidings:account_link")]).status_code == 200
    [button] = SandboxDelivery.objects.filter(persona=persona, kind="push").order_by("-id")[:1]
    result = persona_act(workspace=account.workspace, persona=persona, action="tap", channel="line",
                         delivery=button, button=0)
    return result.link["location"]


def login_and_link(browser, workspace, login_url, member_id, visitor_id):
    link_token = parse_qs(urlsplit(login_url).query)["linkToken"][0]
    return browser.post("/bind/v1/line-link", {"workspace": workspace.slug, "link_token": link_token,
                                               "member_id": member_id, "visitor_id": visitor_id})


def test_account_link_binds_the_member_and_the_browser(browser, workspace, link_ready, new_persona, shopper):
    mei = new_persona()
    login_url = ask_for_link(link_ready, mei)
    # The link token came from LINE's API, and the button leads to the shop's login page with it.
    assert SandboxRequest.objects.filter(path=f"/v2/bot/user/{mei.line_user_id}/linkToken",
                                         response_status=200).count() == 1
    query = parse_qs(urlsplit(login_url).query)
    assert login_url.startswith("https://shop.example.test/login?") and query["next"] == ["/account"]
    assert set(query) == {"next", "linkToken", "_tid"}  # through our tracked link

    response = login_and_link(browser, workspace, login_url, "M-2002", shopper)
    assert response.status_code == 200, response.content
    dialog = urlsplit(response.json()["url"])
    assert dialog.path == f"/sandbox/line/{link_ready.public_id}/dialog/bot/accountLink"
    nonce = parse_qs(dialog.query)["nonce"][0]
    assert len(nonce) >= 22 and parse_qs(dialog.query)["linkToken"] == query["linkToken"]
    assert not BindingToken.objects.filter(token_hash__contains=nonce).exists()

    phone = Client()
    page = phone.get(response.json()["url"])
    assert page.status_code == 200 and mei.name in page.content.decode()
    done = phone.post(dialog.path, {"linkToken": query["linkToken"][0], "nonce": nonce})
    assert 'data-result="ok"' in done.content.decode()

    [binding] = bindings(workspace)
    assert (binding.method, binding.member_id, binding.contact_id) == ("line_link", "M-2002", mei.contact_id)
    assert Contact.objects.get(pk=mei.contact_id).member_id == "M-2002"
    assert Visitor.objects.get(visitor_id=shopper).contact_id == mei.contact_id
    assert received(mei)[-1] == DEFAULT_SUCCESS

    # The link token works once; so does the dialog.
    again = login_and_link(browser, workspace, login_url, "M-9999", shopper)
    assert again.status_code == 422 and again.json()["details"][0]["field"] == "link_token"
    phone.post(dialog.path, {"linkToken": query["linkToken"][0], "nonce": nonce})
    assert len(bindings(workspace)) == 1


def test_a_member_login_page_form_post_is_redirected_to_line(browser, workspace, link_ready, new_persona):
    login_url = ask_for_link(link_ready, new_persona())
    link_token = parse_qs(urlsplit(login_url).query)["linkToken"][0]
    response = browser.client.post("/bind/v1/line-link", {"workspace": workspace.slug, "link_token": link_token,
                                                          "member_id": "M-3003"})
    assert response.status_code == 303 and "/dialog/bot/accountLink?" in response["Location"]


def test_an_expired_link_token_fails_at_the_dialog_and_binds_nothing(browser, workspace, link_ready, new_persona,
                                                                     shopper):
    mei = new_persona()
    login_url = ask_for_link(link_ready, mei)
    url = login_and_link(browser, workspace, login_url, "M-4004", shopper).json()["url"]
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=11))
    dialog = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(dialog.query).items()}
    done = Client().post(dialog.path, params)
    assert 'data-result="failed"' in done.content.decode()
    assert bindings(workspace) == []
    assert BindingToken.objects.get().voided_at is not None


def test_an_account_link_naming_another_line_user_is_refused(browser, workspace, link_ready, new_persona, shopper):
    mei, mallory = new_persona(), new_persona(name="Mallory")
    login_url = ask_for_link(link_ready, mei)
    url = login_and_link(browser, workspace, login_url, "M-5005", shopper).json()["url"]
    nonce = parse_qs(urlsplit(url).query)["nonce"][0]
    line_webhook_send(link_ready, [line_event_account_link(mallory, nonce)])
    assert bindings(workspace) == []
    assert BindingToken.objects.get().attempts == 1


def test_forged_and_cross_workspace_link_tokens_are_refused(browser, workspace, other_workspace, link_ready,
                                                            new_persona, shopper):
    forged = browser.post("/bind/v1/line-link", {"workspace": workspace.slug, "link_token": "not-a-real-token",
                                                 "member_id": "M-1"})
    assert forged.status_code == 422 and forged.json()["details"][0]["field"] == "link_token"
    login_url = ask_for_link(link_ready, new_persona())
    elsewhere = login_and_link(browser, other_workspace, login_url, "M-6006", shopper)
    assert elsewhere.status_code == 422
    assert BindingToken.objects.get().attempts == 1
    missing = login_and_link(browser, workspace, login_url, "", shopper)
    assert missing.status_code == 422 and missing.json()["details"][0]["field"] == "member_id"
    # Still good for the right shop.
    assert login_and_link(browser, workspace, login_url, "M-6006", shopper).status_code == 200


def test_without_a_login_page_no_button_is_sent(workspace, line_account, new_persona):
    mei = new_persona()
    line_webhook_send(line_account, [line_event_postback(mei, "tidings:account_link")])
    assert received(mei) == []
    assert not SandboxRequest.objects.filter(path__endswith="/linkToken").exists()
