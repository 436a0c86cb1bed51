"""Personas on WhatsApp, Messenger and Instagram: their ids and 24-hour windows, and every action they take reaching
Tidings as the provider's real signed webhook (the fakes' builders), landing on the persona's contact."""

import datetime

import pytest

from tidings.contacts.models import ChannelIdentity
from tidings.core.errors import ServiceError
from tidings.core.services import workspace_clock_offset_add
from tidings.message_templates.services import templates_sync
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxDelivery, SandboxTemplate
from tidings.sandbox.personas import persona_act, persona_create
from tidings.sandbox.personas_meta import persona_meta_state

from .persona_support import hk_phone, inbound, webhook_types

pytestmark = pytest.mark.django_db(transaction=True)


PROMO = [
    {"type": "HEADER", "format": "TEXT", "text": "Hello {{1}}"},
    {"type": "BODY", "text": "Your order {{1}} is ready. Pick it up at {{2}}.",
     "example": {"body_text": [["#1024", "Causeway Bay"]]}},
    {"type": "FOOTER", "text": "Tidings Tea"},
    {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "On my way"},
        {"type": "QUICK_REPLY", "text": "Tomorrow"},
        {"type": "URL", "text": "Track", "url": "https://shop.example.test/track"},
        {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+85230001234"},
    ]},
]


@pytest.fixture
def meta(whatsapp_account, messenger_account, instagram_account):
    return {"whatsapp": whatsapp_account, "messenger": messenger_account, "instagram": instagram_account}


@pytest.fixture
def make(workspace, meta):
    def make(name="Chan Siu Ming", **flags):
        flags.setdefault("phone", hk_phone())
        flags.setdefault("line", False)
        return persona_create(workspace=workspace, name=name, **flags)

    return make


def _approved(account, name="order_ready", language="en", components=PROMO):
    """Approved at the fake Meta and known to Tidings (as after Meta's review and "sync now")."""
    SandboxTemplate.objects.create(account=account, template_id=f"9{SandboxTemplate.objects.count():014d}",
                                   name=name, language=language, category="UTILITY", components=components,
                                   status="APPROVED")
    templates_sync(workspace=account.workspace, actor=None, account=account)


def _act(workspace, persona, **kwargs):
    return persona_act(workspace=workspace, persona=persona, **kwargs)


def test_whatsapp_id_defaults_to_the_phone_and_the_contact_can_be_messaged(workspace, make, meta):
    persona = make(phone="+85261230001", whatsapp={})
    assert persona.whatsapp_id == "85261230001"
    assert persona_meta_state(persona) == {"whatsapp": {"wa_id": "85261230001", "in_window": False},
                                           "messenger": None, "instagram": None}
    identity = ChannelIdentity.objects.get(account=meta["whatsapp"], external_id="85261230001")
    assert identity.contact_id == persona.contact_id
    assert inbound(persona, "whatsapp") == []  # it has not written: nothing arrived, the window is shut


def test_in_window_persona_writes_first_by_the_signed_webhook(workspace, make, meta):
    persona = make(whatsapp={"in_window": True}, messenger={"in_window": True}, instagram={"igsid": "17841400000000042"})
    state = persona_meta_state(persona)
    assert state["whatsapp"]["in_window"] and state["messenger"]["in_window"]
    assert state["instagram"] == {"igsid": "17841400000000042", "in_window": False}
    assert len(state["messenger"]["psid"]) == 16 and state["messenger"]["psid"].isdigit()
    for channel in ("whatsapp", "messenger"):
        [hello] = inbound(persona, channel)
        assert hello.content["type"] == "text" and hello.content["text"] == "Hi"
        identity = ChannelIdentity.objects.get(account=meta[channel], contact=persona.contact)
        assert identity.last_inbound_at is not None
    assert webhook_types(meta["whatsapp"]) and webhook_types(meta["messenger"])
    assert inbound(persona, "instagram") == []

    # A day later by the workspace clock, the windows have closed.
    workspace_clock_offset_add(workspace=workspace, by=datetime.timedelta(hours=25), actor=None)
    persona.workspace.refresh_from_db()
    state = persona_meta_state(persona)
    assert not state["whatsapp"]["in_window"] and not state["messenger"]["in_window"]


@pytest.mark.parametrize("flags, field", [
    ({"whatsapp": {"wa_id": "12ab"}}, "whatsapp.wa_id"),
    ({"instagram": {"igsid": "x"}}, "instagram.igsid"),
    ({"messenger": {"page": "1"}}, "messenger"),
])
def test_bad_ids_are_refused_on_their_field(make, flags, field):
    with pytest.raises(ServiceError) as caught:
        make(**flags)
    assert caught.value.field == field


