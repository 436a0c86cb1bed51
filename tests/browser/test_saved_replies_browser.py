"""Saved replies in Chromium: a manager writes a team-wide reply with a variable inserted by its button and sees it
filled in the preview; it is listed for an agent, who finds it by searching (screenshots with
TIDINGS_SCREENSHOTS=folder)."""

import pytest

from tidings.core.roles import Role
from tidings.inbox.models import SavedReply
from tidings.inbox.saved_replies import saved_reply_create

from .support import screenshot

pytestmark = pytest.mark.browser


def test_create_a_team_reply_then_an_agent_finds_it(new_page, log_in, workspace, make_member):
    manager = make_member(workspace, Role.CS_MANAGER, name="Chloe")
    agent = make_member(workspace, Role.CS_AGENT, name="Kai")
    saved_reply_create(membership=manager, title="Delivery", text="Free delivery over HK$200, {name}.",
                       category="Orders", team_wide=True)
    page = new_page()
    log_in(page, manager)

    page.goto("/inbox/saved-replies/")
    page.click("[data-new-reply]")
    page.fill("input[name=title]", "Opening hours 營業時間")
    page.fill("input[name=category]", "Store")
    page.fill("textarea[name=text]", "Hi ")
    page.click("[data-insert='{name}']")
    page.type("textarea[name=text]", ", we open 11:00–21:00. — {agent}")
    assert page.input_value("textarea[name=text]") == "Hi {name}, we open 11:00–21:00. — {agent}"
    assert page.text_content("[data-reply-preview]") == "Hi Chan Tai Man, we open 11:00–21:00. — Chloe"
    page.check("input[name=team_wide][value=team]")
    screenshot(page, "saved-reply-form")
    page.click("[data-reply-form] button[type=submit]")

    page.wait_for_url("**/inbox/saved-replies/")
    reply = SavedReply.objects.get(title="Opening hours 營業時間")
    assert reply.owner is None and reply.category == "Store"
    row = page.locator(f"[data-reply='{reply.pk}']")
    assert "Opening hours 營業時間" in row.text_content()
    assert row.locator("[data-scope=team]").is_visible()
    assert row.locator(".var").all_text_contents() == ["{name}", "{agent}"]
    screenshot(page, "saved-replies-manager")

    agent_page = new_page()
    log_in(agent_page, agent)
    agent_page.goto("/inbox/saved-replies/")
    assert agent_page.locator("[data-reply]").count() == 2
    agent_page.fill("input[name=q]", "11:00")
    agent_page.wait_for_function("document.querySelectorAll('[data-reply]').length === 1")
    assert "Opening hours" in agent_page.text_content("[data-replies]")
    assert agent_page.locator(f"[data-reply='{reply.pk}'] .actions").count() == 0  # the team's: not his to edit
    assert "q=11" in agent_page.url
    screenshot(agent_page, "saved-replies-agent-search")
