"""Instagram end to end through the pipeline and the fake: sent, then read when the persona sees it (Instagram has
no delivery webhooks); HUMAN_AGENT is its only message tag; its 1,000-byte text limit and missing call button."""

import pytest

from tidings.contacts.models import ChannelIdentity
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.messaging.models import Direction, Message
from tidings.messaging.services import message_send
from tidings.sandbox.fake_graph.common import graph_webhook_send
from tidings.sandbox.fake_graph.messenger_webhooks import mg_read, mg_webhook_body
from tidings.sandbox.models import SandboxDelivery
from tidings.sandbox.services import sandbox_fault_inject

from .test_messenger_e2e import identity_of, later, meta_persona, persona_writes, send, sends

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def aya(instagram_account):
    return meta_persona(instagram_account, name="Aya", scoped_id="17841400000000001")


def test_sent_then_read_when_the_persona_sees_it(instagram_account, aya):
    persona_writes(instagram_account, aya)
    message = send(instagram_account, aya)
    assert message.status == "sent" and message.provider_message_id.startswith("m_")
    [request] = sends(instagram_account)
    assert request.path == f"/v23.0/{instagram_account.external_id}/messages"
    assert request.body == {"recipient": {"id": aya.instagram_igsid}, "messaging_type": "RESPONSE",
                            "message": {"text": "Your order is ready"}}
    delivery = SandboxDelivery.objects.get(kind="push")
    assert (delivery.persona, delivery.channel, delivery.provider) == (aya, "instagram", "instagram")

    later(instagram_account, seconds=5)
    message.refresh_from_db()
    assert message.status == "sent"  # Instagram reports no deliveries

    seen = mg_read(instagram_account, aya, message.provider_message_id)
    assert graph_webhook_send(instagram_account, mg_webhook_body(instagram_account, [seen])).status_code == 200
    message.refresh_from_db()
    assert message.status == "read"


def test_the_inbound_message_lands_on_the_instagram_identity(instagram_account, aya):
    persona_writes(instagram_account, aya, text="有冇凍檸茶?")
    inbound = Message.objects.get(direction=Direction.INBOUND)
    assert inbound.channel == "instagram" and inbound.content == {"type": "text", "text": "有冇凍檸茶?"}
    identity = ChannelIdentity.objects.get(account=instagram_account)
    assert identity.external_id == aya.instagram_igsid and identity.last_inbound_at is not None


@pytest.mark.parametrize("tag", ["POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "PROMOTION"])
def test_messenger_only_and_promotional_tags_are_refused(instagram_account, aya, tag):
    persona_writes(instagram_account, aya)
    later(instagram_account, days=2)
    with pytest.raises(ServiceError) as refused:
        send(instagram_account, aya, tag=tag)
    assert refused.value.field == "tag"
    assert f"{tag} is not a message tag Instagram accepts" in refused.value.message
    assert "HUMAN_AGENT" in refused.value.message
    assert not sends(instagram_account).exists()


def test_outside_the_window_without_a_tag_is_refused(instagram_account, aya):
    persona_writes(instagram_account, aya)
    later(instagram_account, hours=25)
    with pytest.raises(ServiceError) as refused:
        send(instagram_account, aya)
    assert refused.value.field == "tag" and "Instagram" in refused.value.message
    assert "(HUMAN_AGENT)" in refused.value.message


def test_human_agent_covers_seven_days_and_no_more(instagram_account, aya):
    persona_writes(instagram_account, aya)
    later(instagram_account, days=5)
    message = send(instagram_account, aya, tag="HUMAN_AGENT")
    assert message.status == "sent"
    [request] = sends(instagram_account)
    assert (request.body["messaging_type"], request.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    later(instagram_account, days=3)
    with pytest.raises(ServiceError) as refused:
        send(instagram_account, aya, tag="HUMAN_AGENT")
    assert "7 days" in refused.value.message


def test_the_fake_refuses_a_messenger_tag_as_instagram_does(instagram_account, aya):
    """Tags are checked before queueing; were one to slip through, Instagram's own answer is kept."""
    from tidings.channels.adapters.instagram import InstagramAdapter

    persona_writes(instagram_account, aya)
    later(instagram_account, days=2)
    ChannelIdentity.objects.filter(pk=identity_of(instagram_account, aya).pk).update(
        last_inbound_at=clock.now(instagram_account.workspace))
    original = InstagramAdapter.request_body

    def smuggled(self, recipient_id, content, options):
        return original(self, recipient_id, content, {**options, "tag": "POST_PURCHASE_UPDATE"})

    InstagramAdapter.request_body = smuggled
    try:
        message = send(instagram_account, aya)
    finally:
        InstagramAdapter.request_body = original
    assert message.status == "failed"
    assert message.error["code"] == 100 and "HUMAN_AGENT" in message.error["message"]
    assert not SandboxDelivery.objects.filter(kind="push").exists()


def test_instagram_limits_are_checked_before_queueing(instagram_account, aya):
    persona_writes(instagram_account, aya)
    with pytest.raises(ServiceError) as too_long:
        send(instagram_account, aya, [{"type": "text", "text": "茶" * 334}])  # 1,002 bytes
    assert too_long.value.field == "messages[0].text" and "1000 bytes" in too_long.value.message
    call = {"type": "buttons", "text": "Need help?",
            "actions": [{"type": "uri", "label": "Call", "uri": "tel:+85230001234"}]}
    with pytest.raises(ServiceError) as no_call:
        send(instagram_account, aya, [call])
    assert no_call.value.field == "messages[0].actions[0].uri"
    assert send(instagram_account, aya, [{"type": "text", "text": "茶" * 333}]).status == "sent"  # 999 bytes


def test_buttons_carousel_and_quick_replies_are_accepted_by_the_fake(instagram_account, aya):
    persona_writes(instagram_account, aya)
    buy = [{"type": "postback", "label": "Buy", "data": "buy"},
           {"type": "uri", "label": "More", "uri": "https://acme.test"}]
    contents = [
        {"type": "buttons", "text": "What can we do to help?", "actions": buy},
        {"type": "carousel", "columns": [{"title": "Oolong", "text": "HK$25", "image_url": "https://acme.test/o.jpg",
                                          "actions": buy}]},
        {"type": "image", "url": "https://acme.test/o.jpg",
         "quick_replies": [{"type": "postback", "label": "Yes", "data": "yes"}]},
    ]
    identity = identity_of(instagram_account, aya)
    messages = message_send(workspace=instagram_account.workspace, contact=identity.contact, channel="instagram",
                            contents=contents, source="test")
    statuses = Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", flat=True)
    assert list(statuses) == ["sent"] * 3
    kinds = [d.payload["message"].get("attachment", {}).get("payload", {}).get("template_type")
             for d in SandboxDelivery.objects.filter(kind="push").order_by("id")]
    assert kinds == ["button", "generic", None]


def test_a_5xx_is_retried_and_delivers_once(instagram_account, aya):
    persona_writes(instagram_account, aya)
    sandbox_fault_inject(workspace=instagram_account.workspace, account=instagram_account,
                         path=f"/v23.0/{instagram_account.external_id}/messages", status=503)
    message = send(instagram_account, aya)
    assert message.status == "queued"
    later(instagram_account, minutes=15)
    message.refresh_from_db()
    assert message.status == "sent"
    assert SandboxDelivery.objects.filter(kind="push").count() == 1
