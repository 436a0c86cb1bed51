"""Persona actions reach Tidings as the providers' real signed webhooks and change what Tidings knows."""

import re

import pytest

from tidings.contacts.models import ChannelIdentity, Contact
from tidings.core.errors import ServiceError
from tidings.messaging.models import EventKind, MessageEvent
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxDelivery
from tidings.sandbox.personas import message_actions, persona_act

from .persona_support import *  # noqa: F403
from .persona_support import hk_phone, inbound, webhook_types

pytestmark = pytest.mark.django_db(transaction=True)

CAROUSEL = {
    "type": "carousel",
    "columns": [
        {"title": "烏龍茶", "text": "Oolong, 12 bags", "actions": [
            {"type": "postback", "label": "Buy oolong", "data": "buy=oolong"},
            {"type": "uri", "label": "Details", "uri": "https://shop.example.test/oolong"},
        ]},
        {"title": "綠茶", "text": "Green, 12 bags", "actions": [
            {"type": "postback", "label": "Buy green", "data": "buy=green", "display_text": "I'll take green"},
            {"type": "message", "label": "Ask", "text": "Is green tea caffeinated?"},
        ]},
    ],
}


def _line_identity(persona, account):
    return ChannelIdentity.objects.get(account=account, external_id=persona.line_user_id)


def test_create_friend_follows_by_webhook(workspace, accounts, new_persona):
    persona = new_persona("陳美玲", phone="6987 6543")
    assert persona.phone == "+85269876543"
    assert re.fullmatch(r"U[0-9a-f]{32}", persona.line_user_id)
    assert persona.line_friend and not persona.line_blocked
    assert webhook_types(accounts["line"]) == ["follow"]
    identity = _line_identity(persona, accounts["line"])
    assert identity.subscribed and identity.contact_id == persona.contact_id
    # The profile Tidings fetched from the fake LINE gave the identity the persona's name.
    assert identity.display_name == "陳美玲"
    sms = ChannelIdentity.objects.get(account=accounts["sms"], external_id="+85269876543")
    assert sms.contact_id == persona.contact_id and sms.subscribed
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_create_without_line_or_not_a_friend_sends_nothing(accounts, new_persona):
    no_line = new_persona("Tom", line=False)
    stranger = new_persona("Ann", friend=False)
    assert no_line.line_user_id == "" and not no_line.line_friend
    assert stranger.line_user_id and not stranger.line_friend
    assert webhook_types(accounts["line"]) == []
    assert not ChannelIdentity.objects.filter(account=accounts["line"]).exists()


def test_create_refuses_bad_phone_duplicate_and_live_workspace(workspace, accounts, new_persona, make_workspace):
    with pytest.raises(ServiceError) as bad:
        new_persona(phone="12")
    assert bad.value.field == "phone"
    new_persona(phone="+886912345678")
    with pytest.raises(ServiceError) as dup:
        new_persona(phone="+886 912 345 678")
    assert dup.value.field == "phone"
    from tidings.sandbox.personas import persona_create

    with pytest.raises(ServiceError):
        persona_create(workspace=make_workspace(sandbox=False), name="X", phone="+85261110000")


def test_block_unsubscribes_and_follow_again_is_unblocked(workspace, accounts, new_persona):
    persona = new_persona()
    persona_act(workspace=workspace, persona=persona, action="block", channel="line")
    persona.refresh_from_db()
    assert persona.line_blocked and persona.line_friend
    assert not _line_identity(persona, accounts["line"]).subscribed
    assert webhook_types(accounts["line"]) == ["follow", "unfollow"]

    # Blocked: LINE still answers the push with 200, but nothing reaches the phone.
    message_send(workspace=workspace, contact=persona.contact, channel="line",
                 contents=[{"type": "text", "text": "Still there?"}], purpose="chat")
    assert list(SandboxDelivery.objects.filter(persona=persona).values_list("delivered", flat=True)) == [False]

    result = persona_act(workspace=workspace, persona=persona, action="follow", channel="line")
    assert result.events[0]["follow"] == {"isUnblocked": True}
    persona.refresh_from_db()
    assert not persona.line_blocked
    assert _line_identity(persona, accounts["line"]).subscribed


