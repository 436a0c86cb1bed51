"""Messenger end to end through the pipeline and the fake Send API: sent → delivered by the signed
message_deliveries webhook; the 24-hour window and message tags checked before anything is queued, and again by
the fake as Meta does; a 5xx retried into exactly one delivery; the 300/s Page limit."""

import datetime

import pytest

from tidings.channels.models import RateSlot
from tidings.channels.ratelimit import SAFETY, dispatch_limits, rate_key
from tidings.contacts.models import ChannelIdentity
from tidings.contacts.services import identity_upsert
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.messaging.models import Direction, Message
from tidings.messaging.services import message_send, message_send_bulk
from tidings.sandbox.fake_graph.common import graph_webhook_send
from tidings.sandbox.fake_graph.messenger_webhooks import mg_message_text, mg_user_id, mg_webhook_body
from tidings.sandbox.models import Persona, SandboxDelivery, SandboxRequest
from tidings.sandbox.services import sandbox_fault_inject
from tidings.timers.services import clock_advance

pytestmark = pytest.mark.django_db(transaction=True)

ID_FIELD = {"messenger": "messenger_psid", "instagram": "instagram_igsid"}
LAST_FIELD = {"messenger": "messenger_last_message_at", "instagram": "instagram_last_message_at"}


def meta_persona(account, *, name="Mei", phone="+85261234567", scoped_id="1000000000000001") -> Persona:
    """A persona on the account's channel whose identity Tidings already knows (it has not written yet)."""
    persona = Persona.objects.create(workspace=account.workspace, name=name, phone=phone,
                                     **{ID_FIELD[account.channel]: scoped_id})
    identity_upsert(workspace=account.workspace, account=account, external_id=scoped_id, display_name=name)
    return persona


def persona_writes(account, persona, text="Hi, is my order ready?"):
    """The persona writes: the fake notes its window opened and Tidings gets the signed webhook."""
    Persona.objects.filter(pk=persona.pk).update(**{LAST_FIELD[account.channel]: clock.now(account.workspace)})
    persona.refresh_from_db()
    response = graph_webhook_send(account, mg_webhook_body(account, [mg_message_text(account, persona, text)]))
    assert response.status_code == 200


def identity_of(account, persona) -> ChannelIdentity:
    return ChannelIdentity.objects.get(account=account, external_id=mg_user_id(account, persona))


def send(account, persona, contents=None, *, tag=None) -> Message:
    identity = identity_of(account, persona)
    [message] = message_send(workspace=account.workspace, contact=identity.contact, channel=account.channel,
                             contents=contents or [{"type": "text", "text": "Your order is ready"}], tag=tag,
                             purpose="notification", source="test")
    message.refresh_from_db()
    return message


def sends(account):
    return SandboxRequest.objects.filter(account=account, method="POST", path__endswith="/messages")


def later(account, **delta):
    clock_advance(workspace=account.workspace, by=datetime.timedelta(**delta))


@pytest.fixture
def mei(messenger_account):
    return meta_persona(messenger_account)


def test_inside_the_window_sent_then_delivered(messenger_account, mei):
    persona_writes(messenger_account, mei)
    message = send(messenger_account, mei)
    assert message.status == "sent" and message.provider_message_id.startswith("m_")
    [request] = sends(messenger_account)
    assert request.path == f"/v23.0/{messenger_account.external_id}/messages"
    assert request.body == {"recipient": {"id": mei.messenger_psid}, "messaging_type": "RESPONSE",
                            "message": {"text": "Your order is ready"}}
    assert request.response_body == {"recipient_id": mei.messenger_psid, "message_id": message.provider_message_id}
    delivery = SandboxDelivery.objects.get(kind="push")
    assert (delivery.persona, delivery.channel, delivery.provider_message_id) == (
        mei, "messenger", message.provider_message_id)
    assert delivery.payload == {"message": {"text": "Your order is ready"}, "messaging_type": "RESPONSE"}

    later(messenger_account, seconds=2)  # the fake's message_deliveries webhook
    message.refresh_from_db()
    assert message.status == "delivered"
    assert sorted(message.events.values_list("kind", flat=True)) == ["delivered", "queued", "sent"]


