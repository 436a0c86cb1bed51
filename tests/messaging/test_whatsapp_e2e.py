"""End to end through the real WhatsApp adapter and the sandbox's fake Cloud API (in-process HTTP): the pipeline's
states from queued to delivered by Meta's status webhooks, the 24-hour window on both sides, retries on Meta's
rate errors and 5xx, and a crash mid-call that must not send twice."""

import datetime
import itertools

import pytest

from tidings.channels.models import RateSlot, RateWindow
from tidings.contacts.models import ChannelIdentity, Contact
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.messaging import delivery
from tidings.messaging.models import Dispatch, DispatchStatus, MessageEvent, MessageStatus
from tidings.messaging.delivery import dispatch_deliver
from tidings.messaging.services import message_send
from tidings.sandbox.fake_graph.common import graph_webhook_send
from tidings.sandbox.fake_graph.whatsapp_webhooks import wa_message_text, wa_webhook_messages
from tidings.sandbox.models import Persona, SandboxDelivery, SandboxRequest
from tidings.sandbox.services import sandbox_fault_inject
from tidings.timers.services import clock_advance

_numbers = itertools.count(1)
TEXT = [{"type": "text", "text": "Your tea is ready"}]
HELLO = {"name": "hello", "language": "en", "category": "MARKETING", "audience": "general",
         "body": "Hello {{1}}, spring tea is here"}
HELLO_SEND = [{"type": "template", "name": "hello", "language": "en", "parameters": ["Mei"]}]


def customer(workspace, account, *, in_window=True):
    """A persona on WhatsApp with a contact and identity; in the window = wrote to us an hour ago (both sides)."""
    wa_id = f"8526{next(_numbers):07d}"
    last = clock.now(workspace) - datetime.timedelta(hours=1) if in_window else None
    contact = Contact.objects.create(workspace=workspace, name="陳美玲", phone=f"+{wa_id}")
    persona = Persona.objects.create(workspace=workspace, name="陳美玲", phone=f"+{wa_id}", contact=contact,
                                     whatsapp_id=wa_id, whatsapp_last_message_at=last)
    ChannelIdentity.objects.create(workspace=workspace, contact=contact, channel="whatsapp", account=account,
                                   external_id=wa_id, subscribed=True, last_inbound_at=last)
    return contact, persona


def kinds(message):
    return [e.kind for e in MessageEvent.objects.filter(message=message).order_by("at", "id")]


def later(workspace, seconds):
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=seconds))


def messages_requests():
    return list(SandboxRequest.objects.filter(provider="whatsapp", path__endswith="/messages").order_by("id"))


def approve_hello(workspace):
    from tidings.message_templates.services import template_create

    template_create(workspace=workspace, actor=None, data=HELLO)
    later(workspace, 31)  # the fake's review, then its signed status webhook


@pytest.mark.django_db(transaction=True)
def test_a_send_goes_queued_sent_delivered_by_metas_status_webhooks(workspace, admin, api_client, whatsapp_account):
    contact, persona = customer(workspace, whatsapp_account)
    api = api_client(admin)
    response = api.post("/api/v1/messages", {"contact_id": contact.pk, "channel": "whatsapp", "messages": TEXT})
    assert response.status_code == 201, response.content
    [message_id] = [m["id"] for m in response.json()["messages"]]
    [request] = messages_requests()
    assert request.response_status == 200
    assert request.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": persona.whatsapp_id,
                            "type": "text", "text": {"body": "Your tea is ready", "preview_url": False},
                            "biz_opaque_callback_data": str(message_id)}
    [delivery] = SandboxDelivery.objects.filter(persona=persona)
    body = api.get(f"/api/v1/messages/{message_id}").json()
    assert body["status"] == "sent" and [e["kind"] for e in body["events"]] == ["queued", "sent"]
    later(workspace, 3)  # sent at once, delivered 2 s later, as signed status webhooks
    body = api.get(f"/api/v1/messages/{message_id}").json()
    assert body["status"] == "delivered" and [e["kind"] for e in body["events"]] == ["queued", "sent", "delivered"]
    assert Dispatch.objects.get().messages.get().provider_message_id == delivery.provider_message_id


