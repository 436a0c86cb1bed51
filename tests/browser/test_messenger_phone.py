"""The simulated phone's Messenger and Instagram in Chromium, over real HTTP: a generic template (cards) and quick
replies sent through the pipeline show as those apps show them, and tapping a card's postback button or a quick
reply reaches Tidings as Meta's signed webhook on the persona's contact."""

import pytest

from tidings.channels.services import account_create
from tidings.core.roles import Role
from tidings.messaging.models import Message
from tidings.messaging.services import message_send
from tidings.sandbox.models import SandboxDelivery
from tidings.sandbox.personas import persona_create

from tests.browser.support import screenshot, wait_for

pytestmark = pytest.mark.browser

CARDS = {"type": "carousel", "columns": [
    {"title": "凍檸茶 Lemon tea", "text": "HK$28", "image_url": "https://shop.example.test/lemon.jpg", "actions": [
        {"type": "postback", "label": "Order lemon tea", "data": "order=lemon"},
        {"type": "uri", "label": "Details", "uri": "https://shop.example.test/lemon"}]},
    {"title": "珍珠奶茶 Bubble tea", "text": "HK$32", "actions": [
        {"type": "postback", "label": "Order bubble tea", "data": "order=bubble"}]},
]}
ASK = {"type": "text", "text": "Ice level?", "quick_replies": [
    {"type": "postback", "label": "Less ice", "data": "ice=less"},
    {"type": "postback", "label": "No ice", "data": "ice=none"}]}


@pytest.fixture
def pages(live_server, settings, workspace):
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    return {"messenger": account_create(workspace=workspace, actor=None, channel="messenger", name="Tidings Tea"),
            "instagram": account_create(workspace=workspace, actor=None, channel="instagram", name="tidings.tea")}


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_cards_and_quick_replies_tap_back_to_tidings(new_page, log_in, workspace, make_member, pages, channel):
    persona = persona_create(workspace=workspace, name="李嘉欣", phone="+85269876511", line=False,
                             **{channel: {"in_window": True}})
    message_send(workspace=workspace, contact=persona.contact, channel=channel, contents=[CARDS, ASK],
                 purpose="chat")
    wait_for(lambda: SandboxDelivery.objects.filter(persona=persona, kind="push").count() == 2)

    page = new_page()
    log_in(page, make_member(workspace, Role.ADMIN))
    page.goto(f"/sandbox/phone/{persona.pk}?tab={channel}")
    assert page.locator(f"[data-app={channel}]").is_visible()
    cards = page.locator("[data-type=generic] .mcard")
    cards.first.wait_for()
    assert cards.count() == 2 and "Bubble tea" in cards.nth(1).inner_text()
    page.wait_for_selector(".quick-reply:has-text('No ice')")
    screenshot(page, f"{channel}-cards")

    cards.nth(1).locator("button:has-text('Order bubble tea')").click()
    page.wait_for_selector(".item-me .mbubble:has-text('Order bubble tea')")
    postback = wait_for(lambda: Message.objects.filter(contact=persona.contact, direction="in",
                                                        content__type="postback").first())
    assert postback.channel == channel and postback.content["data"] == "order=bubble"

    # Quick replies show under the latest message only; a new answer needs a new question.
    message_send(workspace=workspace, contact=persona.contact, channel=channel, contents=[ASK], purpose="chat")
    page.wait_for_selector(".quick-reply:has-text('Less ice')")
    page.click(".quick-reply:has-text('Less ice')")
    reply = wait_for(lambda: Message.objects.filter(contact=persona.contact, direction="in",
                                                     content__type="quick_reply").first())
    assert reply.content == {"type": "quick_reply", "text": "Less ice", "payload": "ice=less"}
    page.wait_for_selector(".quick-reply", state="detached")
    screenshot(page, f"{channel}-replied")
