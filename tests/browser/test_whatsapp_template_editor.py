"""The template editor in Chromium: the buttons editor (add, move, remove), the live preview folding 4+ buttons
into "See all options", and a wrong mix refused before anything is stored."""

import os

import pytest
from playwright.sync_api import expect

from tidings.core.roles import Role
from tidings.message_templates.models import WhatsAppTemplate

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("TIDINGS_SCREENSHOTS", "")


def add_button(page, kind, text, extra=None):
    page.click(f"[data-add-button={kind}]")
    row = page.locator(".tpl-button-row").last
    row.locator("input[data-key=text]").fill(text)
    if extra:
        row.locator(f"input[data-key={'url' if kind == 'url' else 'phone'}]").fill(extra)


def test_editor_preview_and_submit(new_page, log_in, workspace, make_member, whatsapp_account):  # noqa: F811
    page = new_page(width=1360, height=1000)
    log_in(page, make_member(workspace, Role.MARKETER))
    page.goto("/whatsapp-templates/add")
    page.fill("#id_name", "spring_sale")
    page.select_option("#id_header_format", "TEXT")
    page.fill("#id_header_text", "Spring sale")
    page.fill("#id_body", "Hi {{1}}, take {{2}} off everything this week.")
    page.fill("#id_body_examples", "Mei\n20%")
    page.fill("#id_footer", "Reply STOP to unsubscribe")
    add_button(page, "url", "Shop now", "https://shop.example/spring")
    add_button(page, "quick_reply", "Remind me")
    add_button(page, "quick_reply", "Not now")
    add_button(page, "phone", "Call us", "+85230001234")
    add_button(page, "quick_reply", "Stop promotions")  # quick replies split: QR,QR,PHONE,QR
    # The preview refreshes as each field is typed: wait for the state after the last button, not the first problem.
    expect(page.locator("[data-preview-problem]")).to_contain_text("Quick reply buttons must stay together")
    # move the phone button up, before the quick replies: URL, PHONE, QR, QR, QR
    page.locator(".tpl-button-row").nth(3).locator("[data-move='-1']").click()
    page.locator(".tpl-button-row").nth(2).locator("[data-move='-1']").click()
    page.wait_for_selector("[data-preview-problem]", state="detached")
    preview = page.locator("#template-preview")
    assert "Hi Mei, take 20% off everything this week." in preview.inner_text()
    assert preview.locator(".wa-template-buttons > [data-kind]").count() == 2
    preview.locator("summary", has_text="See all options").click()
    assert preview.locator(".wa-template-sheet [data-kind]").count() == 3
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "whatsapp-template-editor.png"), full_page=True)
    page.click("button[name=intent][value=submit]")
    page.wait_for_url("**/whatsapp-templates/")
    assert page.locator("[data-status=PENDING]").count() == 1
    template = WhatsAppTemplate.objects.get()
    assert [b["type"] for b in template.buttons] == ["url", "phone", "quick_reply", "quick_reply", "quick_reply"]
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, "whatsapp-template-list.png"), full_page=True)
