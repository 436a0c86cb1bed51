"""Console channel pages: per role, connect (live and sandbox), disconnect, and "send test message"."""

import pytest

from tidings.channels.models import ChannelAccount
from tidings.core.permissions import MATRIX, Permission
from tidings.core.roles import Role
from tidings.messaging.models import Message
from tidings.sandbox.personas import persona_create

PAGES = ["/channels/", "/channels/add"]


@pytest.fixture
def admin_client(workspace, make_member, console_client):
    return console_client(make_member(workspace, Role.ADMIN))


@pytest.mark.parametrize("role", list(Role))
def test_pages_follow_the_permission_matrix(role, workspace, make_member, console_client, line_account):
    client = console_client(make_member(workspace, role))
    expected = 200 if role in MATRIX[Permission.CHANNELS_MANAGE] else 403
    for url in PAGES + [f"/channels/{line_account.pk}/test"]:
        assert client.get(url).status_code == expected, url
    response = client.post(f"/channels/{line_account.pk}/active", {"active": "0"})
    assert response.status_code == (302 if expected == 200 else 403)


def test_anonymous_goes_to_login(client):
    assert client.get("/channels/").status_code == 302


def test_list_shows_accounts_with_webhook_urls(admin_client, line_account, sms_account):
    html = admin_client.get("/channels/").content.decode()
    assert f"http://testserver/webhooks/line/{line_account.public_id}" in html
    assert f"http://testserver/webhooks/twilio/{sms_account.public_id}" in html
    assert "data-copy=\"#webhook-" in html and "Send test message" in html
    assert 'data-nav="channels"' in html and "Simulated phones" in html


def test_connect_sandbox_and_live_accounts(admin_client, workspace):
    response = admin_client.post("/channels/add", {"channel": "line", "mode": "sandbox", "name": "Sandbox OA"})
    assert response.status_code == 302
    sandbox = ChannelAccount.objects.get(workspace=workspace, name="Sandbox OA")
    assert sandbox.is_sandbox and sandbox.base_url.endswith(f"/sandbox/line/{sandbox.public_id}")

    response = admin_client.post("/channels/add", {"channel": "line", "mode": "live", "name": "Real OA",
                                                   "channel_id": "1650000000", "channel_secret": "s3cret",
                                                   "access_token": "tok"})
    assert response.status_code == 302
    live = ChannelAccount.objects.get(workspace=workspace, name="Real OA")
    assert live.external_id == "1650000000" and live.credentials == {"channel_secret": "s3cret", "access_token": "tok"}

    response = admin_client.post("/channels/add", {"channel": "sms", "mode": "live", "name": "Twilio",
                                                   "account_sid": "AC" + "1" * 32, "auth_token": "t",
                                                   "sender": "+85230009999"})
    assert response.status_code == 302
    sms = ChannelAccount.objects.get(workspace=workspace, name="Twilio")
    assert sms.settings == {"from": "+85230009999"} and sms.credentials == {"auth_token": "t"}


@pytest.mark.parametrize("data, field", [
    ({"channel": "line", "mode": "live", "name": "X", "channel_secret": "s", "access_token": "t"}, "channel_id"),
    ({"channel": "line", "mode": "live", "name": "X", "channel_id": "1", "access_token": "t"}, "channel_secret"),
    ({"channel": "sms", "mode": "live", "name": "X", "account_sid": "AC1", "auth_token": "t"}, "sender"),
    ({"channel": "sms", "mode": "live", "name": "X", "sender": "+85230009999", "auth_token": "t"}, "account_sid"),
    ({"channel": "line", "mode": "sandbox", "name": ""}, "name"),
])
def test_connect_errors_land_on_the_field(admin_client, workspace, data, field):
    response = admin_client.post("/channels/add", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not ChannelAccount.objects.filter(workspace=workspace).exists()


def test_live_workspace_cannot_connect_sandbox(make_workspace, make_member, console_client):
    live = make_workspace(sandbox=False)
    client = console_client(make_member(live, Role.ADMIN))
    response = client.post("/channels/add", {"channel": "line", "mode": "sandbox", "name": "X"})
    assert response.status_code == 200 and response.context["form"].errors
    assert "Simulated phones" not in client.get("/channels/").content.decode()


def test_disconnect_and_reconnect(admin_client, line_account):
    admin_client.post(f"/channels/{line_account.pk}/active", {"active": "0"})
    line_account.refresh_from_db()
    assert not line_account.is_active
    assert "Disconnected" in admin_client.get("/channels/").content.decode()
    admin_client.post(f"/channels/{line_account.pk}/active", {"active": "1"})
    line_account.refresh_from_db()
    assert line_account.is_active
    assert admin_client.get(f"/channels/{line_account.pk}/active").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_send_test_message_through_the_pipeline(admin_client, workspace, line_account, sms_account):
    persona = persona_create(workspace=workspace, name="Test Tam", phone="+85269870011")
    page = admin_client.get(f"/channels/{line_account.pk}/test")
    identity = next(key for key, label in page.context["form"].fields["identity"].choices if "Test Tam" in label)
    response = admin_client.post(f"/channels/{line_account.pk}/test", {"identity": identity, "text": "Ping 測試"})
    assert response.status_code == 302
    message = Message.objects.get(purpose="test")
    assert response["Location"].endswith(f"?message={message.pk}")
    assert message.contact_id == persona.contact_id and message.content == {"type": "text", "text": "Ping 測試"}
    assert message.status == "sent"  # tasks run inline in tests; the fake LINE accepted the push
    status = admin_client.get(response["Location"], headers={"HX-Request": "true"})
    assert 'data-test-status="sent"' in status.content.decode()
    full = admin_client.get(response["Location"]).content.decode()
    assert "Ping 測試" in full and "Sent" in full
    # The persona's phone got it.
    assert persona.deliveries.get().payload == {"type": "text", "text": "Ping 測試"}


def test_test_message_refuses_unknown_recipient(admin_client, line_account):
    response = admin_client.post(f"/channels/{line_account.pk}/test", {"identity": "999", "text": "x"})
    assert response.status_code == 200 and "identity" in response.context["form"].errors


def test_live_line_and_instagram_keep_the_ids_binding_links_need(admin_client, workspace):
    """Binding by code opens line.me/R/oaMessage/<basic id>; Instagram binding opens ig.me/m/<username>."""
    response = admin_client.post("/channels/add", {"channel": "line", "mode": "live", "name": "Real OA",
                                                   "channel_id": "1650000000", "channel_secret": "s3cret",
                                                   "access_token": "tok", "basic_id": "123abcde"})
    assert response.status_code == 302
    assert ChannelAccount.objects.get(name="Real OA").settings == {"basic_id": "@123abcde"}
    response = admin_client.post("/channels/add", {"channel": "instagram", "mode": "live", "name": "IG",
                                                   "ig_account_id": "17841400000000000", "ig_username": "@acme.tea",
                                                   "ig_access_token": "IGQ-token", "ig_app_secret": "s"})
    assert response.status_code == 302, response.context["form"].errors
    assert ChannelAccount.objects.get(name="IG").settings == {"username": "acme.tea"}
