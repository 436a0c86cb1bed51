"""The composer and the customer panel in Chromium, inside the inbox page, over real HTTP: an agent answers with
Enter, puts a saved reply into the input box, sends an image, tags the customer and writes a note; outside
WhatsApp's 24-hour window the composer offers only templates, previews the variables as they are typed and sends
one."""

import struct
import zlib

import pytest

from tidings.channels.services import account_create
from tidings.core.roles import Role
from tidings.inbox.models import SavedReply
from tidings.inbox.services import whatsapp_conversation_start
from tidings.messaging.models import Message
from tidings.sandbox.personas import persona_act, persona_create

from tests.browser.support import screenshot, wait_for, whatsapp_customer_writes
from tests.message_templates.support import approved_template

pytestmark = pytest.mark.browser

def _png(width=240, height=160) -> bytes:
    """A small real picture (a tea-green gradient), so the sent image shows in the thread."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in (40 + x // 3, 140 + y // 4, 110, 255))
                    for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def whatsapp(live_server, settings, workspace, tmp_path):
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    settings.MEDIA_ROOT = tmp_path / "media"
    return account_create(workspace=workspace, actor=None, channel="whatsapp", name="Tidings Tea")


def _open(new_page, log_in, member, conversation):
    page = new_page(width=1440, height=900)
    log_in(page, member)
    page.goto(f"/inbox/{conversation.pk}/")
    page.wait_for_selector("[data-composer] textarea[name=text], [data-composer] [data-template-form]")
    page.wait_for_selector("[data-customer-panel]")
    return page


def test_agent_answers_with_text_a_saved_reply_and_an_image_and_edits_the_customer(new_page, log_in, workspace,
                                                                                  make_member, whatsapp, tmp_path,
                                                                                  live_server):
    agent = make_member(workspace, Role.CS_AGENT, name="Amy")
    persona, conversation = whatsapp_customer_writes(workspace, name="陳美玲", phone="+85269876511",
                                                     text="Do you ship to Kowloon?")
    SavedReply.objects.create(workspace=workspace, title="Delivery", category="Shipping",
                              text="Hi {name}, we deliver everywhere in Hong Kong within 2 days.")
    SavedReply.objects.create(workspace=workspace, title="Opening hours", text="10:00-22:00 every day")

    page = _open(new_page, log_in, agent, conversation)
    assert "left" in page.locator("[data-composer] [data-window]").inner_text()
    box = page.locator("[data-composer] textarea[name=text]")
    box.fill("Yes we do!")
    box.press("Shift+Enter")
    box.type("Which district?")
    box.press("Enter")
    page.wait_for_selector(".msg-out:has-text('Which district?')")
    assert Message.objects.get(identity=conversation.identity, direction="out").content["text"] == (
        "Yes we do!\nWhich district?")
    page.wait_for_selector("[data-composer-sent]")
    assert page.locator("[data-composer] textarea[name=text]").input_value() == ""

    page.click("[data-open-saved-replies]")
    page.wait_for_selector("[data-saved-replies] [data-saved-reply]")
    page.fill("[data-saved-search]", "deliver")
    page.wait_for_selector("[data-saved-results]:not(:has-text('Opening hours'))")
    page.click("[data-saved-reply]")
    page.wait_for_selector("[data-saved-preview]:has-text('Hi 陳美玲, we deliver everywhere')")
    screenshot(page, "inbox-composer-saved-replies")
    page.click("[data-apply-saved]")
    assert page.locator("[data-composer] textarea[name=text]").input_value().startswith("Hi 陳美玲, we deliver")
    page.locator("[data-composer] textarea[name=text]").press("End")
    page.locator("[data-composer] textarea[name=text]").type(" See you!")

    picture = tmp_path / "receipt.png"
    picture.write_bytes(_png())
    page.set_input_files("[data-composer] input[name=image]", str(picture))
    page.wait_for_selector("[data-attachment-file]:not([hidden]):has-text('receipt.png')")
    screenshot(page, "inbox-composer-open-window")
    page.click("[data-composer] [data-send]")
    page.wait_for_selector(".msg-out:has-text('See you!')")
    image = wait_for(lambda: Message.objects.filter(identity=conversation.identity, content__type="image").first())
    assert image.content["url"].startswith(f"{live_server.url}/media/chat/{workspace.pk}/")
    page.wait_for_selector(f'img[src="{image.content["url"]}"]')

    panel = page.locator("[data-customer-panel]")
    panel.locator("[data-add-tag] input[name=tags]").fill("Kowloon")
    panel.locator("[data-add-tag] button").click()
    panel.locator('[data-tag="Kowloon"]').wait_for()
    panel.locator("[data-note-form] textarea").fill("Wants delivery after 6pm")
    # Wait for the server's answer itself, not a fixed 10 s: on a loaded CI machine the save can take longer.
    with page.expect_response(lambda r: r.url.endswith("/panel/notes") and r.request.method == "POST",
                              timeout=30_000) as saved:
        panel.locator("[data-note-form] button").click()
    assert saved.value.status == 200
    panel.locator("[data-note]:has-text('Wants delivery after 6pm')").wait_for()
    screenshot(page, "inbox-panel")
    persona.contact.refresh_from_db()
    assert [t.name for t in persona.contact.tags.all()] == ["Kowloon"]


def test_a_slow_send_does_not_pull_the_agents_typing_away_from_the_panel(new_page, log_in, workspace, make_member,
                                                                          whatsapp):
    agent = make_member(workspace, Role.CS_AGENT, name="Amy")
    persona, conversation = whatsapp_customer_writes(workspace, name="Kelly Ho", phone="+85269876513",
                                                     text="Is the shop open?")
    page = _open(new_page, log_in, agent, conversation)

    held = []  # the send's answer, kept back until the agent is typing a tag, as on a slow network
    page.route("**/composer", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    page.locator("[data-composer] textarea[name=text]").fill("Yes, until 10pm")
    page.locator("[data-composer] textarea[name=text]").press("Enter")
    while not held:  # the route handler runs while Playwright is waiting, not while Python sleeps
        page.wait_for_timeout(50)
    tag_box = page.locator("[data-customer-panel] [data-add-tag] input[name=tags]")
    tag_box.click()
    page.keyboard.type("Night")
    held[0].continue_()
    page.wait_for_selector("[data-composer-sent]")
    page.keyboard.type(" owl")
    assert tag_box.input_value() == "Night owl"
    assert page.locator("[data-composer] textarea[name=text]").input_value() == ""

    # With nothing else chosen, the cursor goes back to the composer after a send.
    page.unroute("**/composer")
    page.locator("[data-composer] textarea[name=text]").fill("See you")
    page.locator("[data-composer] textarea[name=text]").press("Enter")
    page.wait_for_selector(".msg-out:has-text('See you')")
    page.wait_for_function("document.activeElement && document.activeElement.matches('[data-composer-text]')")


def test_outside_the_whatsapp_window_only_a_template_goes(new_page, log_in, workspace, make_member, whatsapp):
    agent = make_member(workspace, Role.CS_AGENT, name="Ben")
    template = approved_template(whatsapp)
    persona = persona_create(workspace=workspace, name="Ken Lee", phone="+85269876512", line=False,
                             whatsapp={"in_window": False})
    conversation = whatsapp_conversation_start(workspace=workspace, membership=agent, phone="+852 6987 6512")

    page = _open(new_page, log_in, agent, conversation)
    assert "only approved templates" in page.locator("[data-composer] [data-window]").inner_text()
    assert page.locator("[data-composer] textarea[name=text]").count() == 0
    page.fill("[data-composer] input[name=body_1]", "Ken")
    page.wait_for_selector("[data-template-preview]:has-text('Hi Ken, your order #1024 is ready.')")
    page.fill("[data-composer] input[name=body_2]", "#7788")
    page.wait_for_selector("[data-template-preview]:has-text('Hi Ken, your order #7788 is ready.')")
    screenshot(page, "inbox-composer-template")
    page.click("[data-send-template]")
    page.wait_for_selector("[data-composer-sent]")
    sent = Message.objects.get(identity=conversation.identity)
    assert sent.content["name"] == template.name and sent.content["parameters"] == ["Ken", "#7788"]
    page.wait_for_selector(".msg-out")

    # The customer answers: the window opens again and the composer offers free text, without a reload.
    persona_act(workspace=workspace, persona=persona, action="send", channel="whatsapp", text="Thanks, on my way")
    page.wait_for_selector("[data-composer] textarea[name=text]")
    assert "left" in page.locator("[data-composer] [data-window]").inner_text()


def test_messenger_outside_the_window_asks_for_a_message_tag(new_page, log_in, workspace, make_member, whatsapp):
    from tidings.contacts.services import identity_upsert
    from tidings.inbox.services import conversation_ensure

    agent = make_member(workspace, Role.CS_AGENT, name="Cara")
    page_account = account_create(workspace=workspace, actor=None, channel="messenger", name="Tidings Tea Page")
    identity, _created = identity_upsert(workspace=workspace, account=page_account, external_id="24001234567890",
                                         display_name="Wong Ka Yan")
    conversation, _created = conversation_ensure(identity=identity)

    page = _open(new_page, log_in, agent, conversation)
    assert "choose a message tag" in page.locator("[data-composer] [data-window]").inner_text()
    page.fill("[data-composer] textarea[name=text]", "Your order has shipped: tracking HK123.")
    page.select_option("[data-composer] select[name=tag]", "POST_PURCHASE_UPDATE")
    screenshot(page, "inbox-composer-messenger-tag")
    page.click("[data-composer] [data-send]")
    page.wait_for_selector("[data-composer-sent]")
    sent = Message.objects.get(identity=identity)
    assert sent.dispatch.options["tag"] == "POST_PURCHASE_UPDATE"
