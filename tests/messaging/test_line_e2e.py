"""End to end through the real LINE adapter and the sandbox's fake LINE (in-process HTTP): what the provider
received, what reached each persona, and what Tidings recorded."""

import collections
import datetime

import pytest

from tidings.messaging.models import Dispatch, DispatchStatus, Message, MessageEvent, MessageStatus
from tidings.messaging.services import message_send, message_send_bulk, message_send_pnp
from tidings.sandbox.fake_line.webhooks import line_event_delivery, line_webhook_send
from tidings.sandbox.models import Persona, SandboxDelivery, SandboxRequest
from tidings.sandbox.services import sandbox_fault_inject
from tidings.timers.services import clock_advance

from .conftest import line_personas

pytestmark = pytest.mark.django_db(transaction=True)

PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"


def kinds(message):
    return [e.kind for e in MessageEvent.objects.filter(message=message).order_by("at", "id")]


def later(workspace, seconds):
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=seconds))


def test_api_send_goes_queued_sent_and_reaches_the_persona(workspace, admin, api_client, line_account):
    [identity] = line_personas(workspace, line_account, 1)
    api = api_client(admin)
    response = api.post("/api/v1/messages", {"contact_id": identity.contact_id, "channel": "line", "messages": [
        {"type": "text", "text": "Your tea is ready"},
        {"type": "buttons", "text": "Rate us", "actions": [{"type": "uri", "label": "Rate", "uri": "https://acme.example/rate"}]},
    ]})
    assert response.status_code == 201, response.content
    ids = [m["id"] for m in response.json()["messages"]]
    [request] = SandboxRequest.objects.filter(path=PUSH)
    dispatch = Dispatch.objects.get()
    assert request.response_status == 200
    assert request.headers["X-Line-Retry-Key"] == dispatch.retry_key
    assert request.body["to"] == identity.external_id
    assert request.body["customAggregationUnits"] == [dispatch.options["aggregation_unit"]]
    assert request.body["messages"][0] == {"type": "text", "text": "Your tea is ready"}
    uri = request.body["messages"][1]["template"]["actions"][0]["uri"]
    assert uri.startswith("http://testserver/l/")  # the tracked link, not the raw URL
    deliveries = list(SandboxDelivery.objects.filter(persona__contact_id=identity.contact_id).order_by("id"))
    assert [d.payload["type"] for d in deliveries] == ["text", "template"] and all(d.delivered for d in deliveries)
    for message_id, delivery in zip(ids, deliveries, strict=True):
        body = api.get(f"/api/v1/messages/{message_id}").json()
        assert body["status"] == "sent" and [e["kind"] for e in body["events"]] == ["queued", "sent"]
        assert Message.objects.get(pk=message_id).provider_message_id == delivery.provider_message_id


def test_pnp_goes_sent_then_delivered_by_the_delivery_webhook_once(workspace, admin, api_client, line_account):
    [identity] = line_personas(workspace, line_account, 1, pnp_consent=True)
    persona = Persona.objects.get(contact_id=identity.contact_id)
    [message] = message_send_pnp(workspace=workspace, contact=identity.contact, contents=[
        {"type": "text", "text": "Your order has shipped"}])
    request = SandboxRequest.objects.get(path="/bot/pnp/push")
    dispatch = Dispatch.objects.get()
    assert request.response_status == 200 and "X-Line-Retry-Key" not in request.headers
    assert request.headers["X-Line-Delivery-Tag"] == dispatch.options["delivery_tag"]
    assert kinds(message) == ["queued", "sent"]
    later(workspace, 6)  # the fake's delivery webhook is a timer a few seconds out
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and kinds(message) == ["queued", "sent", "delivered"]
    # LINE redelivers a webhook it is unsure of: the same event again records nothing new
    event = line_event_delivery(workspace, dispatch.options["delivery_tag"], persona)
    assert line_webhook_send(line_account, [event]).status_code == 200
    assert line_webhook_send(line_account, [event], redelivery=True).status_code == 200
    assert MessageEvent.objects.filter(message=message, kind="delivered").count() == 1
    body = api_client(admin).get(f"/api/v1/messages/{message.pk}").json()
    assert body["status"] == "delivered" and [e["kind"] for e in body["events"]] == ["queued", "sent", "delivered"]


