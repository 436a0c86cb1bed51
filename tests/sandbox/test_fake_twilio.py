"""The fake Twilio: auth, validation errors in Twilio's shape, the Message resource, delivery to personas, the list
endpoint's filters, status callbacks on the workspace clock, inbound SMS, and the official twilio client."""

import datetime
import re

import pytest
from django.test import Client

from tidings.channels.adapters.sms.signature import twilio_signature_valid
from tidings.channels.models import WebhookEvent
from tidings.sandbox.fake_twilio.webhooks import twilio_inbound_sms_send
from tidings.sandbox.models import SandboxDelivery, SandboxRequest
from tidings.timers.services import clock_advance

from .twilio_support import NOBODY_PHONE, PERSONA_PHONE, basic, create, messages_url, persona, sms_identity  # noqa: F401

pytestmark = pytest.mark.django_db


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    return body


def test_bad_credentials_are_401_authenticate(sms_account, persona):
    body = _error(create(sms_account, token="wrong"), 401, 20003)
    assert body["message"] == "Authenticate"
    no_auth = Client().post(messages_url(sms_account), data="To=%2B85261234567&Body=x",
                            content_type="application/x-www-form-urlencoded")
    _error(no_auth, 401, 20003)
    assert not SandboxDelivery.objects.exists()
    logged = SandboxRequest.objects.filter(provider="twilio").order_by("id")
    assert [r.response_status for r in logged] == [401, 401]
    assert logged[0].headers["Authorization"] == "Basic ***"  # the token never reaches the log


def test_another_accounts_sid_in_the_path_is_401(sms_account, workspace, persona):
    from tidings.channels.services import account_create

    other = account_create(workspace=workspace, actor=None, channel="sms", name="Other")
    url = messages_url(sms_account).replace(sms_account.external_id, other.external_id)
    response = Client().post(url, data="To=%2B85261234567&From=%2B85230001234&Body=x",
                             content_type="application/x-www-form-urlencoded", headers=basic(sms_account))
    _error(response, 401, 20003)


def test_invalid_to_from_and_body_are_400s(sms_account, persona):
    body = _error(create(sms_account, To="12345"), 400, 21211)
    assert body["message"] == "The 'To' number 12345 is not a valid phone number."
    _error(create(sms_account, To=None), 400, 21604)
    _error(create(sms_account, From="+85230009999"), 400, 21606)
    _error(create(sms_account, From=None), 400, 21603)
    _error(create(sms_account, Body=None), 400, 21602)
    _error(create(sms_account, Body="x" * 1601), 400, 21617)
    assert create(sms_account, Body="x" * 1600).status_code == 201
    assert SandboxDelivery.objects.count() == 1


def test_create_answers_the_message_resource_and_delivers(sms_account, persona):
    response = create(sms_account, Body="Your tea is ready 🍵")
    assert response.status_code == 201
    m = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", m["sid"])
    assert m["status"] == "queued" and m["direction"] == "outbound-api"
    assert m["to"] == PERSONA_PHONE and m["from"] == sms_account.settings["from"]
    assert m["account_sid"] == sms_account.external_id and m["num_segments"] == "1"
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", m["date_created"])
    assert m["uri"] == f"/2010-04-01/Accounts/{sms_account.external_id}/Messages/{m['sid']}.json"
    delivery = SandboxDelivery.objects.get()
    assert (delivery.persona, delivery.kind, delivery.payload, delivery.provider_message_id) == (
        persona, "sms", {"body": "Your tea is ready 🍵"}, m["sid"])
    fetched = Client().get(f"/sandbox/twilio/{sms_account.public_id}{m['uri']}", headers=basic(sms_account))
    assert fetched.status_code == 200 and fetched.json()["sid"] == m["sid"]
    missing = Client().get(f"/sandbox/twilio/{sms_account.public_id}{m['uri'].replace(m['sid'][2:], '0' * 32)}",
                           headers=basic(sms_account))
    _error(missing, 404, 20404)


