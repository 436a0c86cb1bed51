"""The inbox in Chromium with two members at once, over real HTTP and the real event stream (SPEC I1-I3): Amy follows a
WhatsApp conversation; Ben starts a new WhatsApp conversation with the same number, is asked whether to take it
over, confirms, and Amy's screen shows the change; then the customer answers from the simulated phone and both
screens show the answer without a reload."""

import datetime

import pytest

from tidings.channels.services import account_create
from tidings.core.roles import Role
from tidings.inbox.models import Conversation
from tidings.sandbox.personas import persona_act
from tidings.timers.services import clock_advance

from tests.browser.support import screenshot, wait_for, whatsapp_customer_writes

pytestmark = pytest.mark.browser


@pytest.fixture
def whatsapp(live_server, settings, workspace):
    """Real HTTP both ways: the pipeline calls the fake Graph API on the live server and the persona's messages come
    back as signed webhooks."""
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    return account_create(workspace=workspace, actor=None, channel="whatsapp", name="Tidings Tea")


def _inbox(new_page, log_in, member, **size):
    page = new_page(**size)
    log_in(page, member)
    page.goto("/inbox/")
    page.wait_for_function("document.body.dataset.realtime === 'open'")
    return page


def test_takeover_reaches_the_previous_follower_and_the_customer_reply_reaches_both(new_page, log_in, workspace,
                                                                                    make_member, whatsapp):
    # Amy manages the team (she still sees the conversation once it is Ben's); Ben is an agent.
    amy = make_member(workspace, Role.CS_MANAGER, name="Amy")
    ben = make_member(workspace, Role.CS_AGENT, name="Ben")
    persona, conversation = whatsapp_customer_writes(workspace, name="陳美玲", phone="+85269876501",
                                                     text="Is the oolong back in stock?")

    a = _inbox(new_page, log_in, amy)
    row = a.locator(f'.conv[data-conversation-id="{conversation.pk}"]')
    assert "Is the oolong back in stock?" in row.inner_text()
    screenshot(a, "inbox-list")
    row.click()
    a.wait_for_selector(".msg-in:has-text('Is the oolong back in stock?')")
    a.click("[data-follow]")
    a.wait_for_selector("#convo-header:has-text('You follow it')")
    a.wait_for_selector(".thread-activity:has-text('Amy followed')")
    conversation.refresh_from_db()
    assert conversation.assignee == amy

    b = _inbox(new_page, log_in, ben)
    b.click("[data-wa-open]")
    dialog = b.locator("[data-wa-dialog]")
    assert dialog.locator("select[name=region]").input_value() == "HK"  # +852 by default
    dialog.locator("input[name=phone]").fill("6987 6501")
    dialog.locator("[data-wa-start]").click()
    dialog.locator("text=Amy follows this conversation. Take it over?").wait_for()
    screenshot(b, "inbox-takeover-question")
    dialog.locator("[data-wa-takeover]").click()
    b.wait_for_url(f"**/inbox/{conversation.pk}/")
    b.wait_for_selector("#convo-header:has-text('You follow it')")
    b.wait_for_function("document.body.dataset.realtime === 'open'")

    # Amy is told, and her header and timeline change without a reload.
    a.wait_for_selector("[data-convo-notice]:has-text('Ben took over this conversation')")
    a.wait_for_selector("#convo-header:has-text('Followed by Ben')")
    a.wait_for_selector(".thread-activity:has-text('Ben took over from Amy')")
    assert a.locator("[data-takeover-open]").is_visible()  # she could take it back, after the question
    screenshot(a, "inbox-taken-over")

    persona_act(workspace=workspace, persona=persona, action="send", channel="whatsapp", text="Great, two tins please")
    for page in (a, b):
        page.wait_for_selector(".msg-in:has-text('Great, two tins please')")
        assert page.locator(".msg-in:has-text('Great, two tins please')").count() == 1  # appended once
    # Read where it is open: the unread count goes back to zero.
    wait_for(lambda: Conversation.objects.get(pk=conversation.pk).unread_count == 0)
    # Ben's list (open on In progress, where the conversation now is) follows too.
    b.locator(f'.conv[data-conversation-id="{conversation.pk}"]:has-text("Great, two tins please")').wait_for()
    screenshot(b, "inbox-conversation")