def test_unfollow_then_follow(workspace, accounts, new_persona):
    persona = new_persona()
    persona_act(workspace=workspace, persona=persona, action="unfollow", channel="line")
    persona.refresh_from_db()
    assert not persona.line_friend and not _line_identity(persona, accounts["line"]).subscribed
    # A second unfollow changes nothing at LINE, so no webhook goes out.
    persona_act(workspace=workspace, persona=persona, action="unfollow", channel="line")
    result = persona_act(workspace=workspace, persona=persona, action="follow", channel="line")
    assert result.events[0]["follow"] == {"isUnblocked": False}
    assert webhook_types(accounts["line"]) == ["follow", "unfollow", "follow"]


def test_non_friend_follows_later_on_the_same_contact(workspace, accounts, new_persona):
    persona = new_persona(friend=False)
    persona_act(workspace=workspace, persona=persona, action="follow", channel="line")
    identity = _line_identity(persona, accounts["line"])
    assert identity.subscribed and identity.contact_id == persona.contact_id
    assert Contact.objects.filter(workspace=workspace).count() == 1


def test_send_line_and_sms_become_inbound_messages(workspace, accounts, new_persona):
    persona = new_persona()
    result = persona_act(workspace=workspace, persona=persona, action="send", channel="line", text="有冇綠茶？")
    assert result.webhook_status == 200
    assert [m.content for m in inbound(persona)] == [{"type": "text", "text": "有冇綠茶？"}]
    persona_act(workspace=workspace, persona=persona, action="send", channel="sms", text="STOP?")
    assert [m.content.get("text") for m in inbound(persona, "sms")] == ["STOP?"]
    # The phone keeps the persona's own side of both chats.
    assert [d.payload.get("text") or d.payload.get("body") for d in
            SandboxDelivery.objects.filter(persona=persona, kind="user").order_by("id")] == ["有冇綠茶？", "STOP?"]


def test_tap_postback_message_and_uri_buttons(workspace, accounts, new_persona):
    persona = new_persona()
    [message] = message_send(workspace=workspace, contact=persona.contact, channel="line", contents=[CAROUSEL],
                             purpose="chat")
    message.refresh_from_db()
    assert message.status == "sent"

    persona_act(workspace=workspace, persona=persona, action="tap", channel="line", message_id=message.pk,
                button="Buy oolong")
    assert inbound(persona)[-1].content == {"type": "postback", "data": "buy=oolong"}
    persona_act(workspace=workspace, persona=persona, action="tap", channel="line", message_id=message.pk, button=2)
    assert inbound(persona)[-1].content == {"type": "postback", "data": "buy=green"}
    persona_act(workspace=workspace, persona=persona, action="tap", channel="line", message_id=message.pk,
                button="Ask")
    assert inbound(persona)[-1].content == {"type": "text", "text": "Is green tea caffeinated?"}

    # The uri button carries our tracked link; opening it records one click, however many times.
    result = persona_act(workspace=workspace, persona=persona, action="tap", channel="line",
                         message_id=message.pk, button="Details")
    assert result.link["status"] == 302 and result.link["location"].startswith("https://shop.example.test/oolong?_tid=")
    persona_act(workspace=workspace, persona=persona, action="open_link", channel="line", url=result.link["url"])
    assert MessageEvent.objects.filter(message=message, kind=EventKind.CLICKED).count() == 1

    for bad, field in (({"button": "Nope"}, "button"), ({"button": 9}, "button"), ({"message_id": 999999}, "message_id"),
                       ({}, "button")):
        with pytest.raises(ServiceError) as exc:
            persona_act(workspace=workspace, persona=persona, action="tap", channel="line",
                        **{"message_id": message.pk, **bad})
        assert exc.value.field == field


