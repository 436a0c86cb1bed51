"""The simulated phone's WhatsApp, Messenger and Instagram tabs over the console client: which apps a persona's
phone has, what each renders (lists, buttons, templates, orders), and taps and orders posted by the phone."""

import pytest

from tidings.core.roles import Role
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxDelivery
from tidings.sandbox.personas import persona_create

from .persona_support import hk_phone, inbound

pytestmark = pytest.mark.django_db(transaction=True)

LIST = {"type": "interactive", "interactive": {
    "type": "list", "header": {"type": "text", "text": "Menu"}, "body": {"text": "What would you like?"},
    "footer": {"text": "Tidings Tea"}, "action": {"button": "See drinks", "sections": [
        {"title": "Tea", "rows": [{"id": "lemon", "title": "Lemon tea", "description": "HK$28"},
                                  {"id": "milk", "title": "Milk tea"}]},
        {"title": "Snacks", "rows": [{"id": "tart", "title": "Egg tart"}]}]}}}


@pytest.fixture
def admin_client(workspace, make_member, console_client):
    return console_client(make_member(workspace, Role.ADMIN))


@pytest.fixture
def persona(workspace, line_account, whatsapp_account, messenger_account, instagram_account):
    return persona_create(workspace=workspace, name="Ho Ka Yan", phone=hk_phone(), line=False,
                          whatsapp={"in_window": True}, instagram={})


def test_the_phone_has_the_apps_the_persona_is_on(admin_client, persona, workspace):
    html = admin_client.get(f"/sandbox/phone/{persona.pk}").content.decode()
    assert 'data-app="whatsapp"' in html  # no LINE: WhatsApp opens first
    assert 'data-tab="whatsapp"' in html and 'data-tab="instagram"' in html and 'data-tab="sms"' in html
    assert 'data-tab="messenger"' not in html and 'data-tab="line"' not in html
    assert 'data-window="open"' in html and "data-catalog" in html
    html = admin_client.get(f"/sandbox/phone/{persona.pk}?tab=instagram").content.decode()
    assert 'data-app="instagram"' in html and 'data-window="closed"' in html and "data-catalog" not in html
    # A tab the persona does not have falls back to its first app.
    assert 'data-app="whatsapp"' in admin_client.get(f"/sandbox/phone/{persona.pk}?tab=messenger").content.decode()
    listing = admin_client.get("/sandbox/phones").content.decode()
    assert "WhatsApp</span>" in listing and "Instagram</span>" in listing


def test_a_list_renders_its_rows_and_a_tap_answers_with_the_row(admin_client, persona, whatsapp_account,
                                                                 workspace):
    delivery = SandboxDelivery.objects.create(
        workspace=workspace, account=whatsapp_account, persona=persona, provider="whatsapp", channel="whatsapp",
        kind="push", provider_message_id="wamid.list-2", payload=LIST)
    html = admin_client.get(f"/sandbox/phone/{persona.pk}?tab=whatsapp").content.decode()
    assert "See drinks" in html and "Snacks" in html and "HK$28" in html
    assert html.count('data-kind="list_reply"') == 3

    response = admin_client.post(f"/sandbox/phone/{persona.pk}/act", {
        "tab": "whatsapp", "action": "tap", "delivery": delivery.pk, "button": "2"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Egg tart" in response.content.decode()  # the persona's reply bubble
    assert inbound(persona, "whatsapp")[-1].content == {"type": "list_reply", "id": "tart", "title": "Egg tart"}


def test_reply_buttons_and_the_catalog_from_the_phone(admin_client, persona, workspace):
    message_send(workspace=workspace, contact=persona.contact, channel="whatsapp", contents=[
        {"type": "buttons", "text": "Sugar level?", "actions": [
            {"type": "postback", "label": "Half", "data": "sugar=half"},
            {"type": "postback", "label": "None", "data": "sugar=none"}]}], purpose="chat")
    delivery = SandboxDelivery.objects.get(persona=persona, kind="push")
    html = admin_client.get(f"/sandbox/phone/{persona.pk}?tab=whatsapp").content.decode()
    assert html.count('data-kind="button_reply"') == 2 and "Sugar level?" in html
    admin_client.post(f"/sandbox/phone/{persona.pk}/act", {"tab": "whatsapp", "action": "tap",
                                                           "delivery": delivery.pk, "button": "1"})
    assert inbound(persona, "whatsapp")[-1].content == {"type": "button_reply", "id": "sugar=none", "title": "None"}

    response = admin_client.post(f"/sandbox/phone/{persona.pk}/act", {
        "tab": "whatsapp", "action": "order", "qty_lemon-tea": "2", "qty_oolong": "0", "qty_egg-tart": "4"})
    assert response.status_code == 302
    order = inbound(persona, "whatsapp")[-1].content
    assert order["type"] == "order"
    assert [(i["product_retailer_id"], i["quantity"]) for i in order["items"]] == [("lemon-tea", 2), ("egg-tart", 4)]
    html = admin_client.get(f"/sandbox/phone/{persona.pk}?tab=whatsapp").content.decode()
    assert "6 items" in html and "HKD" in html

    # An empty basket is refused on the phone, and nothing reaches Tidings.
    before = len(inbound(persona, "whatsapp"))
    response = admin_client.post(f"/sandbox/phone/{persona.pk}/act", {"tab": "whatsapp", "action": "order"},
                                 HTTP_HX_REQUEST="true")
    assert "toast-error" in response.content.decode()
    assert len(inbound(persona, "whatsapp")) == before


def test_polling_notices_new_messages_on_a_meta_tab(admin_client, persona, workspace):
    first = admin_client.get(f"/sandbox/phone/{persona.pk}/chat?tab=whatsapp&v=none")
    version = first.content.decode().split('data-version="', 1)[1].split('"', 1)[0]
    assert admin_client.get(f"/sandbox/phone/{persona.pk}/chat?tab=whatsapp&v={version}").status_code == 204
    message_send(workspace=workspace, contact=persona.contact, channel="whatsapp",
                 contents=[{"type": "text", "text": "Your tea is ready"}], purpose="chat")
    again = admin_client.get(f"/sandbox/phone/{persona.pk}/chat?tab=whatsapp&v={version}")
    assert again.status_code == 200 and "Your tea is ready" in again.content.decode()


@pytest.mark.parametrize("channel", ["whatsapp", "instagram"])
def test_opening_the_chat_reads_the_messages(admin_client, workspace, whatsapp_account, instagram_account, channel,
                                             settings):
    persona = persona_create(workspace=workspace, name="Reader", phone=hk_phone(), line=False,
                             **{channel: {"in_window": True}})
    [sent] = message_send(workspace=workspace, contact=persona.contact, channel=channel,
                          contents=[{"type": "text", "text": "Your tea is ready"}], purpose="chat")
    sent.refresh_from_db()
    assert sent.status == "sent"
    admin_client.get(f"/sandbox/phone/{persona.pk}?tab={channel}")
    sent.refresh_from_db()
    assert sent.status == "read"
    admin_client.get(f"/sandbox/phone/{persona.pk}/chat?tab={channel}&v=x")  # read once: no second receipt
    assert SandboxDelivery.objects.get(pk=SandboxDelivery.objects.get(persona=persona, kind="push").pk
                                       ).interactions.filter(kind="read").count() == 1
