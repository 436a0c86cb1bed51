"""The browser endpoints' contract (the tracking script calls them from the shop's origin), the deep links of live
accounts, and the settings page."""

import pytest

from tidings.binding import views
from tidings.binding.links import (
    instagram_ref_url,
    line_account_link_url,
    line_message_url,
    login_url_with_link_token,
    messenger_ref_url,
    whatsapp_message_url,
)
from tidings.binding.models import BindingSettings, BindingToken
from tidings.binding.services import binding_settings_update
from tidings.channels.models import ChannelAccount
from tidings.core.errors import ServiceError
from tidings.core.roles import Role

pytestmark = pytest.mark.django_db

VISITOR = "visitor-endpoint-0001"


def error_field(response) -> str:
    return response.json()["details"][0]["field"]


def test_cors_preflight_and_headers(browser):
    preflight = browser.client.options("/bind/v1/start", headers={"Origin": "https://shop.example.test",
                                                                  "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert preflight["Access-Control-Allow-Headers"] == "Content-Type"
    wrong = browser.get("/bind/v1/start", {})
    assert wrong.status_code == 405 and wrong["Allow"] == "POST" and wrong["Access-Control-Allow-Origin"] == "*"


def test_start_refuses_bad_input_naming_the_field(browser, workspace, line_account):
    assert error_field(browser.post("/bind/v1/start", {"workspace": "nope", "visitor_id": VISITOR,
                                                       "method": "line_code"})) == "workspace"
    assert error_field(browser.start(workspace, "carrier_pigeon", VISITOR)) == "method"
    assert error_field(browser.start(workspace, "line_code", "short")) == "visitor_id"
    assert error_field(browser.start(workspace, "line_code", "")) == "visitor_id"
    response = browser.start(workspace, "whatsapp_code", VISITOR)  # no WhatsApp account connected
    assert response.status_code == 422 and error_field(response) == "method"
    assert "WhatsApp" in response.json()["message"]
    assert error_field(browser.start(workspace, "line_code", VISITOR, account=999999)) == "account"
    text = browser.client.post("/bind/v1/start", data="{not json", content_type="application/json")
    assert text.status_code == 400
    assert not BindingToken.objects.exists()


def test_start_accepts_json_sent_as_text_plain_and_a_chosen_account(browser, workspace, line_account):
    from tidings.channels.services import account_create

    second = account_create(workspace=workspace, actor=None, channel="line", name="Second OA")
    response = browser.client.post("/bind/v1/start", content_type="text/plain", data=(
        f'{{"workspace": "{workspace.slug}", "visitor_id": "{VISITOR}", "method": "line_code", '
        f'"account": {second.pk}}}'))
    assert response.status_code == 200 and response.json()["account"]["id"] == second.pk
    assert BindingToken.objects.get().account == second


def test_a_member_may_bind_without_a_visitor_id(browser, workspace, line_account):
    response = browser.post("/bind/v1/start", {"workspace": workspace.slug, "member_id": "M-1", "method": "line_code"})
    assert response.status_code == 200
    token = BindingToken.objects.get()
    assert token.member_id == "M-1" and token.visitor is None


def test_status_lists_the_methods_of_connected_accounts(browser, workspace, line_account, messenger_account):
    body = browser.status(workspace, "visitor-never-seen-0001")
    assert body == {"bound": False, "channels": [], "methods": [
        {"method": "line_code", "account": {"id": line_account.pk, "channel": "line", "name": "Acme LINE OA"}},
        {"method": "messenger_ref", "account": {"id": messenger_account.pk, "channel": "messenger",
                                                "name": "Acme Page"}},
    ]}
    ChannelAccount.objects.filter(pk=messenger_account.pk).update(is_active=False)
    assert [m["method"] for m in browser.status(workspace, VISITOR)["methods"]] == ["line_code"]


def test_turned_off_binding_offers_nothing_and_refuses_to_start(browser, workspace, line_account, admin):
    binding_settings_update(workspace=workspace, by=admin, enabled=False)
    assert browser.status(workspace, VISITOR)["methods"] == []
    response = browser.start(workspace, "line_code", VISITOR)
    assert response.status_code == 422 and error_field(response) == "workspace"


def test_starts_are_rate_limited_per_address(browser, workspace, line_account, monkeypatch):
    monkeypatch.setitem(views.RATE_LIMITS, "start", 2)
    assert browser.start(workspace, "line_code", VISITOR).status_code == 200
    assert browser.start(workspace, "line_code", VISITOR).status_code == 200
    limited = browser.start(workspace, "line_code", VISITOR)
    assert limited.status_code == 429 and limited["Retry-After"] == "600"
    assert limited["Access-Control-Allow-Origin"] == "*"


def test_live_accounts_get_the_apps_own_links(workspace):
    line = ChannelAccount(workspace=workspace, channel="line", name="OA", mode="live", settings={"basic_id": "@acme"})
    assert line_message_url(line, "綁定碼 123456") == (
        "https://line.me/R/oaMessage/%40acme/?%E7%B6%81%E5%AE%9A%E7%A2%BC%20123456")
    wa = ChannelAccount(workspace=workspace, channel="whatsapp", name="WA", mode="live",
                        settings={"display_phone_number": "+852 3000 5678"})
    assert whatsapp_message_url(wa, "code 123456") == "https://wa.me/85230005678?text=code%20123456"
    page = ChannelAccount(workspace=workspace, channel="messenger", name="Page", mode="live", external_id="1234567")
    assert messenger_ref_url(page, "bind.abc_DEF-1") == "https://m.me/1234567?ref=bind.abc_DEF-1"
    ig = ChannelAccount(workspace=workspace, channel="instagram", name="IG", mode="live",
                        settings={"username": "@acme.tea"})
    assert instagram_ref_url(ig, "bind.x") == "https://ig.me/m/acme.tea?ref=bind.x"
    assert line_account_link_url(line, "LT", "N" * 43) == (
        "https://access.line.me/dialog/bot/accountLink?linkToken=LT&nonce=" + "N" * 43)
    assert login_url_with_link_token("https://s.example/login?next=/a#top", "LT") == (
        "https://s.example/login?next=/a&linkToken=LT#top")
    with pytest.raises(ServiceError) as refused:
        line_message_url(ChannelAccount(workspace=workspace, channel="line", name="OA", mode="live"), "x")
    assert refused.value.field == "account"


def test_settings_page_saves_and_explains(workspace, line_account, make_member, console_client):
    marketer = console_client(make_member(workspace, Role.MARKETER))
    page = marketer.get("/social-binding/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme LINE OA" in html and "tidings:account_link" in html and "No bindings yet" in html
    bad = marketer.post("/social-binding/", {"enabled": "on", "code_text": "no placeholder"})
    assert bad.status_code == 200 and "Put {code} where the 6-digit code goes." in bad.content.decode()
    saved = marketer.post("/social-binding/", {"enabled": "on", "success_message": "Hi {name}!",
                                               "code_text": "綁定 {code}", "member_login_url": "https://s.example/login"})
    assert saved.status_code == 302
    settings = BindingSettings.objects.get(workspace=workspace)
    assert (settings.enabled, settings.success_message, settings.code_text, settings.member_login_url) == (
        True, "Hi {name}!", "綁定 {code}", "https://s.example/login")
    agent = console_client(make_member(workspace, Role.CS_AGENT))
    assert agent.get("/social-binding/").status_code == 403


def test_settings_page_empty_state_without_channels(workspace, make_member, console_client):
    html = console_client(make_member(workspace, Role.MARKETER)).get("/social-binding/").content.decode()
    assert "No channel to bind with yet" in html
