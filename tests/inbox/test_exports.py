"""Conversation export (SPEC I6): a date range in the workspace's time zone, one row per message and a summary per
conversation, headers in the member's language, only what the member may see, built in the background."""

import csv
import datetime
import io
import itertools
import zoneinfo

import pytest

from tidings.channels.services import account_create
from tidings.contacts.models import JobStatus
from tidings.contacts.services import identity_upsert
from tidings.core.errors import ServiceError
from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.core.services import member_change_role
from tidings.inbox import exports
from tidings.inbox.exports import conversation_export_run, conversation_export_start, export_get, exports_for
from tidings.inbox.models import ConversationExport, ConversationState, KeywordRule
from tidings.inbox.services import conversation_ensure
from tidings.messaging.models import Message

pytestmark = pytest.mark.django_db

TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")
DAY = datetime.date(2026, 3, 1)
_ids = itertools.count(1)


def at(hour, minute=0, day=DAY):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TAIPEI)


@pytest.fixture
def workspace(make_workspace):
    return make_workspace(slug="acme", name="Acme Tea", time_zone="Asia/Taipei")


@pytest.fixture
def manager(workspace, make_member):
    return make_member(workspace, Role.CS_MANAGER, name="Chloe")


@pytest.fixture
def line(workspace):
    return account_create(workspace=workspace, actor=None, channel="line", name="Acme LINE")


def conversation(workspace, account, *, name="陳美玲", phone="+85261234567", assignee=None, state=None):
    identity, _created = identity_upsert(workspace=workspace, account=account, external_id=f"U{next(_ids):032x}",
                                         display_name=name)
    identity.contact.phone = phone
    identity.contact.save()
    conv, _created = conversation_ensure(identity=identity)
    if assignee or state:
        conv.assignee, conv.state = assignee, state or ConversationState.IN_PROGRESS
        conv.save()
    return conv


def message(conv, when, text="", *, direction="in", source="", content=None, status=None, purpose="chat"):
    return Message.objects.create(
        workspace_id=conv.workspace_id, contact_id=conv.contact_id, identity_id=conv.identity_id,
        account_id=conv.account_id, channel=conv.channel, direction=direction, purpose=purpose,
        source=source or ("webhook" if direction == "in" else ""), content=content or {"type": "text", "text": text},
        status=status or ("received" if direction == "in" else "delivered"), created_at=when)


def read(field) -> list[list[str]]:
    with field.open("rb") as file:
        raw = file.read()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark, so Excel reads Chinese"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def run(membership, date_from=DAY, date_to=DAY, language="en"):
    export = ConversationExport.objects.create(workspace=membership.workspace, created_by=membership,
                                               date_from=date_from, date_to=date_to, language=language)
    conversation_export_run(export_id=export.pk)
    export.refresh_from_db()
    return export


def test_one_row_per_message_and_a_summary_per_conversation(workspace, manager, line):
    rule = KeywordRule.objects.create(workspace=workspace, kind="reply", name="Hours", keywords=["hours"])
    mei = conversation(workspace, line, assignee=manager)
    message(mei, at(9, 0), "Opening hours?")
    message(mei, at(9, 0), direction="out", source=f"keyword-rule:{rule.pk}",
            content={"type": "text", "text": "11–21"})
    message(mei, at(9, 12), "Thanks")
    message(mei, at(9, 15), direction="out", source=f"member:{manager.pk}",
            content={"type": "image", "url": "https://cdn.example/menu.png"})
    message(mei, at(10, 0), direction="out", source="api-token:3", purpose="api",
            content={"type": "text", "text": "Order #1"})
    quiet = conversation(workspace, line, name="Amy", phone="")
    message(quiet, at(8, 0, day=DAY - datetime.timedelta(days=3)), "Old news")  # outside the range

    export = run(manager)

    assert export.status == JobStatus.DONE, export.error
    rows = read(export.messages_file)
    assert rows[0] == ["Conversation id", "Channel", "Account", "Customer", "Phone", "Direction", "Sender",
                       "Message type", "Text", "Status", "Sent at"]
    assert [r[6] for r in rows[1:]] == ["Customer", "Keyword rule: Hours", "Customer", "Chloe", "API"]
    assert rows[1] == [str(mei.pk), "LINE", "Acme LINE", "陳美玲", "+85261234567", "Inbound", "Customer", "Text",
                       "Opening hours?", "Received", "2026-03-01 09:00:00"]
    assert rows[4][7:9] == ["Image", "[Image] https://cdn.example/menu.png"]
    summary = read(export.summary_file)
    assert summary[0][-6:] == ["Messages in range", "Customer messages", "Agent messages", "First message at",
                               "Last message at", "First response time"]
    assert summary[1:] == [[str(mei.pk), "LINE", "Acme LINE", "陳美玲", "+85261234567", "In progress", "Chloe",
                            "5", "2", "1", "2026-03-01 09:00:00", "2026-03-01 10:00:00", "0:15:00"]]
    assert (export.total_rows, export.processed_rows) == (1, 1)