@pytest.mark.django_db(transaction=True)
def test_outside_the_window_text_is_refused_before_sending_and_a_template_goes(workspace, whatsapp_account):
    contact, persona = customer(workspace, whatsapp_account, in_window=False)
    with pytest.raises(ServiceError) as refused:
        message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)
    assert refused.value.field == "messages[0].type"
    assert "Outside WhatsApp's 24-hour window only an approved template can be sent" in str(refused.value)
    assert not Dispatch.objects.exists() and not messages_requests()

    approve_hello(workspace)
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=HELLO_SEND)
    [request] = messages_requests()
    assert request.response_status == 200
    assert request.body["template"] == {"name": "hello", "language": {"policy": "deterministic", "code": "en"},
                                        "components": [{"type": "body",
                                                        "parameters": [{"type": "text", "text": "Mei"}]}]}
    later(workspace, 3)
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert SandboxDelivery.objects.get(persona=persona).delivered


@pytest.mark.django_db(transaction=True)
def test_the_persons_message_opens_the_window_for_free_text(workspace, whatsapp_account):
    contact, persona = customer(workspace, whatsapp_account, in_window=False)
    persona.whatsapp_last_message_at = clock.now(workspace)  # what the simulated phone records when they write
    persona.save(update_fields=["whatsapp_last_message_at"])
    body = wa_webhook_messages(whatsapp_account, persona, wa_message_text(whatsapp_account, persona, "還有烏龍嗎?"))
    assert graph_webhook_send(whatsapp_account, body).status_code == 200
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)
    later(workspace, 3)
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_metas_re_engagement_failure_arrives_as_a_failed_status_with_the_error_kept(workspace, whatsapp_account):
    # Tidings believes the window is open (an inbound it saw), but the person's side says it closed: Meta answers
    # with a wamid and reports 131047 afterwards.
    contact, persona = customer(workspace, whatsapp_account)
    Persona.objects.filter(pk=persona.pk).update(whatsapp_last_message_at=None)
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    later(workspace, 3)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error["code"] == 131047 and message.error["title"] == "Re-engagement message"
    assert kinds(message) == ["queued", "sent", "failed"]
    assert SandboxDelivery.objects.get(persona=persona).delivered is False


@pytest.mark.django_db(transaction=True)
def test_a_500_then_success_delivers_exactly_once(workspace, whatsapp_account):
    contact, persona = customer(workspace, whatsapp_account)
    path = f"/v23.0/{whatsapp_account.external_id}/messages"
    sandbox_fault_inject(workspace=workspace, account=whatsapp_account, path=path, status=500)
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PENDING and dispatch.last_error["status"] == 500
    later(workspace, 5)
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT and dispatch.attempts == 2
    assert [r.response_status for r in messages_requests()] == [500, 200]
    assert SandboxDelivery.objects.filter(persona=persona).count() == 1
    message.refresh_from_db()
    assert message.status in (MessageStatus.SENT, MessageStatus.DELIVERED) and kinds(message)[:2] == ["queued", "sent"]


@pytest.mark.django_db(transaction=True)
def test_the_pair_limit_131056_is_retried_later(workspace, whatsapp_account, settings):
    from tests.sandbox.test_fake_whatsapp import Graph, text

    settings.RATE_PAIR_INTERVALS = {"whatsapp": 6.0}
    contact, persona = customer(workspace, whatsapp_account)
    # Another sender on the same number wrote to this person a moment ago.
    assert Graph(whatsapp_account).send(persona.whatsapp_id, text("From the shop's other tool")).status_code == 200
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PENDING and dispatch.last_error["code"] == 131056
    # Our own pair limiter spaced this person's sends 6 s apart on the wall clock; the test moves the workspace
    # clock instead, so it forgets that reservation as 6 real seconds would.
    RateSlot.objects.filter(key__contains=":pair:").delete()
    later(workspace, 7)  # the retry waits at least Meta's 6 s
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT and dispatch.attempts == 2
    assert [r.response_body.get("error", {}).get("code") for r in messages_requests()] == [None, 131056, None]
    assert SandboxDelivery.objects.filter(persona=persona).count() == 2
    message.refresh_from_db()
    assert message.status in (MessageStatus.SENT, MessageStatus.DELIVERED)


