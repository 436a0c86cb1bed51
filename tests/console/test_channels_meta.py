"""Console channels for WhatsApp, Messenger and Instagram: an Admin connects them live (credentials kept encrypted)
or in the sandbox (none needed), and the list gives each its webhook URL and Meta's verify token."""

import pytest

from tidings.channels.models import ChannelAccount
from tidings.core.roles import Role


@pytest.fixture
def admin_client(workspace, make_member, console_client):
    return console_client(make_member(workspace, Role.ADMIN))


LIVE_WHATSAPP = {"channel": "whatsapp", "mode": "live", "name": "Tea WhatsApp", "wa_phone_number_id": "106540352242922",
                 "wa_waba_id": "102290129340398", "wa_access_token": "EAAG-secret-token", "wa_app_secret": "appsecret1",
                 "wa_verify_token": "my verify phrase", "wa_rate_limit": "1000"}
LIVE_MESSENGER = {"channel": "messenger", "mode": "live", "name": "Tea Page", "mg_page_id": "1234567890",
                  "mg_access_token": "EAAP-page-token", "mg_app_secret": "appsecret2"}
LIVE_INSTAGRAM = {"channel": "instagram", "mode": "live", "name": "Tea IG", "ig_account_id": "17841400000000001",
                  "ig_access_token": "IGQ-token", "ig_app_secret": "appsecret3", "ig_verify_token": "ig phrase"}


def test_connect_live_meta_accounts(admin_client, workspace):
    for data in (LIVE_WHATSAPP, LIVE_MESSENGER, LIVE_INSTAGRAM):
        response = admin_client.post("/channels/add", data)
        assert response.status_code == 302, response.context["form"].errors
    whatsapp = ChannelAccount.objects.get(workspace=workspace, channel="whatsapp")
    assert whatsapp.external_id == "106540352242922" and not whatsapp.is_sandbox
    assert whatsapp.settings == {"waba_id": "102290129340398", "rate_limit": 1000}
    assert whatsapp.credentials == {"access_token": "EAAG-secret-token", "app_secret": "appsecret1",
                                    "verify_token": "my verify phrase"}
    assert "EAAG-secret-token" not in whatsapp.credentials_encrypted  # stored encrypted
    assert whatsapp.base_url.startswith("https://graph.facebook.com")

    page = ChannelAccount.objects.get(workspace=workspace, channel="messenger")
    assert page.external_id == "1234567890" and page.credentials["access_token"] == "EAAP-page-token"
    generated = page.credentials["verify_token"]
    assert len(generated) >= 16  # none given: Tidings made one for Meta's dashboard

    html = admin_client.get("/channels/").content.decode()
    for account in (whatsapp, page):
        assert f"http://testserver/webhooks/{account.channel}/{account.public_id}" in html
    assert "my verify phrase" in html and generated in html and "ig phrase" in html
    assert "102290129340398" in html  # the WABA id, beside the number
    assert "appsecret" not in html and "EAAG-secret-token" not in html


def test_connect_sandbox_meta_accounts_needs_no_credentials(admin_client, workspace):
    for channel in ("whatsapp", "messenger", "instagram"):
        response = admin_client.post("/channels/add", {"channel": channel, "mode": "sandbox", "name": f"S {channel}"})
        assert response.status_code == 302, response.context["form"].errors
        account = ChannelAccount.objects.get(workspace=workspace, channel=channel)
        assert account.is_sandbox and account.base_url.endswith(f"/sandbox/graph/{account.public_id}")
    html = admin_client.get("/channels/").content.decode()
    assert html.count("data-verify-token") == 3


def test_line_accounts_show_no_verify_token(admin_client, line_account):
    assert "data-verify-token" not in admin_client.get("/channels/").content.decode()


@pytest.mark.parametrize("data, field", [
    ({**LIVE_WHATSAPP, "wa_waba_id": ""}, "wa_waba_id"),
    ({**LIVE_WHATSAPP, "wa_phone_number_id": ""}, "wa_phone_number_id"),
    ({**LIVE_WHATSAPP, "wa_access_token": ""}, "wa_access_token"),
    ({**LIVE_WHATSAPP, "wa_rate_limit": "50"}, "wa_rate_limit"),
    ({**LIVE_WHATSAPP, "wa_rate_limit": "5000"}, "wa_rate_limit"),
    ({**LIVE_MESSENGER, "mg_page_id": ""}, "mg_page_id"),
    ({**LIVE_MESSENGER, "mg_app_secret": ""}, "mg_app_secret"),
    ({**LIVE_INSTAGRAM, "ig_access_token": ""}, "ig_access_token"),
])
def test_connect_errors_land_on_the_providers_field(admin_client, workspace, data, field):
    response = admin_client.post("/channels/add", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not ChannelAccount.objects.filter(workspace=workspace).exists()


def test_connect_form_offers_each_providers_fields(admin_client):
    html = admin_client.get("/channels/add").content.decode()
    for name in ("wa_phone_number_id", "wa_waba_id", "wa_verify_token", "wa_rate_limit", "mg_page_id",
                 "ig_account_id"):
        assert f'name="{name}"' in html
    for channel in ("whatsapp", "messenger", "instagram"):
        assert f'data-live-for="{channel}"' in html and f'value="{channel}"' in html
