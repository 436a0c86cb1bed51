"""Keyword rules in Chromium: a CS manager creates an auto-reply rule in the console, a simulated customer's LINE
message fires it (a signed webhook), and the list and the rule's condition page show it triggered once
(screenshots with TIDINGS_SCREENSHOTS=folder)."""

import pytest

from tidings.channels.services import account_create
from tidings.core.roles import Role
from tidings.inbox.models import KeywordRule
from tidings.sandbox.models import SandboxDelivery
from tidings.sandbox.personas import persona_act, persona_create

from .support import screenshot

pytestmark = pytest.mark.browser


def test_a_rule_made_in_the_console_fires_on_a_customer_message_and_counts_once(new_page, log_in, workspace,
                                                                                make_member):
    account_create(workspace=workspace, actor=None, channel="line", name="Acme 茶室")
    account_create(workspace=workspace, actor=None, channel="sms", name="Acme SMS")
    manager = make_member(workspace, Role.CS_MANAGER, name="Mandy")
    persona = persona_create(workspace=workspace, name="陳美玲", phone="+85269876501")

    page = new_page()
    log_in(page, manager)
    page.click("nav >> text=Keyword rules")
    page.wait_for_url("**/keyword-rules/")
    assert "No auto-reply rules yet" in page.text_content(".empty-state")
    page.click("[data-add-rule]")
    page.fill("input[name=name]", "Opening hours")
    page.fill("textarea[name=keywords]", "hours\n營業時間")
    page.check("input[name=channels][value=line]")
    page.fill("textarea[name=reply_text]", "We open 10:00–22:00 every day.")
    page.fill("input[name=tags]", "asked-hours")
    assert page.is_hidden("input[name=reply_image_url]")
    page.check("input[name=match_type][value=anything]")
    assert page.is_hidden("textarea[name=keywords]")  # "Any text" needs no keywords
    page.check("input[name=match_type][value=any]")
    screenshot(page, "keyword-rule-form")
    page.click("form[data-keyword-rule-form] button[type=submit]")
    page.wait_for_url("**/keyword-rules/")
    rule = KeywordRule.objects.get()
    row = page.locator(f"tr[data-rule='{rule.pk}']")
    assert row.locator("[data-trigger-count]").text_content() == "0"

    persona_act(workspace=workspace, persona=persona, action="send", channel="line", text="What are your HOURS?")
    persona_act(workspace=workspace, persona=persona, action="send", channel="line", text="thanks")
    replies = SandboxDelivery.objects.filter(persona=persona).exclude(kind="user")
    assert [d.payload.get("text") for d in replies] == ["We open 10:00–22:00 every day."]

    page.reload()
    assert row.locator("[data-trigger-count]").text_content() == "1"
    assert "LINE 1" in row.locator(".kw-num").text_content()
    screenshot(page, "keyword-rules-list")

    row.locator("a:has-text('Opening hours')").click()
    page.wait_for_url(f"**/keyword-rules/{rule.pk}/")
    assert page.text_content("[data-rule-stats] [data-trigger-count]") == "1"
    assert page.text_content("[data-rule-stats] [data-channel-count=line]") == "1"
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('kw-chart'))")
    screenshot(page, "keyword-rule-condition-page")

    # The auto-assign tab: a team target shows the team and order, not the member.
    make_member(workspace, Role.CS_AGENT, name="Amy")
    page.click("a.back")
    page.click("[data-tab=assign]")
    page.wait_for_url("**/keyword-rules/assign/")
    page.click("[data-add-rule]")
    page.fill("input[name=name]", "Refunds")
    page.fill("textarea[name=keywords]", "refund\n退款")
    assert page.is_visible("select[name=assign_member]") and page.is_hidden("select[name=assign_role]")
    page.check("input[name=assign_target][value=role]")
    assert page.is_hidden("select[name=assign_member]")
    page.select_option("select[name=assign_role]", "cs_agent")
    page.locator("fieldset:has-text('Then')").scroll_into_view_if_needed()
    screenshot(page, "keyword-rule-assign-form")
    page.click("form[data-keyword-rule-form] button[type=submit]")
    page.wait_for_url("**/keyword-rules/assign/")
    assert "CS Agent" in page.text_content("[data-keyword-rules] tbody")
    screenshot(page, "keyword-rules-assign-list")
