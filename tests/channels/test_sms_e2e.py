"""SMS end to end through the pipeline and the fake Twilio: queued → sent → delivered via the signed status
callback; a 5xx retried once; an in-doubt resend adopts the message Twilio already has instead of texting twice."""

import datetime

import pytest

from tidings.messaging.models import Dispatch, Message
from tidings.messaging.delivery import dispatch_deliver
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxDelivery, SandboxRequest
from tidings.sandbox.services import sandbox_fault_inject
from tidings.timers.services import clock_advance

from tests.sandbox.twilio_support import PERSONA_PHONE, persona, sms_identity  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _send(workspace, identity, text="Your order is ready"):
    [message] = message_send(workspace=workspace, contact=identity.contact, channel="sms",
                             contents=[{"type": "text", "text": text}], purpose="notification", source="test")
    message.refresh_from_db()
    return message


def _events(message):
    return sorted(message.events.values_list("kind", flat=True))


def _creates(account):
    return SandboxRequest.objects.filter(account=account, method="POST", path__endswith="/Messages.json")


def test_queued_sent_delivered(workspace, sms_account, sms_identity, persona):
    message = _send(workspace, sms_identity)
    assert message.status == "sent" and message.provider_message_id.startswith("SM")
    delivery = SandboxDelivery.objects.get()
    assert (delivery.persona, delivery.payload, delivery.provider_message_id) == (
        persona, {"body": "Your order is ready"}, message.provider_message_id)
    [create] = _creates(sms_account)
    assert create.body["To"] == PERSONA_PHONE and create.body["From"] == sms_account.settings["from"]
    assert create.body["StatusCallback"] == f"http://testserver/webhooks/twilio/{sms_account.public_id}"
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    message.refresh_from_db()
    assert message.status == "delivered"
    assert _events(message) == ["delivered", "queued", "sent"]


def test_unknown_number_ends_failed_with_twilios_error_code(workspace, sms_account, sms_identity):
    message = _send(workspace, sms_identity)  # no persona has this number
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    message.refresh_from_db()
    assert message.status == "failed"
    assert message.events.get(kind="failed").data["code"] == 30003


def test_a_refused_send_keeps_twilios_error(workspace, sms_account, sms_identity, persona):
    sms_identity.external_id = "+1234"  # not a phone number Twilio can text
    sms_identity.save()
    message = _send(workspace, sms_identity)
    assert message.status == "failed"
    assert message.error == {"code": 21211, "message": "The 'To' number +1234 is not a valid phone number.",
                             "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
    assert not SandboxDelivery.objects.exists()


def test_a_5xx_is_retried_and_delivers_once(workspace, sms_account, sms_identity, persona):
    path = f"/2010-04-01/Accounts/{sms_account.external_id}/Messages.json"
    sandbox_fault_inject(workspace=workspace, account=sms_account, path=path, status=503)
    message = _send(workspace, sms_identity)
    assert message.status == "queued"
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=15))  # the retry
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))  # the status callbacks of the retry
    message.refresh_from_db()
    assert message.status == "delivered"
    assert SandboxDelivery.objects.count() == 1


def test_a_5xx_after_twilio_accepted_is_adopted_not_resent(workspace, sms_account, sms_identity, persona):
    path = f"/2010-04-01/Accounts/{sms_account.external_id}/Messages.json"
    sandbox_fault_inject(workspace=workspace, account=sms_account, path=path, status=500, after_processing=True)
    message = _send(workspace, sms_identity)
    assert message.status == "queued" and SandboxDelivery.objects.count() == 1
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=15))  # the retry
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))  # the status callbacks of the retry
    message.refresh_from_db()
    assert SandboxDelivery.objects.count() == 1  # no second SMS
    assert message.provider_message_id == SandboxDelivery.objects.get().provider_message_id
    assert message.status == "delivered"


def test_worker_killed_after_twilio_accepted_resend_adopts_the_sid(workspace, sms_account, sms_identity, persona,
                                                                   monkeypatch):
    earlier = _send(workspace, sms_identity, text="Hi")  # the same text, sent before: its sid is not ours to take

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("tidings.messaging.delivery._record_many", killed)
    _send(workspace, sms_identity, text="Hi")  # the task dies after Twilio answered, before recording
    monkeypatch.undo()
    message = Message.objects.exclude(pk=earlier.pk).get()
    dispatch = message.dispatch
    assert (dispatch.status, dispatch.attempts, message.provider_message_id) == ("sending", 1, "")
    assert SandboxDelivery.objects.count() == 2
    in_doubt_sid = SandboxDelivery.objects.order_by("-id").first().provider_message_id

    assert dispatch_deliver(dispatch_id=dispatch.pk) == "sent"
    message.refresh_from_db()
    assert message.provider_message_id == in_doubt_sid != earlier.provider_message_id
    assert SandboxDelivery.objects.count() == 2  # the resend texted nobody
    assert _creates(sms_account).count() == 2
    assert SandboxRequest.objects.filter(account=sms_account, method="GET").count() == 1


def test_worker_killed_before_the_request_resend_sends(workspace, sms_account, sms_identity, persona, monkeypatch):
    def killed(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("tidings.channels.adapters.sms.adapter.SmsAdapter.send", killed)
    _send(workspace, sms_identity)  # the task dies before the provider call
    monkeypatch.undo()
    dispatch = Dispatch.objects.get()
    assert (dispatch.status, dispatch.attempts) == ("sending", 1) and not SandboxDelivery.objects.exists()
    assert dispatch_deliver(dispatch_id=dispatch.pk) == "sent"
    assert SandboxDelivery.objects.count() == 1