def test_ticks_follow_the_delivery_and_the_list_moves_on_a_phone(new_page, log_in, workspace, make_member,
                                                                 whatsapp):
    from tidings.inbox.services import conversation_reply

    agent = make_member(workspace, Role.CS_AGENT, name="Cara")
    persona, conversation = whatsapp_customer_writes(workspace, name="Wong Ka Yan", phone="+85269876502",
                                                     text="Hello?")

    page = _inbox(new_page, log_in, agent, width=390, height=844)
    page.click(f'.conv[data-conversation-id="{conversation.pk}"]')
    page.wait_for_selector(".msg-in:has-text('Hello?')")
    assert not page.locator("#inbox-list").is_visible()  # one column at a time on a phone
    assert page.locator("[data-reply-window]").inner_text().strip().endswith("min left")

    [sent] = conversation_reply(conversation=conversation, membership=agent,
                                contents=[{"type": "text", "text": "Hi! How can we help?"}])
    bubble = page.locator(f'[data-message-id="{sent.pk}"]')
    bubble.wait_for()
    page.wait_for_selector(f'[data-message-id="{sent.pk}"] [data-tick="sent"]')
    # The fake WhatsApp reports "delivered" two seconds (of the sandbox clock) later; the tick moves without a reload.
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=3))
    page.wait_for_selector(f'[data-message-id="{sent.pk}"] [data-tick="delivered"]')
    screenshot(page, "inbox-phone-conversation")
    page.click("[data-back]")
    page.click(".inbox-tab[data-tab=in_progress]")  # replying made Cara its follower
    page.wait_for_selector(f'.conv[data-conversation-id="{conversation.pk}"]:has-text("Hi! How can we help?")')
    screenshot(page, "inbox-phone-list")


def test_an_agent_whose_conversation_is_taken_over_from_the_header_is_told(new_page, log_in, workspace,
                                                                           make_member, whatsapp):
    from tidings.inbox.services import conversation_follow

    agent = make_member(workspace, Role.CS_AGENT, name="Dan")
    manager = make_member(workspace, Role.CS_MANAGER, name="Eve")
    persona, conversation = whatsapp_customer_writes(workspace, name="Lee Siu Ming", phone="+85269876503",
                                                     text="Any news?")
    conversation_follow(conversation=conversation, membership=agent)

    dan = _inbox(new_page, log_in, agent)
    dan.goto(f"/inbox/{conversation.pk}/")
    dan.wait_for_function("document.body.dataset.realtime === 'open'")
    dan.wait_for_selector("[data-inbox-composer] textarea")

    eve = _inbox(new_page, log_in, manager)
    eve.goto(f"/inbox/{conversation.pk}/")
    eve.click("[data-takeover-open]")
    eve.wait_for_selector("[data-takeover-dialog]:has-text('Dan follows this conversation. Take it over?')")
    screenshot(eve, "inbox-header-takeover")
    eve.click("[data-takeover-confirm]")
    eve.wait_for_selector("#convo-header:has-text('You follow it')")
    conversation.refresh_from_db()
    assert conversation.assignee == manager

    # Dan no longer sees it (agents see their own and unassigned): told who took it, and the composer goes away.
    dan.wait_for_selector("[data-convo-notice]:has-text('Eve took over this conversation')")
    dan.wait_for_selector("[data-convo-notice]:has-text('You can no longer see this conversation')")
    assert not dan.locator("[data-inbox-composer]").is_visible()
    dan.wait_for_selector(f'.conv[data-conversation-id="{conversation.pk}"]', state="detached")


def test_earlier_messages_load_above_without_moving_what_is_read(new_page, log_in, workspace, make_member,
                                                                 line_account):
    from tidings.contacts.services import identity_note_inbound, identity_upsert
    from tidings.inbox.services import conversation_note_message
    from tidings.messaging.models import Message

    identity, _created = identity_upsert(workspace=workspace, account=line_account, external_id="U" + "1" * 32,
                                         display_name="林志明")
    start = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(days=1, hours=2)
    for n in range(60):
        message = Message.objects.create(
            workspace=workspace, contact=identity.contact, identity=identity, account=line_account, channel="line",
            direction="in" if n % 2 else "out", status="received" if n % 2 else "delivered",
            content={"type": "text", "text": f"message {n:02d}"}, created_at=start + datetime.timedelta(minutes=30 * n))
        if message.direction == "in":
            identity_note_inbound(identity=identity, at=message.created_at)
        conversation_note_message(message=message)
    conversation = Conversation.objects.get(identity=identity)

    page = new_page()
    log_in(page, make_member(workspace, Role.CS_MANAGER))
    page.goto(f"/inbox/{conversation.pk}/")
    thread = page.locator("[data-thread]")
    page.wait_for_function("(el) => el.scrollTop > 0", arg=thread.element_handle())  # opened at the bottom
    assert page.locator(".msg:has-text('message 59')").is_visible()
    thread.evaluate("(el) => { el.scrollTop = 0; }")
    first = page.locator(".msg:has-text('message 20')")
    before = first.bounding_box()["y"]
    page.click("[data-earlier]")
    page.locator(".msg:has-text('message 00')").wait_for(state="attached")
    page.wait_for_timeout(200)
    assert abs(first.bounding_box()["y"] - before) < 40  # what was on screen stays where it was
    assert page.locator("[data-thread-start]").count() == 1
    days = page.locator("[data-day-line]").evaluate_all("(lines) => lines.map((l) => l.dataset.dayLine)")
    assert len(days) == len(set(days)) >= 2  # one line per day, even where the pages meet
    # LINE reports no reads: what we sent before the customer's last message shows as read.
    assert page.locator('.msg-out[data-status="read"] .tick-inferred').count() == 30