@pytest.mark.parametrize("after_processing", [False, True], ids=["lost-request", "lost-answer"])
def test_provider_500_then_success_delivers_exactly_once(workspace, line_account, after_processing):
    [identity] = line_personas(workspace, line_account, 1)
    sandbox_fault_inject(workspace=workspace, account=line_account, path=PUSH, status=500,
                         after_processing=after_processing)
    [message] = message_send(workspace=workspace, contact=identity.contact, channel="line",
                             contents=[{"type": "text", "text": "Once only"}])
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PENDING and dispatch.last_error["status"] == 500
    later(workspace, 5)
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT and dispatch.attempts == 2
    statuses = list(SandboxRequest.objects.filter(path=PUSH).order_by("id").values_list("response_status", flat=True))
    # the answer was lost after LINE accepted it: the resend carries the same retry key and LINE says 409
    assert statuses == ([500, 409] if after_processing else [500, 200])
    keys = set(SandboxRequest.objects.filter(path=PUSH).values_list("headers__X-Line-Retry-Key", flat=True))
    assert keys == {dispatch.retry_key}
    assert SandboxDelivery.objects.filter(persona__contact_id=identity.contact_id).count() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and kinds(message) == ["queued", "sent"]


def test_429_backs_off_and_sends(workspace, line_account):
    [identity] = line_personas(workspace, line_account, 1)
    sandbox_fault_inject(workspace=workspace, account=line_account, path=PUSH, status=429, times=2)
    message_send(workspace=workspace, contact=identity.contact, channel="line", contents=[{"type": "text", "text": "x"}])
    later(workspace, 5)
    later(workspace, 10)
    assert list(SandboxRequest.objects.filter(path=PUSH).order_by("id").values_list("response_status", flat=True)) \
        == [429, 429, 200]
    assert Dispatch.objects.get().status == DispatchStatus.SENT


def test_a_4xx_fails_with_lines_error_kept(workspace, line_account, make_recipient):
    # an identity whose user id LINE does not know for this channel: "Failed to send messages" (400)
    contact, _ = make_recipient(line_account, "U" + "f" * 32)
    [message] = message_send(workspace=workspace, contact=contact, channel="line",
                             contents=[{"type": "text", "text": "x"}])
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error["status"] == 400 and message.error["message"] == "Failed to send messages"
    assert kinds(message) == ["queued", "failed"]
    assert Dispatch.objects.get().attempts == 1  # not retried


def test_bulk_multicasts_to_every_persona_once_blocked_ones_get_nothing(workspace, line_account):
    friends = line_personas(workspace, line_account, 1001)
    blocked = line_personas(workspace, line_account, 2, blocked=True, start=5000)
    dispatches = message_send_bulk(workspace=workspace, identities=[*friends, *blocked], channel="line",
                                   contents=[{"type": "text", "text": "Spring sale"}], purpose="broadcast",
                                   source="broadcast:1")
    assert len(dispatches) == 3
    requests = SandboxRequest.objects.filter(path=MULTICAST)
    assert sorted(len(r.body["to"]) for r in requests) == [3, 500, 500]
    assert all(r.response_status == 200 and r.body["customAggregationUnits"] == ["broadcast_1"] for r in requests)
    per_persona = collections.Counter(SandboxDelivery.objects.values_list("persona_id", flat=True))
    assert len(per_persona) == 1003 and set(per_persona.values()) == {1}
    assert SandboxDelivery.objects.filter(delivered=False).count() == 2
    assert Message.objects.filter(status="sent").count() == 1003
