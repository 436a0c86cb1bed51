"""Conversation export in Chromium: a running export's progress moves on its own, and a started export ends with
its two downloads (screenshots with TIDINGS_SCREENSHOTS=folder)."""

import datetime

import pytest

from tidings.contacts.models import JobStatus
from tidings.core.roles import Role
from tidings.inbox.models import ConversationExport

from ..inbox.test_exports import DAY, at, conversation, line, message  # noqa: F401 (the line fixture)
from .support import screenshot

pytestmark = pytest.mark.browser


def test_progress_then_downloads(new_page, log_in, workspace, make_member, line):  # noqa: F811
    manager = make_member(workspace, Role.CS_MANAGER, name="Chloe")
    running = ConversationExport.objects.create(workspace=workspace, created_by=manager, date_from=DAY,
                                                date_to=DAY, language="en", status=JobStatus.RUNNING,
                                                total_rows=400, processed_rows=100)
    page = new_page()
    log_in(page, manager)
    page.goto(f"/inbox/exports/{running.pk}")
    assert "100 of 400 conversations (25%)" in page.text_content("[data-progress]")
    screenshot(page, "conversation-export-running")
    ConversationExport.objects.filter(pk=running.pk).update(processed_rows=300)
    page.wait_for_function("document.querySelector('[data-progress]').textContent.includes('300 of 400')")

    message(conversation(workspace, line, name="陳美玲"), at(9), "你好")
    page.goto("/inbox/exports/")
    page.fill("input[name=date_from]", DAY.isoformat())
    page.fill("input[name=date_to]", DAY.isoformat())
    screenshot(page, "conversation-exports")
    page.click("[data-start-export]")
    page.wait_for_selector("[data-download=messages]")
    assert "1 conversation" in page.text_content("[data-done]")
    with page.expect_download() as download:
        page.click("[data-download=summary]")
    assert download.value.suggested_filename == "conversations-summary-acme-20260301-20260301.csv"
    screenshot(page, "conversation-export-done")


def test_an_expired_export_explains_in_traditional_chinese(new_page, log_in, workspace, make_member, line,  # noqa: F811
                                                           settings):
    from tidings.inbox.exports import conversation_export_run
    from tidings.inbox.retention import conversation_export_files_expire

    settings.FILE_RETENTION_DAYS = 7
    manager = make_member(workspace, Role.CS_MANAGER, name="Chloe", language="zh-hant")
    message(conversation(workspace, line, name="陳美玲"), at(9), "你好")
    export = ConversationExport.objects.create(workspace=workspace, created_by=manager, date_from=DAY, date_to=DAY,
                                               language="zh-hant")
    conversation_export_run(export_id=export.pk)
    export.refresh_from_db()
    conversation_export_files_expire(now=export.finished_at + datetime.timedelta(days=8))
    page = new_page()
    log_in(page, manager)
    page.goto(f"/inbox/exports/{export.pk}")
    assert "只保留 7 天" in page.text_content("[data-expired]")
    assert page.locator("[data-download]").count() == 0
    screenshot(page, "conversation-export-expired")
    page.goto("/inbox/exports/")
    assert page.text_content(f"[data-export='{export.pk}'] [data-expired]") == "檔案已刪除"
    screenshot(page, "conversation-exports-expired")
