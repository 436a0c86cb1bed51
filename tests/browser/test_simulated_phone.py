"""The simulated phone in Chromium, over real HTTP: a LINE carousel sent through the pipeline shows on the
persona's phone, and tapping its postback button reaches Tidings as LINE's signed postback webhook."""

import pytest

from tidings.channels.services import account_create
from tidings.core.roles import Role
from tidings.messaging.models import Message
from tidings.messaging.services import message_send
from tidings.sandbox.personas import persona_create

from tests.browser.support import screenshot, wait_for

pytestmark = pytest.mark.browser

CAROUSEL = {"type": "carousel", "columns": [
    {"title": "凍檸茶", "text": "Iced lemon tea · HK$28", "actions": [
        {"type": "postback", "label": "Order lemon tea", "data": "order=lemon-tea"},
        {"type": "uri", "label": "Menu", "uri": "https://shop.example.test/menu"}]},
    {"title": "珍珠奶茶", "text": "Bubble milk tea · HK$32", "actions": [
        {"type": "postback", "label": "Order bubble tea", "data": "order=bubble-tea"},
        {"type": "uri", "label": "Menu", "uri": "https://shop.example.test/menu"}]},
    {"title": "烏龍茶", "text": "Oolong · HK$25", "actions": [
        {"type": "postback", "label": "Order oolong", "data": "order=oolong"},
        {"type": "uri", "label": "Menu", "uri": "https://shop.example.test/menu"}]},
]}
MORE = [
    {"type": "text", "text": "想試吓新口味嗎？", "quick_replies": [
        {"type": "message", "label": "好呀", "text": "好呀"}, {"type": "postback", "label": "下次先", "data": "later"}]},
]


def test_carousel_tap_reaches_tidings_as_a_postback(new_page, log_in, live_server, settings, workspace,
                                                    make_member):
    # Real HTTP: the pipeline calls the fake LINE on the live server, which answers; the phone's taps POST signed
    # webhooks back to the live server.
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    account_create(workspace=workspace, actor=None, channel="line", name="Acme 茶室")
    account_create(workspace=workspace, actor=None, channel="sms", name="Acme SMS")
    persona = persona_create(workspace=workspace, name="陳美玲", phone="+85269876543")
    assert persona.line_friend

    [carousel] = message_send(workspace=workspace, contact=persona.contact, channel="line", contents=[CAROUSEL],
                              purpose="chat")
    wait_for(lambda: Message.objects.get(pk=carousel.pk).status == "sent")
    message_send(workspace=workspace, contact=persona.contact, channel="line", contents=MORE, purpose="chat")

    page = new_page()
    log_in(page, make_member(workspace, Role.ADMIN))
    page.goto(f"/sandbox/phone/{persona.pk}")
    card = page.locator("[data-type=carousel]")
    card.wait_for()
    assert card.locator(".tcard").count() == 3
    assert "珍珠奶茶" in card.inner_text()
    page.wait_for_selector(".quick-reply:has-text('好呀')")
    screenshot(page, "phone-desktop")

    card.locator("button:has-text('Order bubble tea')").click()
    page.wait_for_selector(".note:has-text('Order bubble tea')")
    postback = wait_for(lambda: Message.objects.filter(contact=persona.contact, direction="in").first())
    assert postback.content == {"type": "postback", "data": "order=bubble-tea"}
    assert postback.channel == "line" and postback.status == "received"

    # The composer sends text by LINE's message webhook; the phone shows it on the persona's side.
    page.fill("#composer-text", "幾點開門？")
    page.click(".composer .send")
    page.wait_for_selector(".item-me .bubble:has-text('幾點開門？')")
    assert page.input_value("#composer-text") == ""
    wait_for(lambda: Message.objects.filter(contact=persona.contact, direction="in").count() == 2)


def test_phone_fills_a_phone_sized_screen(new_page, log_in, live_server, settings, workspace, make_member):
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    account_create(workspace=workspace, actor=None, channel="line", name="Acme 茶室")
    persona = persona_create(workspace=workspace, name="Blocked Bo", phone="+85269876544", blocked=True)
    page = new_page(width=390, height=844)
    log_in(page, make_member(workspace, Role.ADMIN))
    page.goto(f"/sandbox/phone/{persona.pk}")
    page.wait_for_selector("[data-state=blocked]")
    box = page.locator("[data-phone]").bounding_box()
    assert box["x"] == 0 and box["width"] == 390 and box["height"] == 844
    screenshot(page, "phone-mobile-blocked")
    page.click("[data-action=follow]")
    page.wait_for_selector("[data-state=blocked]", state="detached")
    persona.refresh_from_db()
    assert not persona.line_blocked