def test_ids_are_unique_and_need_a_sandbox_account(workspace, whatsapp_account):
    persona_create(workspace=workspace, name="A", phone=hk_phone(), line=False, whatsapp={"wa_id": "85261239999"})
    with pytest.raises(ServiceError) as caught:
        persona_create(workspace=workspace, name="B", phone=hk_phone(), line=False,
                       whatsapp={"wa_id": "85261239999"})
    assert caught.value.field == "whatsapp.wa_id"
    with pytest.raises(ServiceError) as caught:
        persona_create(workspace=workspace, name="No page", phone=hk_phone(), line=False, messenger={})
    assert caught.value.field == "messenger" and "Messenger" in str(caught.value.message)


def test_whatsapp_send_reopens_the_window(workspace, make):
    persona = make(whatsapp={})
    result = _act(workspace, persona, action="send", channel="whatsapp", text="Is the egg tart still warm?")
    assert result.webhook_status == 200
    assert result.events[0]["object"] == "whatsapp_business_account"
    assert inbound(persona, "whatsapp")[-1].content["text"] == "Is the egg tart still warm?"
    persona.refresh_from_db()
    assert persona_meta_state(persona)["whatsapp"]["in_window"]
    mine = SandboxDelivery.objects.get(persona=persona, kind="user")
    assert mine.payload["type"] == "text" and mine.provider_message_id.startswith("wamid.")


def test_tapping_whatsapp_reply_buttons_and_list_rows(workspace, make, whatsapp_account):
    persona = make(whatsapp={"in_window": True})
    [buttons] = message_send(workspace=workspace, contact=persona.contact, channel="whatsapp", contents=[
        {"type": "buttons", "text": "Rate your tea", "actions": [
            {"type": "postback", "label": "Great", "data": "rate=5"},
            {"type": "postback", "label": "Too sweet", "data": "rate=2"}]}], purpose="chat")
    buttons.refresh_from_db()
    _act(workspace, persona, action="tap", channel="whatsapp", message_id=buttons.pk, button="Too sweet")
    reply = inbound(persona, "whatsapp")[-1]
    assert reply.content == {"type": "button_reply", "id": "rate=2", "title": "Too sweet"}

    # A list as the WhatsApp Cloud API takes it (reference sample send_interactive_list_message's shape).
    menu = SandboxDelivery.objects.create(
        workspace=workspace, account=whatsapp_account, persona=persona, provider="whatsapp", channel="whatsapp",
        kind="push", provider_message_id="wamid.list-1", payload={"type": "interactive", "interactive": {
            "type": "list", "body": {"text": "Pick a drink"}, "action": {"button": "Menu", "sections": [
                {"title": "Tea", "rows": [{"id": "lemon", "title": "Lemon tea"},
                                          {"id": "milk", "title": "Milk tea", "description": "HK style"}]}]}}})
    _act(workspace, persona, action="tap", channel="whatsapp", delivery=menu, button=1)
    assert inbound(persona, "whatsapp")[-1].content["type"] == "list_reply"
    assert inbound(persona, "whatsapp")[-1].content["id"] == "milk"

    with pytest.raises(ServiceError) as caught:
        _act(workspace, persona, action="tap", channel="whatsapp", delivery=menu, button=7)
    assert caught.value.field == "button"


def test_template_quick_reply_arrives_as_a_button_reply_and_url_opens(workspace, make, whatsapp_account):
    _approved(whatsapp_account)
    persona = make(whatsapp={})  # outside the window: a template is what reaches it
    [sent] = message_send(workspace=workspace, contact=persona.contact, channel="whatsapp", contents=[
        {"type": "template", "name": "order_ready", "language": "en", "parameters": ["#2048", "Wan Chai"],
         "header_parameters": ["Ming"]}], purpose="notification")
    delivery = SandboxDelivery.objects.get(persona=persona, kind="push")
    assert delivery.delivered and delivery.payload["type"] == "template"

    _act(workspace, persona, action="tap", channel="whatsapp", message_id=sent.pk, button="Tomorrow")
    reply = inbound(persona, "whatsapp")[-1]
    assert reply.content == {"type": "button_reply", "payload": "Tomorrow", "text": "Tomorrow"}
    persona.refresh_from_db()
    assert persona_meta_state(persona)["whatsapp"]["in_window"]  # answering opens the window

    result = _act(workspace, persona, action="tap", channel="whatsapp", message_id=sent.pk, button="Track")
    assert result.link["location"] == "https://shop.example.test/track"
    with pytest.raises(ServiceError):  # a phone number button calls; nothing reaches Tidings
        _act(workspace, persona, action="tap", channel="whatsapp", message_id=sent.pk, button="Call us")