def test_the_range_is_whole_days_in_the_workspaces_time_zone(workspace, manager, line):
    conv = conversation(workspace, line)
    message(conv, at(23, 59, day=DAY - datetime.timedelta(days=1)), "day before")
    message(conv, at(0, 0), "first minute")
    message(conv, at(23, 59), "last minute")  # 15:59 UTC: still 1 March in Taipei
    message(conv, at(0, 0, day=DAY + datetime.timedelta(days=1)), "day after")
    rows = read(run(manager).messages_file)
    assert [r[8] for r in rows[1:]] == ["first minute", "last minute"]
    assert rows[2][10] == "2026-03-01 23:59:00"


def test_headers_and_labels_in_the_language_of_the_member(workspace, manager, line):
    message(conversation(workspace, line), at(9), "你好")
    export = run(manager, language="zh-hant")
    header = read(export.messages_file)[0]
    assert {"渠道", "電話", "狀態"} <= set(header)
    assert "Channel" not in header


def test_a_sales_manager_exports_only_the_conversations_they_may_see(workspace, manager, make_member, line):
    sean = make_member(workspace, Role.SALES_MANAGER, name="Sean")
    his = conversation(workspace, line, name="His customer", assignee=sean)
    other = conversation(workspace, line, name="Someone else's", assignee=manager)
    unassigned = conversation(workspace, line, name="Nobody's")
    for conv in (his, other, unassigned):
        message(conv, at(12), "hello")
    assert [r[0] for r in read(run(sean).summary_file)[1:]] == [str(his.pk)]
    assert sorted(r[0] for r in read(run(manager).summary_file)[1:]) == sorted(
        str(c.pk) for c in (his, other, unassigned))


def test_large_ranges_go_chunk_by_chunk_and_report_progress(workspace, manager, line, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 2)
    convs = [conversation(workspace, line, name=f"Customer {n}") for n in range(5)]
    for n, conv in enumerate(convs):
        message(conv, at(10, n), f"question {n}")
        message(conv, at(11, n), direction="out", source=f"member:{manager.pk}",
                content={"type": "text", "text": f"answer {n}"})
    seen, progress = [], exports._progress

    def spy(export, **fields):
        seen.append(fields.get("processed_rows"))
        progress(export, **fields)

    monkeypatch.setattr(exports, "_progress", spy)
    export = run(manager)
    assert export.status == JobStatus.DONE
    assert [s for s in seen if s] == [2, 4, 5, 5]
    rows = read(export.messages_file)[1:]
    assert [r[8] for r in rows] == [t for n in range(5) for t in (f"question {n}", f"answer {n}")]
    assert [r[0] for r in read(export.summary_file)[1:]] == [str(c.pk) for c in convs]


def test_cells_a_spreadsheet_would_run_as_formulas_are_made_plain_text(workspace, manager, line):
    message(conversation(workspace, line, name="=cmd|' /C calc'!A0"), at(9), "=HYPERLINK(\"http://x\")")
    row = read(run(manager).messages_file)[1]
    assert row[3].startswith("'=") and row[8].startswith("'=")