def test_segments_are_counted_like_twilio(sms_account, persona):
    assert create(sms_account, Body="a" * 161).json()["num_segments"] == "2"
    assert create(sms_account, Body="你" * 71).json()["num_segments"] == "2"


def test_list_filters_by_to_from_and_date_sent(sms_account, persona, workspace):
    first = create(sms_account, Body="one").json()
    create(sms_account, Body="two", To=NOBODY_PHONE)
    clock_advance(workspace=workspace, by=datetime.timedelta(days=2))
    third = create(sms_account, Body="three").json()

    def listing(**query):
        response = Client().get(messages_url(sms_account), query, headers=basic(sms_account))
        assert response.status_code == 200, response.content
        return response.json()

    assert [m["body"] for m in listing()["messages"]] == ["three", "two", "one"]  # newest first
    assert [m["body"] for m in listing(To=PERSONA_PHONE)["messages"]] == ["three", "one"]
    assert listing(From="+85230009999")["messages"] == []
    sent_third = datetime.datetime.strptime(third["date_created"], "%a, %d %b %Y %H:%M:%S %z")
    after = {"DateSent>": sent_third.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert [m["body"] for m in listing(**after)["messages"]] == ["three"]
    assert [m["body"] for m in listing(**{"DateSent<": sent_third.date().isoformat()})["messages"]] == [
        "three", "two", "one"]
    day_one = datetime.datetime.strptime(first["date_created"], "%a, %d %b %Y %H:%M:%S %z").date()
    assert [m["body"] for m in listing(DateSent=day_one.isoformat(), To=PERSONA_PHONE)["messages"]] == ["one"]
    # Paging: next_page_uri is relative to the API base, as the official client expects.
    page = listing(PageSize=2)
    assert len(page["messages"]) == 2 and page["next_page_uri"].startswith(
        f"/2010-04-01/Accounts/{sms_account.external_id}/Messages.json?")
    rest = Client().get(f"/sandbox/twilio/{sms_account.public_id}{page['next_page_uri']}", headers=basic(sms_account))
    assert [m["body"] for m in rest.json()["messages"]] == ["one"] and rest.json()["next_page_uri"] is None


def test_status_callbacks_follow_the_workspace_clock_signed(sms_account, persona, workspace, settings):
    callback = f"{settings.BASE_URL}/webhooks/twilio/{sms_account.public_id}"
    sid = create(sms_account, StatusCallback=callback).json()["sid"]
    assert not WebhookEvent.objects.exists()
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=1))
    assert list(WebhookEvent.objects.values_list("provider_event_id", flat=True)) == [f"{sid}:sent"]
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    events = {e.provider_event_id: e.payload for e in WebhookEvent.objects.all()}
    assert set(events) == {f"{sid}:sent", f"{sid}:delivered"}
    delivered = events[f"{sid}:delivered"]
    assert delivered["MessageStatus"] == "delivered" and delivered["To"] == PERSONA_PHONE
    assert delivered["AccountSid"] == sms_account.external_id and "ErrorCode" not in delivered
    fetched = Client().get(messages_url(sms_account).replace(".json", f"/{sid}.json"), headers=basic(sms_account))
    assert fetched.json()["status"] == "delivered"


def test_a_number_without_persona_is_accepted_then_undelivered(sms_account, workspace, settings):
    callback = f"{settings.BASE_URL}/webhooks/twilio/{sms_account.public_id}"
    response = create(sms_account, To=NOBODY_PHONE, StatusCallback=callback)
    assert response.status_code == 201
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    sid = response.json()["sid"]
    undelivered = WebhookEvent.objects.get(provider_event_id=f"{sid}:undelivered").payload
    assert undelivered["ErrorCode"] == "30003"
    fetched = Client().get(messages_url(sms_account).replace(".json", f"/{sid}.json"), headers=basic(sms_account))
    assert (fetched.json()["status"], fetched.json()["error_code"]) == ("undelivered", 30003)
    assert not SandboxDelivery.objects.exists()