def test_rich_contents_render_to_what_the_fake_send_api_accepts(messenger_account, mei):
    persona_writes(messenger_account, mei)
    actions = [{"type": "uri", "label": "Track", "uri": "https://acme.test/track"},
               {"type": "postback", "label": "Change", "data": "order=7&do=change"},
               {"type": "uri", "label": "Call us", "uri": "tel:+85230001234"}]
    contents = [
        {"type": "buttons", "title": "Order #7", "text": "Shipped today", "actions": actions},
        {"type": "buttons", "text": "New arrivals", "image_url": "https://acme.test/a.jpg", "actions": actions[:1]},
        {"type": "carousel", "columns": [{"title": f"Tea {n}", "text": "Oolong", "image_url": "https://acme.test/t.jpg",
                                          "actions": [{"type": "message", "label": "Buy", "text": f"buy {n}"}]}
                                         for n in range(10)]},
        {"type": "image", "url": "https://acme.test/a.jpg"},
        {"type": "video", "url": "https://acme.test/a.mp4", "preview_url": "https://acme.test/a.jpg"},
        {"type": "text", "text": "Rate us?", "quick_replies": [
            {"type": "message", "label": str(n), "text": f"rating {n}"} for n in range(1, 14)]},
    ]
    identity = identity_of(messenger_account, mei)
    messages = message_send(workspace=messenger_account.workspace, contact=identity.contact, channel="messenger",
                            contents=contents, source="test")
    assert [m.status for m in Message.objects.filter(pk__in=[m.pk for m in messages]).order_by("id")] == ["sent"] * 6
    payloads = [d.payload["message"] for d in SandboxDelivery.objects.filter(kind="push").order_by("id")]
    tracked = payloads[0]["attachment"]["payload"]["buttons"][0]["url"]
    assert tracked.startswith("http://testserver/l/")  # the pipeline's tracked link, redirecting to the page
    assert payloads[0]["attachment"]["payload"] == {
        "template_type": "button", "text": "Order #7\nShipped today",
        "buttons": [{"type": "web_url", "url": tracked, "title": "Track"},
                    {"type": "postback", "title": "Change", "payload": "order=7&do=change"},
                    {"type": "phone_number", "title": "Call us", "payload": "+85230001234"}]}
    assert payloads[1]["attachment"]["payload"]["template_type"] == "generic"  # the picture is kept
    assert payloads[1]["attachment"]["payload"]["elements"][0]["image_url"] == "https://acme.test/a.jpg"
    assert len(payloads[2]["attachment"]["payload"]["elements"]) == 10
    assert payloads[2]["attachment"]["payload"]["elements"][3]["buttons"] == [
        {"type": "postback", "title": "Buy", "payload": "buy 3"}]
    assert payloads[3] == {"attachment": {"type": "image", "payload": {"url": "https://acme.test/a.jpg"}}}
    assert payloads[5]["quick_replies"][0] == {"content_type": "text", "title": "1", "payload": "rating 1"}


def test_outside_the_window_without_a_tag_is_refused_before_anything_is_queued(messenger_account, mei):
    persona_writes(messenger_account, mei)
    later(messenger_account, hours=25)
    with pytest.raises(ServiceError) as refused:
        send(messenger_account, mei)
    assert refused.value.field == "tag"
    assert "24 hours" in refused.value.message and "POST_PURCHASE_UPDATE" in refused.value.message
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists() and not sends(messenger_account).exists()


def test_someone_who_never_wrote_cannot_get_a_free_message(messenger_account, mei):
    with pytest.raises(ServiceError) as refused:
        send(messenger_account, mei)
    assert refused.value.field == "tag" and "not written" in refused.value.message


@pytest.mark.parametrize("tag", ["PROMOTION", "MARKETING", "post_purchase_update", "SHIPPING_UPDATE"])
def test_a_promotional_or_unknown_tag_is_refused_even_inside_the_window(messenger_account, mei, tag):
    persona_writes(messenger_account, mei)
    with pytest.raises(ServiceError) as refused:
        send(messenger_account, mei, tag=tag)
    assert refused.value.field == "tag"
    assert tag in refused.value.message and "promotions" in refused.value.message
    assert not sends(messenger_account).exists()


def test_post_purchase_update_goes_outside_the_window_as_a_tagged_message(messenger_account, mei):
    persona_writes(messenger_account, mei)
    later(messenger_account, days=3)
    message = send(messenger_account, mei, tag="POST_PURCHASE_UPDATE")
    assert message.status == "sent"
    [request] = sends(messenger_account)
    assert (request.body["messaging_type"], request.body["tag"]) == ("MESSAGE_TAG", "POST_PURCHASE_UPDATE")
    assert SandboxDelivery.objects.get(kind="push").payload["tag"] == "POST_PURCHASE_UPDATE"
    later(messenger_account, seconds=2)
    message.refresh_from_db()
    assert message.status == "delivered"


def test_human_agent_covers_seven_days_and_no_more(messenger_account, mei):
    persona_writes(messenger_account, mei)
    later(messenger_account, days=6, hours=23)
    assert send(messenger_account, mei, tag="HUMAN_AGENT").status == "sent"
    later(messenger_account, hours=2)
    with pytest.raises(ServiceError) as refused:
        send(messenger_account, mei, tag="HUMAN_AGENT")
    assert refused.value.field == "tag" and "7 days" in refused.value.message
    assert sends(messenger_account).count() == 1