@pytest.mark.django_db(transaction=True)
def test_throughput_130429_is_retried_later(workspace, whatsapp_account, monkeypatch):
    from tidings.sandbox import services as sandbox_services

    whatsapp_account.settings = {**whatsapp_account.settings, "rate_limit": 80}
    whatsapp_account.save(update_fields=["settings"])
    contact, persona = customer(workspace, whatsapp_account)
    # This second, other senders on the number already used the tier's 80 messages.
    monkeypatch.setattr(sandbox_services, "_epoch_second", lambda: 1_000)
    RateWindow.objects.create(key=f"sandbox:graph:{whatsapp_account.pk}:whatsapp_messages", window=1_000, count=80)
    message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PENDING and dispatch.last_error["code"] == 130429
    monkeypatch.setattr(sandbox_services, "_epoch_second", lambda: 1_003)
    later(workspace, 3)
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT and dispatch.attempts == 2
    assert SandboxDelivery.objects.filter(persona=persona).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_refused_body_fails_with_metas_error_kept_and_is_not_retried(workspace, whatsapp_account):
    contact, _persona = customer(workspace, whatsapp_account)
    # Approved in Tidings but unknown to Meta (deleted there): 132001, a definite refusal.
    approve_hello(workspace)
    from tidings.sandbox.models import SandboxTemplate

    SandboxTemplate.objects.all().delete()
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=HELLO_SEND)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error["code"] == 132001
    assert Dispatch.objects.get().attempts == 1 and len(messages_requests()) == 1


@pytest.mark.django_db
def test_a_dispatch_left_sending_by_a_crash_is_failed_as_unknown_and_not_resent(workspace, whatsapp_account):
    contact, persona = customer(workspace, whatsapp_account)
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)  # not run yet
    dispatch = Dispatch.objects.get()
    Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.SENDING, attempts=1)  # died mid-call
    assert dispatch_deliver(dispatch_id=dispatch.pk) == "skipped"
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.FAILED and dispatch.last_error == {"message": delivery.OUTCOME_UNKNOWN}
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and "outcome unknown" in message.error["message"]
    assert not messages_requests() and not SandboxDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_list_goes_through_the_pipeline(workspace, whatsapp_account):
    contact, persona = customer(workspace, whatsapp_account)
    message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=[
        {"type": "list", "text": "Pick a tea", "button": "Teas",
         "sections": [{"rows": [{"id": "sencha", "title": "Sencha"}]}]}])
    assert SandboxDelivery.objects.get(persona=persona).payload["interactive"]["type"] == "list"


@pytest.mark.django_db(transaction=True)
def test_a_status_for_a_send_whose_answer_was_lost_finds_its_message_by_our_callback_data(workspace,
                                                                                       whatsapp_account):
    from tidings.sandbox.fake_graph.whatsapp_webhooks import wa_webhook_statuses

    contact, persona = customer(workspace, whatsapp_account)
    [message] = message_send(workspace=workspace, contact=contact, channel="whatsapp", contents=TEXT)
    message.refresh_from_db()
    wamid = message.provider_message_id
    message.__class__.objects.filter(pk=message.pk).update(provider_message_id="")  # as if the answer was lost
    status = {"id": wamid, "status": "read", "timestamp": str(int(clock.now(workspace).timestamp())),
              "recipient_id": persona.whatsapp_id, "biz_opaque_callback_data": str(message.pk)}
    response = graph_webhook_send(whatsapp_account, wa_webhook_statuses(whatsapp_account, [status]))
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.READ and message.provider_message_id == wamid
    assert "read" in kinds(message)
