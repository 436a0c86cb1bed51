"""The simulated phone's WhatsApp in Chromium, over real HTTP: a template with five buttons shows two and folds the
rest behind "See all options"; tapping one of its quick replies reaches Tidings as WhatsApp's signed `button`
webhook (a button_reply on the persona's contact); a persona outside the 24-hour window gets the template, never
free text; and a catalog order placed on the phone arrives as an order."""

import pytest

from tidings.channels.services import account_create
from tidings.core.errors import ServiceError
from tidings.core.roles import Role
from tidings.message_templates.services import templates_sync
from tidings.messaging.models import Message
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxDelivery, SandboxTemplate
from tidings.sandbox.personas import persona_create

from tests.browser.support import screenshot, wait_for

pytestmark = pytest.mark.browser

FIVE_BUTTONS = [
    {"type": "HEADER", "format": "TEXT", "text": "Your table"},
    {"type": "BODY", "text": "Hi {{1}}, your table for {{2}} is booked. See you soon!",
     "example": {"body_text": [["Mei", "7:30 pm"]]}},
    {"type": "FOOTER", "text": "Tidings Tea House"},
    {"type": "BUTTONS", "buttons": [
        {"type": "QUICK_REPLY", "text": "Confirm"},
        {"type": "QUICK_REPLY", "text": "Reschedule"},
        {"type": "QUICK_REPLY", "text": "Cancel booking"},
        {"type": "URL", "text": "See the menu", "url": "https://shop.example.test/menu"},
        {"type": "PHONE_NUMBER", "text": "Call the shop", "phone_number": "+85230001234"},
    ]},
]
BOOKING = {"type": "template", "name": "table_booked", "language": "en", "parameters": ["Mei", "8:00 pm"]}


@pytest.fixture
def whatsapp(live_server, settings, workspace):
    """Real HTTP both ways: the pipeline calls the fake Graph API on the live server; the phone's taps POST signed
    webhooks back to it. A five-button template is approved at the fake Meta and known to Tidings."""
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    account = account_create(workspace=workspace, actor=None, channel="whatsapp", name="Tidings Tea")
    SandboxTemplate.objects.create(account=account, template_id="800000000000001", name="table_booked",
                                   language="en", category="UTILITY", components=FIVE_BUTTONS, status="APPROVED")
    templates_sync(workspace=workspace, actor=None, account=account)
    return account


def _open_phone(new_page, log_in, workspace, make_member, persona, **size):
    page = new_page(**size)
    log_in(page, make_member(workspace, Role.ADMIN))
    page.goto(f"/sandbox/phone/{persona.pk}?tab=whatsapp")
    return page


def test_five_buttons_fold_and_a_quick_reply_arrives_as_a_button_reply(new_page, log_in, workspace, make_member,
                                                                        whatsapp):
    persona = persona_create(workspace=workspace, name="陳美玲", phone="+85269876501", line=False,
                             whatsapp={"in_window": True})
    [sent] = message_send(workspace=workspace, contact=persona.contact, channel="whatsapp", contents=[BOOKING],
                          purpose="chat")
    wait_for(lambda: SandboxDelivery.objects.filter(persona=persona, kind="push").exists())

    page = _open_phone(new_page, log_in, workspace, make_member, persona)
    template = page.locator("[data-wa-template]")
    template.wait_for()
    assert "Hi Mei, your table for 8:00 pm is booked." in template.inner_text()
    shown = template.locator(".wa-template-buttons > .wa-template-button")
    assert shown.count() == 2
    assert [shown.nth(i).inner_text().strip(" ↩\n") for i in range(2)] == ["Confirm", "Reschedule"]
    see_all = template.locator("summary:has-text('See all options')")
    assert see_all.is_visible()
    folded = template.locator(".wa-template-sheet .wa-template-button")
    assert folded.count() == 3 and not folded.first.is_visible()
    screenshot(page, "whatsapp-template-folded")

    see_all.click()
    assert folded.nth(0).is_visible() and "Cancel booking" in folded.nth(0).inner_text()
    assert "See the menu" in folded.nth(1).inner_text() and "Call the shop" in folded.nth(2).inner_text()
    screenshot(page, "whatsapp-template-see-all")

    folded.nth(0).click()  # the folded quick reply "Cancel booking"
    page.wait_for_selector(".item-me .mbubble:has-text('Cancel booking')")
    reply = wait_for(lambda: Message.objects.filter(contact=persona.contact, direction="in",
                                                     content__type="button_reply").first())
    assert reply.channel == "whatsapp" and reply.status == "received"
    assert reply.content == {"type": "button_reply", "payload": "Cancel booking", "text": "Cancel booking"}
    mine = SandboxDelivery.objects.filter(persona=persona, kind="user").order_by("-id").first()
    sent.refresh_from_db()
    assert mine.payload["context"]["id"] == sent.provider_message_id  # the reply quotes the template


def test_outside_the_window_only_the_template_reaches_the_phone(new_page, log_in, workspace, make_member,
                                                                 whatsapp):
    persona = persona_create(workspace=workspace, name="Wong Ka Yan", phone="+85269876502", line=False,
                             whatsapp={})
    with pytest.raises(ServiceError) as refused:
        message_send(workspace=workspace, contact=persona.contact, channel="whatsapp",
                     contents=[{"type": "text", "text": "Free text after a week"}], purpose="chat")
    assert "24" in str(refused.value.message) or "template" in str(refused.value.message).lower()
    assert not Message.objects.filter(contact=persona.contact, direction="out").exists()

    message_send(workspace=workspace, contact=persona.contact, channel="whatsapp", contents=[BOOKING],
                 purpose="chat")
    wait_for(lambda: SandboxDelivery.objects.filter(persona=persona, kind="push", delivered=True).exists())

    page = _open_phone(new_page, log_in, workspace, make_member, persona, width=390, height=844)
    page.wait_for_selector("[data-window=closed]")
    page.wait_for_selector("[data-wa-template]")
    assert page.locator(".messages .item-them").count() == 1
    assert "Free text" not in page.locator("[data-messages]").inner_text()
    screenshot(page, "whatsapp-outside-window")


def test_catalog_order_and_text_from_the_phone(new_page, log_in, workspace, make_member, whatsapp):
    persona = persona_create(workspace=workspace, name="Chan Tai Man", phone="+85269876503", line=False,
                             whatsapp={})
    page = _open_phone(new_page, log_in, workspace, make_member, persona)
    page.wait_for_selector("[data-window=closed]")
    page.fill("#composer-text", "Do you have oat milk?")
    page.click(".composer .send")
    page.wait_for_selector(".item-me .mbubble:has-text('Do you have oat milk?')")
    page.wait_for_selector("[data-window=open]")

    page.click("[data-catalog] summary")
    page.fill("#qty-bubble-tea", "2")
    page.fill("#qty-egg-tart", "1")
    screenshot(page, "whatsapp-catalog")
    page.click("[data-place-order]")
    page.wait_for_selector("[data-order]:has-text('3 items')")
    order = wait_for(lambda: Message.objects.filter(contact=persona.contact, direction="in",
                                                     content__type="order").first())
    assert [(i["product_retailer_id"], i["quantity"]) for i in order.content["items"]] == [("bubble-tea", 2),
                                                                                         ("egg-tart", 1)]
    screenshot(page, "whatsapp-order")
