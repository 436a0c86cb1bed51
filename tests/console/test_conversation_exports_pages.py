"""Conversation export pages (SPEC I6): who may export, the range form, progress, and the two downloads."""

import datetime

import pytest
from django.urls import reverse

from tidings.contacts.models import JobStatus
from tidings.core.roles import Role
from tidings.inbox.exports import export_default_range
from tidings.inbox.models import ConversationExport

from ..inbox.test_exports import DAY, at, conversation, line, message  # noqa: F401 (the line fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.ADMIN, True), (Role.SUPERVISOR, True), (Role.CS_MANAGER, True), (Role.SALES_MANAGER, True),
    (Role.CS_AGENT, False), (Role.SALES_PERSON, False), (Role.MARKETER, False),
])
def test_who_may_export(console_client, workspace, make_member, role, allowed):
    response = console_client(make_member(workspace, role)).get(reverse("console:conversation_exports"))
    assert response.status_code == (200 if allowed else 403)


def test_the_form_suggests_the_last_seven_days_in_the_workspaces_zone(console_client, workspace, make_member):
    page = console_client(make_member(workspace, Role.CS_MANAGER)).get(
        reverse("console:conversation_exports")).content.decode()
    first, last = export_default_range(workspace)
    assert (last - first).days == 6
    assert f'value="{first:%Y-%m-%d}"' in page and f'value="{last:%Y-%m-%d}"' in page
    assert "data-partial" not in page  # a CS manager's export holds the whole inbox


def test_a_sales_manager_is_told_the_export_holds_their_customers_only(console_client, workspace, make_member):
    page = console_client(make_member(workspace, Role.SALES_MANAGER)).get(
        reverse("console:conversation_exports")).content.decode()
    assert "data-partial" in page


def test_start_then_progress_then_both_downloads(console_client, workspace, make_member, line,  # noqa: F811
                                                 django_capture_on_commit_callbacks):
    manager = make_member(workspace, Role.CS_MANAGER, language="zh-hant")
    message(conversation(workspace, line, name="陳美玲"), at(9), "你好，有冇凍檸茶？")
    client = console_client(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:conversation_exports"),
                               {"date_from": DAY.isoformat(), "date_to": DAY.isoformat()})
    export = ConversationExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:conversation_export_detail",
                                           kwargs={"conversation_export_id": export.pk})
    export.refresh_from_db()
    assert export.status == JobStatus.DONE and export.language == "zh-hant"
    page = client.get(response["Location"]).content.decode()
    assert 'data-download="messages"' in page and 'data-download="summary"' in page
    download = client.get(reverse("console:conversation_export_messages", kwargs={"conversation_export_id": export.pk}))
    body = b"".join(download.streaming_content)
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"] and "messages" in download["Content-Disposition"]
    assert body.startswith(b"\xef\xbb\xbf") and "你好，有冇凍檸茶？".encode() in body
    assert "渠道".encode() in body.splitlines()[0]  # headers in the member's language
    summary = client.get(reverse("console:conversation_export_summary", kwargs={"conversation_export_id": export.pk}))
    assert "陳美玲".encode() in b"".join(summary.streaming_content)


def test_a_waiting_export_polls_and_has_no_download_yet(console_client, workspace, make_member):
    manager = make_member(workspace, Role.CS_MANAGER)
    export = ConversationExport.objects.create(workspace=workspace, created_by=manager, date_from=DAY, date_to=DAY,
                                               language="en")
    client = console_client(manager)
    url = reverse("console:conversation_export_detail", kwargs={"conversation_export_id": export.pk})
    block = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in block and "data-waiting" in block
    ConversationExport.objects.filter(pk=export.pk).update(status=JobStatus.RUNNING, total_rows=200,
                                                           processed_rows=50)
    block = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "50 of 200 conversations (25%)" in block
    assert client.get(reverse("console:conversation_export_summary",
                              kwargs={"conversation_export_id": export.pk})).status_code == 404


def test_a_backwards_range_is_refused_on_the_form(console_client, workspace, make_member):
    response = console_client(make_member(workspace, Role.CS_MANAGER)).post(
        reverse("console:conversation_exports"),
        {"date_from": DAY.isoformat(), "date_to": (DAY - datetime.timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    assert "The last day comes before the first day." in response.content.decode()
    assert not ConversationExport.objects.exists()


def test_a_sales_manager_cannot_open_another_members_export(console_client, workspace, make_member):
    sean, sally = make_member(workspace, Role.SALES_MANAGER), make_member(workspace, Role.SALES_MANAGER)
    hers = ConversationExport.objects.create(workspace=workspace, created_by=sally, date_from=DAY, date_to=DAY,
                                             language="en", status=JobStatus.DONE)
    client = console_client(sean)
    assert client.get(reverse("console:conversation_export_detail",
                              kwargs={"conversation_export_id": hers.pk})).status_code == 404
    assert f'data-export="{hers.pk}"' not in client.get(reverse("console:conversation_exports")).content.decode()


def test_an_expired_export_says_its_files_were_deleted(console_client, workspace, make_member, line,  # noqa: F811
                                                       settings):
    from tidings.inbox.exports import conversation_export_run
    from tidings.inbox.retention import conversation_export_files_expire

    settings.FILE_RETENTION_DAYS = 7
    manager = make_member(workspace, Role.CS_MANAGER)
    message(conversation(workspace, line), at(9), "你好")
    export = ConversationExport.objects.create(workspace=workspace, created_by=manager, date_from=DAY, date_to=DAY,
                                               language="en")
    conversation_export_run(export_id=export.pk)
    export.refresh_from_db()
    client = console_client(manager)
    url = reverse("console:conversation_export_detail", kwargs={"conversation_export_id": export.pk})
    assert "The files are kept for 7 days." in client.get(url).content.decode()

    conversation_export_files_expire(now=export.finished_at + datetime.timedelta(days=8))
    page = client.get(url).content.decode()
    assert "data-expired" in page and "data-download" not in page and "exports are kept for 7 days" in page
    listing = client.get(reverse("console:conversation_exports")).content.decode()
    assert "Files deleted" in listing
    assert client.get(reverse("console:conversation_export_messages",
                              kwargs={"conversation_export_id": export.pk})).status_code == 404
