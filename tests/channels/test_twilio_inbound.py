"""/webhooks/twilio/<account>: status callbacks become message events, inbound SMS an inbound message (C2).

Signed with twilio's own RequestValidator over the URL Twilio called (BASE_URL + path), form-encoded as Twilio posts.
"""

import logging
from urllib.parse import urlencode

import pytest
from django.test import Client

from tidings.channels.adapters.sms.signature import twilio_signature
from tidings.channels.models import WebhookEvent
from tidings.contacts.services import identity_upsert
from tidings.messaging.models import Direction, EventKind, Message


def post_twilio(account, params: dict, *, signature: str | None = None):
    url = f"http://testserver/webhooks/twilio/{account.public_id}"
    if signature is None:
        signature = twilio_signature(account.credentials["auth_token"], url, params)
    return Client().post(f"/webhooks/twilio/{account.public_id}", data=urlencode(params),
                         content_type="application/x-www-form-urlencoded", headers={"X-Twilio-Signature": signature})


def _sent_sms(account, sid="SM" + "1" * 32, phone="+85261234567"):
    identity, _ = identity_upsert(workspace=account.workspace, account=account, external_id=phone)
    return Message.objects.create(workspace=account.workspace, contact=identity.contact, identity=identity,
                                  account=account, channel="sms", content={"type": "text", "text": "Code 1234"},
                                  status="sent", provider_message_id=sid)


def _status(account, sid, status, **extra):
    return {"AccountSid": account.external_id, "MessageSid": sid, "SmsSid": sid, "MessageStatus": status,
            "SmsStatus": status, "From": account.settings["from"], "To": "+85261234567", "ApiVersion": "2010-04-01",
            **extra}


@pytest.mark.django_db(transaction=True)
def test_status_callbacks_move_the_message_forward(sms_account):
    message = _sent_sms(sms_account)
    sid = message.provider_message_id
    for status in ("queued", "sent", "delivered"):
        assert post_twilio(sms_account, _status(sms_account, sid, status)).status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert set(message.events.values_list("kind", flat=True)) >= {"sent", "delivered"}
    # A repeated callback is stored once and changes nothing.
    assert post_twilio(sms_account, _status(sms_account, sid, "delivered")).status_code == 200
    assert WebhookEvent.objects.filter(account=sms_account).count() == 3
    assert message.events.filter(kind=EventKind.DELIVERED).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", ["failed", "undelivered"])
def test_failed_and_undelivered_keep_twilios_error(sms_account, status):
    message = _sent_sms(sms_account)
    params = _status(sms_account, message.provider_message_id, status, ErrorCode="30003",
                     ErrorMessage="Unreachable destination handset")
    assert post_twilio(sms_account, params).status_code == 200
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error["code"] == 30003
    assert "Unreachable" in message.error["message"]
    assert message.events.get(kind=EventKind.FAILED).data["status"] == status


@pytest.mark.django_db(transaction=True)
def test_a_status_for_another_accounts_message_touches_nothing(sms_account, workspace):
    from tidings.channels.services import account_create

    other = account_create(workspace=workspace, actor=None, channel="sms", name="Other sender")
    message = _sent_sms(other)
    assert post_twilio(sms_account, _status(sms_account, message.provider_message_id, "delivered")).status_code == 200
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.django_db(transaction=True)
def test_inbound_sms_is_an_inbound_message_and_a_reply(sms_account):
    sent = _sent_sms(sms_account)
    params = {"AccountSid": sms_account.external_id, "MessageSid": "SM" + "9" * 32, "SmsSid": "SM" + "9" * 32,
              "From": "+85261234567", "To": sms_account.settings["from"], "Body": "STOP? no, thanks!",
              "NumMedia": "0", "ApiVersion": "2010-04-01"}
    assert post_twilio(sms_account, params).status_code == 200
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert (inbound.channel, inbound.content, inbound.contact) == (
        "sms", {"type": "text", "text": "STOP? no, thanks!"}, sent.contact)
    assert inbound.provider_message_id == "SM" + "9" * 32 and inbound.source == "webhook"
    assert sent.events.filter(kind=EventKind.REPLIED).exists()


@pytest.mark.django_db(transaction=True)
def test_bad_twilio_signature_is_401_and_nothing_stored(sms_account, caplog):
    message = _sent_sms(sms_account)
    params = _status(sms_account, message.provider_message_id, "delivered")
    wrong_url = twilio_signature(sms_account.credentials["auth_token"], "http://evil.example/x", params)
    with caplog.at_level(logging.WARNING, logger="tidings.webhooks"):
        assert post_twilio(sms_account, params, signature=wrong_url).status_code == 401
    assert not WebhookEvent.objects.exists()
    assert any("invalid signature" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_a_line_account_is_not_served_under_twilio(line_account, sms_account):
    response = Client().post(f"/webhooks/twilio/{line_account.public_id}", data="a=b",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 404
