"""The SMS adapter: what it refuses, segment counting, Twilio requests and answers, webhook verification/splitting/
parsing, and the provider interface."""

import datetime
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.test import Client, RequestFactory

from tidings.channels.adapters.sms import sms_segments
from tidings.channels.adapters.sms.providers import provider_for, provider_register
from tidings.channels.adapters.sms.signature import twilio_signature
from tidings.channels.content import contents_parse
from tidings.channels.models import WebhookEvent
from tidings.channels.registry import adapter_for
from tidings.core.errors import ServiceError

ADAPTER = adapter_for("sms")


# --- validation ------------------------------------------------------------------------------------------------


def test_limits_and_base_url():
    assert ADAPTER.supported_kinds == {"text"}
    assert (ADAPTER.max_messages_per_request, ADAPTER.max_recipients_per_request) == (1, 1)
    assert ADAPTER.default_base_url() == "https://api.twilio.com"


@pytest.mark.parametrize("content, name", [
    ({"type": "image", "url": "https://x.test/a.png"}, "an image"),
    ({"type": "carousel", "columns": [{"text": "t", "actions": [{"type": "uri", "label": "Go",
                                                                  "uri": "https://x.test"}]}]}, "a carousel"),
    ({"type": "buttons", "text": "t", "actions": [{"type": "postback", "label": "Yes", "data": "y"}]},
     "a buttons message"),
])
def test_non_text_kinds_are_refused_with_the_field_path(content, name):
    contents = contents_parse([{"type": "text", "text": "hi"}, content])
    with pytest.raises(ServiceError) as refused:
        ADAPTER.validate(contents)
    assert refused.value.field == "messages[1].type"
    assert str(refused.value.message) == f"SMS can only carry text; this message is {name}."


def test_text_over_1600_characters_is_refused():
    ADAPTER.validate(contents_parse([{"type": "text", "text": "x" * 1600}]))
    with pytest.raises(ServiceError) as refused:
        ADAPTER.validate(contents_parse([{"type": "text", "text": "x" * 1601}]))
    assert refused.value.field == "messages[0].text"


def test_quick_replies_are_refused():
    contents = contents_parse([{"type": "text", "text": "hi", "quick_replies": [
        {"type": "message", "label": "Yes", "text": "yes"}]}])
    with pytest.raises(ServiceError) as refused:
        ADAPTER.validate(contents)
    assert refused.value.field == "messages[0].quick_replies"


# --- segments --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("a" * 160, ("GSM-7", 1)), ("a" * 161, ("GSM-7", 2)), ("a" * 306, ("GSM-7", 2)), ("a" * 307, ("GSM-7", 3)),
    ("你" * 70, ("UCS-2", 1)), ("你" * 71, ("UCS-2", 2)), ("你" * 134, ("UCS-2", 2)), ("你" * 135, ("UCS-2", 3)),
    ("a" * 69 + "é", ("GSM-7", 1)),  # é is in the GSM-7 alphabet
    ("a" * 69 + "ê", ("UCS-2", 1)), ("a" * 70 + "ê", ("UCS-2", 2)),  # ê is not: the whole text goes UCS-2
    ("€" * 80, ("GSM-7", 1)), ("€" * 80 + "a", ("GSM-7", 2)),  # extension characters count two septets
    ("a" * 152 + "[" + "a" * 8, ("GSM-7", 2)),  # 162 septets; the escape pair starts part two unsplit
    ("a" * 152 + "[" + "a" * 152, ("GSM-7", 3)),
    ("😀" * 35, ("UCS-2", 1)), ("😀" * 36, ("UCS-2", 2)),  # an emoji is two UTF-16 units
    ("", ("GSM-7", 1)),
])
def test_sms_segments(text, expected):
    assert sms_segments(text) == expected


# --- webhooks --------------------------------------------------------------------------------------------------

STATUS = {"MessageSid": "SM" + "a" * 32, "SmsSid": "SM" + "a" * 32, "MessageStatus": "undelivered",
          "SmsStatus": "undelivered", "To": "+85261234567", "From": "+85230001234", "ApiVersion": "2010-04-01",
          "ErrorCode": "30003"}