def test_starting_an_export_needs_the_permission_and_a_sane_range(workspace, make_member):
    agent = make_member(workspace, Role.CS_AGENT)
    with pytest.raises(ServiceError) as refused:
        conversation_export_start(membership=agent, date_from=DAY, date_to=DAY)
    assert refused.value.code == "forbidden"
    manager = make_member(workspace, Role.CS_MANAGER)
    with pytest.raises(ServiceError) as refused:
        conversation_export_start(membership=manager, date_from=DAY, date_to=DAY - datetime.timedelta(days=1))
    assert refused.value.field == "date_to"
    with pytest.raises(ServiceError) as refused:
        conversation_export_start(membership=manager, date_from="1 March", date_to=DAY)
    assert refused.value.field == "date_from"
    assert not ConversationExport.objects.exists()


def test_an_export_runs_in_the_background_once_started(workspace, manager, line, django_capture_on_commit_callbacks):
    message(conversation(workspace, line), at(9), "hello")
    with django_capture_on_commit_callbacks(execute=True):
        export = conversation_export_start(membership=manager, date_from="2026-03-01", date_to="2026-03-01",
                                           language="zh-hans")
    export.refresh_from_db()
    assert (export.status, export.language, export.total_rows) == (JobStatus.DONE, "zh-hans", 1)
    assert len(read(export.messages_file)) == 2
    assert AuditEntry.objects.filter(action="conversations.export", target_id=str(export.pk)).exists()
    # Running it again does nothing.
    assert conversation_export_run(export_id=export.pk) == JobStatus.DONE


def test_a_member_who_lost_the_permission_before_it_ran_gets_a_failed_export(workspace, manager, admin, line):
    message(conversation(workspace, line), at(9), "hello")
    export = ConversationExport.objects.create(workspace=workspace, created_by=manager, date_from=DAY, date_to=DAY,
                                               language="en")
    member_change_role(workspace=workspace, actor=admin.user, membership=manager, role=Role.CS_AGENT)
    assert conversation_export_run(export_id=export.pk) == JobStatus.FAILED
    export.refresh_from_db()
    assert "can no longer export" in export.error and not export.messages_file


def test_members_see_their_own_exports_and_full_view_roles_see_everyones(workspace, manager, make_member):
    sean = make_member(workspace, Role.SALES_MANAGER)
    sally = make_member(workspace, Role.SALES_MANAGER)
    mine = ConversationExport.objects.create(workspace=workspace, created_by=sean, date_from=DAY, date_to=DAY,
                                             language="en")
    hers = ConversationExport.objects.create(workspace=workspace, created_by=sally, date_from=DAY, date_to=DAY,
                                             language="en")
    assert list(exports_for(sean)) == [mine]
    assert export_get(sean, hers.pk) is None
    assert set(exports_for(manager)) == {mine, hers}


@pytest.mark.parametrize(("content", "cell"), [
    ({"type": "text", "text": "你好"}, "你好"),
    ({"type": "template", "name": "weekly_offers", "parameters": ["陳小姐"]}, "[WhatsApp template] weekly_offers · 陳小姐"),
    ({"type": "location", "title": "銅鑼灣店", "address": "軒尼詩道 500 號", "latitude": 22.28, "longitude": 114.18},
     "[Location] 銅鑼灣店 · 軒尼詩道 500 號 · 22.28,114.18"),
    ({"type": "sticker", "package_id": "446", "sticker_id": "1988"}, "[Sticker]"),
    ({"type": "carousel", "alt_text": "本週新品", "columns": [{"title": "凍檸茶", "text": "HK$28"}]}, "[Carousel] 本週新品"),
    ({"type": "reaction", "emoji": "👍"}, "[reaction] 👍"),
])
def test_non_text_messages_are_summarised_in_the_text_column(content, cell):
    assert exports.message_summary(content) == cell