def test_callback_signatures_validate_with_twilios_request_validator(sms_account, persona, workspace, monkeypatch):
    from twilio.request_validator import RequestValidator

    from tidings.sandbox.fake_twilio import webhooks

    seen = []
    real = webhooks.twilio_post_signed

    def spy(account, url, params):
        from tidings.channels.adapters.sms.signature import twilio_signature

        seen.append((url, dict(params), twilio_signature(account.credentials["auth_token"], url, params)))
        return real(account, url, params)

    monkeypatch.setattr("tidings.sandbox.fake_twilio.timer_handlers.twilio_post_signed", spy)
    create(sms_account, StatusCallback="https://example.test/hook?x=1")
    monkeypatch.setattr(webhooks, "http_client", _RefusingClient)
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    assert [p["MessageStatus"] for _url, p, _sig in seen] == ["sent", "delivered"]
    validator = RequestValidator(sms_account.credentials["auth_token"])
    for url, params, signature in seen:
        assert validator.validate(url, params, signature)
        assert not validator.validate(url, {**params, "MessageStatus": "failed"}, signature)
        assert not twilio_signature_valid("another-token", url, params, signature)


class _RefusingClient:
    """Stands in for the HTTP client so a callback to an outside URL goes nowhere (and is not retried)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def post(self, url, **kwargs):
        import httpx

        raise httpx.ConnectError("no network in tests")


def test_inbound_sms_reaches_tidings_signed(sms_account, persona):
    sid, status = twilio_inbound_sms_send(sms_account, persona, "Is the shop open?")
    assert status == 200
    event = WebhookEvent.objects.get(provider_event_id=sid)
    assert event.event_type == "message"
    assert event.payload["Body"] == "Is the shop open?" and event.payload["From"] == PERSONA_PHONE
    assert event.payload["To"] == sms_account.settings["from"] and event.payload["SmsStatus"] == "received"


def test_fault_injection_answers_twilio_errors(sms_account, persona, workspace):
    from tidings.sandbox.services import sandbox_fault_inject

    path = f"/2010-04-01/Accounts/{sms_account.external_id}/Messages.json"
    sandbox_fault_inject(workspace=workspace, account=sms_account, path=path, status=503)
    _error(create(sms_account), 503, 20500)
    assert not SandboxDelivery.objects.exists()
    sandbox_fault_inject(workspace=workspace, account=sms_account, path=path, status=500, after_processing=True)
    _error(create(sms_account), 500, 20500)
    assert SandboxDelivery.objects.count() == 1  # created, the answer lost on the way back
    assert create(sms_account).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_the_official_twilio_client_creates_and_fetches_through_the_fake(live_server, settings, workspace):
    from twilio.rest import Client as TwilioClient

    from tidings.channels.services import account_create
    from tidings.sandbox.models import Persona

    settings.BASE_URL = live_server.url
    account = account_create(workspace=workspace, actor=None, channel="sms", name="Acme SMS")
    Persona.objects.create(workspace=workspace, name="Mei", phone=PERSONA_PHONE)
    client = TwilioClient(account.external_id, account.credentials["auth_token"])
    client.api.base_url = account.base_url  # {live server}/sandbox/twilio/<public id>
    message = client.messages.create(to=PERSONA_PHONE, from_=account.settings["from"], body="Hi from twilio-python")
    assert message.sid.startswith("SM") and message.status == "queued" and message.num_segments == "1"
    assert client.messages(message.sid).fetch().body == "Hi from twilio-python"
    listed = client.messages.list(to=PERSONA_PHONE, date_sent_after=datetime.datetime(2000, 1, 1))
    assert [m.sid for m in listed] == [message.sid]
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to="12345", from_=account.settings["from"], body="x")
    assert (refused.value.status, refused.value.code) == (400, 21211)
    assert SandboxDelivery.objects.filter(persona__phone=PERSONA_PHONE).count() == 1