def test_catalog_order_reaches_tidings_with_its_items(workspace, make):
    persona = make(whatsapp={})
    items = [{"product_retailer_id": "bubble-tea", "quantity": 2, "item_price": "32.00", "currency": "hkd"},
             {"product_retailer_id": "egg-tart", "quantity": 3, "item_price": 12.5, "currency": "HKD"}]
    result = _act(workspace, persona, action="order", channel="whatsapp", items=items, catalog_id="123456789")
    sent = result.events[0]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert sent["type"] == "order" and sent["order"]["catalog_id"] == "123456789"
    assert sent["order"]["product_items"][0] == {"product_retailer_id": "bubble-tea", "quantity": 2,
                                                 "item_price": 32, "currency": "HKD"}
    order = inbound(persona, "whatsapp")[-1]
    assert order.content["type"] == "order" and len(order.content["items"]) == 2


@pytest.mark.parametrize("items, field", [
    ([], "items"),
    ([{"product_retailer_id": "x", "quantity": 0, "item_price": 1, "currency": "HKD"}], "items[0].quantity"),
    ([{"product_retailer_id": "x", "quantity": 1, "item_price": -1, "currency": "HKD"}], "items[0].item_price"),
    ([{"product_retailer_id": "x", "quantity": 1, "item_price": 1, "currency": "dollars"}], "items[0].currency"),
    ([{"quantity": 1, "item_price": 1, "currency": "HKD"}], "items[0].product_retailer_id"),
])
def test_bad_orders_are_refused(workspace, make, items, field):
    persona = make(whatsapp={})
    with pytest.raises(ServiceError) as caught:
        _act(workspace, persona, action="order", channel="whatsapp", items=items)
    assert caught.value.field == field
    assert inbound(persona, "whatsapp") == []


def test_messenger_postback_and_quick_reply(workspace, make):
    persona = make(messenger={"in_window": True})
    [cards] = message_send(workspace=workspace, contact=persona.contact, channel="messenger", contents=[
        {"type": "carousel", "columns": [
            {"title": "Lemon tea", "text": "HK$28", "actions": [
                {"type": "postback", "label": "Order", "data": "order=lemon"},
                {"type": "uri", "label": "Details", "uri": "https://shop.example.test/lemon"}]},
            {"title": "Milk tea", "text": "HK$30", "actions": [
                {"type": "postback", "label": "Order milk tea", "data": "order=milk"}]}]}], purpose="chat")
    _act(workspace, persona, action="tap", channel="messenger", message_id=cards.pk, button="Order milk tea")
    postback = inbound(persona, "messenger")[-1]
    assert postback.content["type"] == "postback" and postback.content["data"] == "order=milk"

    [question] = message_send(workspace=workspace, contact=persona.contact, channel="messenger", contents=[
        {"type": "text", "text": "Ice?", "quick_replies": [
            {"type": "postback", "label": "Less ice", "data": "ice=less"},
            {"type": "postback", "label": "No ice", "data": "ice=none"}]}], purpose="chat")
    _act(workspace, persona, action="tap", channel="messenger", message_id=question.pk, button="No ice")
    reply = inbound(persona, "messenger")[-1]
    assert reply.content == {"type": "quick_reply", "text": "No ice", "payload": "ice=none"}


def test_instagram_send_and_what_is_refused(workspace, make):
    persona = make(instagram={})
    _act(workspace, persona, action="send", channel="instagram", text="Do you ship to Macau?")
    assert inbound(persona, "instagram")[-1].content["text"] == "Do you ship to Macau?"
    with pytest.raises(ServiceError) as caught:
        _act(workspace, persona, action="order", channel="instagram", items=[])
    assert caught.value.field == "channel"
    with pytest.raises(ServiceError) as caught:
        _act(workspace, persona, action="send", channel="whatsapp", text="hi")
    assert caught.value.field == "channel"  # not on WhatsApp
    with pytest.raises(ServiceError) as caught:
        _act(workspace, persona, action="follow", channel="instagram")
    assert caught.value.field == "channel"