def _signed_request(account, params, settings, signature=None):
    path = f"/webhooks/twilio/{account.public_id}"
    body = urlencode(params).encode()
    sig = signature or twilio_signature(account.credentials["auth_token"], settings.BASE_URL + path, params)
    request = RequestFactory().post(path, data=body, content_type="application/x-www-form-urlencoded",
                                    headers={"X-Twilio-Signature": sig})
    return request, body


@pytest.mark.django_db
def test_verify_signature_uses_the_public_url(sms_account, settings):
    params = {**STATUS, "AccountSid": sms_account.external_id}
    request, body = _signed_request(sms_account, params, settings)
    assert ADAPTER.verify_signature(sms_account, request, body)
    tampered = urlencode({**params, "MessageStatus": "delivered"}).encode()
    assert not ADAPTER.verify_signature(sms_account, request, tampered)
    request, body = _signed_request(sms_account, params, settings, signature="bm9wZQ==")
    assert not ADAPTER.verify_signature(sms_account, request, body)


@pytest.mark.django_db
def test_split_and_parse_status_and_inbound(sms_account, settings):
    params = {**STATUS, "AccountSid": sms_account.external_id}
    request, body = _signed_request(sms_account, params, settings)
    [item] = ADAPTER.split_webhook(sms_account, request, body)
    assert (item.provider_event_id, item.event_type) == (f"{STATUS['MessageSid']}:undelivered", "status")
    event = ADAPTER.parse_event(sms_account, item.payload)
    assert (event.kind, event.provider_message_id, event.status) == ("status", STATUS["MessageSid"], "undelivered")
    assert event.error == {"code": 30003, "message": "Unreachable destination handset"}
    delivered = ADAPTER.parse_event(sms_account, {**item.payload, "MessageStatus": "delivered", "ErrorCode": ""})
    assert delivered.error is None

    inbound = {"MessageSid": "SM" + "b" * 32, "AccountSid": sms_account.external_id, "From": "+85261234567",
               "To": "+85230001234", "Body": "Hello?", "NumMedia": "0", "SmsStatus": "received"}
    request, body = _signed_request(sms_account, inbound, settings)
    [item] = ADAPTER.split_webhook(sms_account, request, body)
    assert (item.provider_event_id, item.event_type) == (inbound["MessageSid"], "message")
    event = ADAPTER.parse_event(sms_account, item.payload)
    assert (event.kind, event.user_id, event.content) == ("message", "+85261234567", {"type": "text", "text": "Hello?"})


@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"Body": "no sid"},
    {"MessageSid": "SM" + "c" * 32},  # neither a status nor a message
    {"MessageSid": "SM" + "c" * 32, "MessageStatus": "sent", "AccountSid": "AC" + "0" * 32},  # another account
])
def test_malformed_webhooks_raise_value_error(sms_account, settings, params):
    request, body = _signed_request(sms_account, params, settings)
    with pytest.raises(ValueError):
        ADAPTER.split_webhook(sms_account, request, body)


@pytest.mark.django_db
def test_receiver_accepts_signed_callbacks_and_rejects_tampered_ones(sms_account, settings, caplog):
    client, url = Client(), f"/webhooks/twilio/{sms_account.public_id}"
    params = {**STATUS, "AccountSid": sms_account.external_id, "MessageStatus": "sent", "SmsStatus": "sent"}
    params.pop("ErrorCode")
    signature = twilio_signature(sms_account.credentials["auth_token"], settings.BASE_URL + url, params)
    tampered = urlencode({**params, "To": "+85269999999"})
    response = client.post(url, data=tampered, content_type="application/x-www-form-urlencoded",
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert "invalid signature" in caplog.text
    response = client.post(url, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert WebhookEvent.objects.get().provider_event_id == f"{STATUS['MessageSid']}:sent"


# --- the provider interface ------------------------------------------------------------------------------------


def test_the_account_chooses_its_provider():
    class Other:
        name = "other-sms"

    provider_register(Other())
    assert provider_for(SimpleNamespace(settings={})).name == "twilio"
    assert provider_for(SimpleNamespace(settings={"provider": "other-sms"})).name == "other-sms"
    with pytest.raises(LookupError):
        provider_for(SimpleNamespace(settings={"provider": "nope"}))


def test_send_refuses_more_than_one_message_per_dispatch():
    with pytest.raises(ValueError):
        ADAPTER.send(SimpleNamespace(settings={}), SimpleNamespace(attempts=1, created_at=datetime.datetime.now()),
                     [object(), object()])