def test_the_fake_refuses_outside_the_window_as_meta_does(messenger_account, mei):
    """Tidings believes the window is open (its identity saw a message) but the persona last wrote 2 days ago:
    Meta's own check answers 10 / 2018278 and the message fails with that error kept."""
    persona_writes(messenger_account, mei)
    later(messenger_account, days=2)
    ChannelIdentity.objects.filter(pk=identity_of(messenger_account, mei).pk).update(
        last_inbound_at=clock.now(messenger_account.workspace))
    message = send(messenger_account, mei)
    assert message.status == "failed"
    assert (message.error["code"], message.error["error_subcode"]) == (10, 2018278)
    assert "outside of allowed window" in message.error["message"]
    assert not SandboxDelivery.objects.filter(kind="push").exists()


def test_an_unknown_recipient_fails_with_metas_no_matching_user(messenger_account, mei):
    persona_writes(messenger_account, mei)
    Persona.objects.filter(pk=mei.pk).update(messenger_psid="1999999999999999")  # the persona left Messenger
    message = send(messenger_account, mei)
    assert message.status == "failed"
    assert (message.error["code"], message.error["error_subcode"]) == (100, 2018001)


def test_a_5xx_is_retried_and_delivers_once(messenger_account, mei):
    persona_writes(messenger_account, mei)
    sandbox_fault_inject(workspace=messenger_account.workspace, account=messenger_account,
                         path=f"/v23.0/{messenger_account.external_id}/messages", status=500)
    message = send(messenger_account, mei)
    assert message.status == "queued" and message.dispatch.last_error["status"] == 500
    later(messenger_account, minutes=15)  # the retry
    later(messenger_account, seconds=2)  # its delivery webhook
    message.refresh_from_db()
    assert message.status == "delivered"
    assert SandboxDelivery.objects.filter(kind="push").count() == 1
    assert list(sends(messenger_account).values_list("response_status", flat=True).order_by("id")) == [500, 200]


def test_a_dispatch_found_mid_call_is_failed_not_resent(messenger_account, mei, monkeypatch):
    from tidings.messaging.delivery import dispatch_deliver

    persona_writes(messenger_account, mei)

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("tidings.messaging.delivery._record_many", killed)
    send(messenger_account, mei)  # the worker dies after Meta answered, before recording
    monkeypatch.undo()
    message = Message.objects.get(direction=Direction.OUTBOUND)
    assert dispatch_deliver(dispatch_id=message.dispatch_id) == "skipped"
    message.refresh_from_db()
    assert message.status == "failed" and "outcome unknown" in message.error["message"]
    assert SandboxDelivery.objects.filter(kind="push").count() == 1  # sent once, never twice


def test_the_pipeline_spaces_sends_at_the_pages_300_per_second(messenger_account, mei):
    identity = identity_of(messenger_account, mei)
    [(key, interval)] = dispatch_limits(messenger_account, "push", identity.pk)
    assert key == rate_key(messenger_account, "push")
    assert interval == pytest.approx(1 / (300 * SAFETY))
    persona_writes(messenger_account, mei)
    send(messenger_account, mei)
    assert RateSlot.objects.filter(key=key).exists()  # the send took its slot under that limit


def test_bulk_sends_to_those_in_the_window_and_fails_the_others_with_the_reason(messenger_account, mei):
    bo = meta_persona(messenger_account, name="Bo", phone="+85261234568", scoped_id="1000000000000002")
    persona_writes(messenger_account, mei)
    identities = [identity_of(messenger_account, mei), identity_of(messenger_account, bo)]
    message_send_bulk(workspace=messenger_account.workspace, identities=identities, channel="messenger",
                      contents=[{"type": "text", "text": "Back in stock"}], source="test")
    sent = Message.objects.get(identity=identities[0], direction=Direction.OUTBOUND)
    refused = Message.objects.get(identity=identities[1])
    assert sent.status == "sent"
    assert refused.status == "failed" and "not written" in refused.error["message"]
    assert SandboxDelivery.objects.filter(kind="push").count() == 1


def test_a_read_watermark_marks_every_message_sent_before_it_read(messenger_account):
    from tidings.sandbox.fake_graph.messenger_webhooks import mg_read

    persona = meta_persona(messenger_account)
    persona_writes(messenger_account, persona)
    first = send(messenger_account, persona, [{"type": "text", "text": "Your order shipped"}])
    clock_advance(workspace=messenger_account.workspace, by=datetime.timedelta(seconds=5))
    read = mg_read(messenger_account, persona)  # watermark = now
    clock_advance(workspace=messenger_account.workspace, by=datetime.timedelta(seconds=5))
    after = send(messenger_account, persona, [{"type": "text", "text": "Anything else?"}])
    response = graph_webhook_send(messenger_account, mg_webhook_body(messenger_account, [read]))
    assert response.status_code == 200
    first.refresh_from_db()
    after.refresh_from_db()
    assert first.status == "read" and after.status != "read"
