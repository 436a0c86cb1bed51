"""Every request our SMS adapter (and the official twilio client) sends to the fake Twilio validates against
Twilio's OpenAPI document (api v2010); a request that does not is caught."""

import datetime

import pytest

from tidings.messaging.delivery import dispatch_deliver
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxRequest
from tests.support.openapi_conformance import TWILIO_SPEC, assert_conforms, conformance_errors

from .twilio_support import persona, sms_identity  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
SERVER = "https://api.twilio.com"


def test_every_request_of_the_sms_adapter_conforms(workspace, sms_account, sms_identity, persona, monkeypatch):
    message_send(workspace=workspace, contact=sms_identity.contact, channel="sms",
                 contents=[{"type": "text", "text": "Hello from Tidings, 你好"}], purpose="notification")
    # An in-doubt resend: the adapter lists the messages Twilio has before sending again.
    monkeypatch.setattr("tidings.messaging.delivery._record_many", lambda *a, **k: (_ for _ in ()).throw(SystemExit()))
    [message] = message_send(workspace=workspace, contact=sms_identity.contact, channel="sms",
                             contents=[{"type": "text", "text": "second"}], purpose="notification")
    monkeypatch.undo()
    assert dispatch_deliver(dispatch_id=message.dispatch_id) == "sent"

    recorded = list(SandboxRequest.objects.filter(account=sms_account, provider="twilio").order_by("id"))
    assert [(r.method, r.response_status) for r in recorded] == [("POST", 201), ("POST", 201), ("GET", 200)]
    for record in recorded:
        assert record.path.startswith(f"/2010-04-01/Accounts/{sms_account.external_id}/Messages")
        assert_conforms(record, TWILIO_SPEC, server=SERVER)


def test_the_official_clients_requests_conform(live_server, settings, workspace):
    from twilio.rest import Client as TwilioClient

    from tidings.channels.services import account_create

    settings.BASE_URL = live_server.url
    account = account_create(workspace=workspace, actor=None, channel="sms", name="Acme SMS")
    client = TwilioClient(account.external_id, account.credentials["auth_token"])
    client.api.base_url = account.base_url
    sent = client.messages.create(to="+85261234567", from_=account.settings["from"], body="hi",
                                  status_callback="https://example.test/cb")
    client.messages(sent.sid).fetch()
    client.messages.list(to="+85261234567", date_sent_after=datetime.datetime(2020, 1, 1), limit=20)
    recorded = list(SandboxRequest.objects.filter(account=account).order_by("id"))
    assert len(recorded) == 3
    for record in recorded:
        assert_conforms(record, TWILIO_SPEC, server=SERVER)


def _record(**changes):
    fields = {
        "provider": "twilio", "method": "POST", "path": "/2010-04-01/Accounts/AC" + "a" * 32 + "/Messages.json",
        "query": {}, "headers": {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic ***"},
        "body": {"To": "+85261234567", "From": "+85230001234", "Body": "hi"}, "response_status": 201,
    }
    return SandboxRequest(**{**fields, **changes})


@pytest.mark.parametrize("changes, why", [
    ({"path": "/2010-04-01/Accounts/NOTANACCOUNT/Messages.json"}, "AccountSid pattern"),
    ({"body": {"From": "+85230001234", "Body": "hi"}}, "To is required"),
    ({"body": {"To": "+85261234567", "Body": "hi", "ValidityPeriod": "soon"}}, "an integer field"),
    ({"path": "/2010-04-01/Accounts/AC" + "a" * 32 + "/Texts.json"}, "no such operation"),
    ({"method": "GET", "body": None, "query": {"PageSize": "5000"}}, "PageSize above 1000"),
])
def test_a_non_conforming_request_fails(changes, why):
    assert conformance_errors(_record(), TWILIO_SPEC, server=SERVER) == []
    assert conformance_errors(_record(**changes), TWILIO_SPEC, server=SERVER), why
    with pytest.raises(AssertionError):
        assert_conforms(_record(**changes), TWILIO_SPEC, server=SERVER)