def test_tap_finds_multicast_deliveries_by_their_request(workspace, accounts, new_persona):
    from tidings.messaging.services import message_send_bulk

    people = [new_persona(f"P{i}") for i in range(2)]
    identities = [_line_identity(p, accounts["line"]) for p in people]
    contents = [{"type": "text", "text": "Sale!"},
                {"type": "buttons", "text": "Want a coupon?", "actions": [
                    {"type": "postback", "label": "Yes", "data": "coupon=yes"}]}]
    message_send_bulk(workspace=workspace, identities=identities, channel="line", contents=contents,
                      purpose="broadcast", source="test", account=accounts["line"])
    second = people[1]
    [button_message] = [m for m in second.contact.messages.filter(direction="out") if m.position == 1]
    persona_act(workspace=workspace, persona=second, action="tap", channel="line", message_id=button_message.pk,
                button="Yes")
    assert inbound(second)[-1].content == {"type": "postback", "data": "coupon=yes"}


def test_consent_pnp_and_refusals(workspace, accounts, new_persona):
    persona = new_persona(pnp_consent=False)
    persona_act(workspace=workspace, persona=persona, action="consent_pnp", channel="line")
    persona.refresh_from_db()
    assert persona.pnp_consent
    no_line = new_persona("No LINE", line=False)
    for kwargs, field in (
        ({"action": "dance"}, "action"),
        ({"action": "send", "channel": "fax"}, "channel"),
        ({"action": "block", "channel": "sms"}, "channel"),
        ({"action": "send", "channel": "line", "text": " "}, "text"),
        ({"action": "open_link", "channel": "line"}, "url"),
    ):
        with pytest.raises(ServiceError) as exc:
            persona_act(workspace=workspace, persona=persona, **kwargs)
        assert exc.value.field == field
    with pytest.raises(ServiceError) as exc:
        persona_act(workspace=workspace, persona=no_line, action="follow", channel="line")
    assert exc.value.field == "channel"
    persona_act(workspace=workspace, persona=persona, action="block", channel="line")
    with pytest.raises(ServiceError):
        persona_act(workspace=workspace, persona=persona, action="send", channel="line", text="hi")


@pytest.fixture
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


def test_message_actions_cover_every_tappable_kind(english):
    assert [a["label"] for a in message_actions({
        "type": "template", "altText": "x", "template": {"type": "image_carousel", "columns": [
            {"imageUrl": "https://x.test/a.png", "action": {"type": "uri", "label": "A", "uri": "https://a.test"}}]},
        "quickReply": {"items": [{"type": "action", "action": {"type": "message", "label": "Hi", "text": "Hi"}}]},
    })] == ["A", "Hi"]
    imagemap = message_actions({"type": "imagemap", "baseUrl": "https://x.test/m", "altText": "m",
                                "baseSize": {"width": 1040, "height": 520}, "actions": [
                                    {"type": "uri", "linkUri": "https://a.test", "area": {"x": 0, "y": 0, "width": 520, "height": 520}},
                                    {"type": "message", "text": "left", "label": "L", "area": {"x": 520, "y": 0, "width": 520, "height": 520}}]})
    assert imagemap == [{"type": "uri", "label": "Area 1", "uri": "https://a.test"},
                        {"type": "message", "label": "L", "text": "left"}]
    flex = message_actions({"type": "flex", "altText": "c", "contents": {"type": "bubble", "footer": {
        "type": "box", "layout": "vertical", "contents": [
            {"type": "button", "action": {"type": "uri", "label": "Claim", "uri": "https://c.test"}}]}}})
    assert flex == [{"type": "uri", "label": "Claim", "uri": "https://c.test"}]


def test_phone_numbers_across_regions(workspace, accounts, new_persona):
    assert new_persona("林志明", phone="+886 912 000 111").phone == "+886912000111"
    assert new_persona("Chan", phone=hk_phone()).phone.startswith("+852")
