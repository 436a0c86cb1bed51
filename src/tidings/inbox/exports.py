"""Conversation export (SPEC I6, seed 004: 客服經理、銷售經理支援匯出對話 CSV): the conversations with messages in a
date range, as two CSV files built in the background — one row per message, and a summary with one row per
conversation — headers in the language of the member who asked, times in the workspace's time zone.

`conversation_export_start` records the export and enqueues `tasks.conversation_export_task`, which calls
`conversation_export_run`: conversations are read in chunks by id and their messages streamed, so a year of a busy
workspace never sits in memory. A member's export covers what they may see in the inbox at the time it runs (a sales
manager: their customers' conversations, `selectors.conversations_visible`).
"""

import datetime
import tempfile
import zoneinfo

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tidings.contacts.models import Channel, JobStatus
from tidings.contacts.tabular import CsvWriter
from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Membership, Workspace
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can
from tidings.core.services import audit_record
from tidings.core.tasking import enqueue_on_commit
from tidings.messaging.models import Direction, Message, MessageStatus, Purpose

from .models import Conversation, ConversationExport, KeywordRule
from .selectors import conversations_visible, visibility
from .services import member_label, preview_of

CHUNK = 500  # conversations read (with customer, account and follower) and written per round
MESSAGE_CHUNK = 2000  # messages fetched per database round trip while streaming a chunk's messages
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

MESSAGE_COLUMNS = (
    gettext_lazy("Conversation id"), gettext_lazy("Channel"), gettext_lazy("Account"), gettext_lazy("Customer"),
    gettext_lazy("Phone"), gettext_lazy("Direction"), gettext_lazy("Sender"), gettext_lazy("Message type"),
    gettext_lazy("Text"), gettext_lazy("Status"), gettext_lazy("Sent at"),
)
SUMMARY_COLUMNS = (
    gettext_lazy("Conversation id"), gettext_lazy("Channel"), gettext_lazy("Account"), gettext_lazy("Customer"),
    gettext_lazy("Phone"), gettext_lazy("State"), gettext_lazy("Follower"), gettext_lazy("Messages in range"),
    gettext_lazy("Customer messages"), gettext_lazy("Agent messages"), gettext_lazy("First message at"),
    gettext_lazy("Last message at"), gettext_lazy("First response time"),
)
KIND_LABELS = {
    "text": gettext_lazy("Text"), "image": gettext_lazy("Image"), "video": gettext_lazy("Video"),
    "audio": gettext_lazy("Audio"), "file": gettext_lazy("File"), "sticker": gettext_lazy("Sticker"),
    "location": gettext_lazy("Location"), "template": gettext_lazy("WhatsApp template"),
    "buttons": gettext_lazy("Buttons"), "carousel": gettext_lazy("Carousel"),
    "image_carousel": gettext_lazy("Image carousel"), "imagemap": gettext_lazy("Imagemap"),
    "coupon": gettext_lazy("Coupon card"), "list": gettext_lazy("List"), "postback": gettext_lazy("Button tap"),
}
# Fields that say what a non-text message was, in the order they are worth reading.
_DETAIL_FIELDS = ("title", "text", "name", "address", "alt_text", "label", "display_text", "emoji", "file_name",
                  "url", "base_url", "data", "payload")


def _as_date(value, field: str) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ServiceError(_("Enter a date as YYYY-MM-DD."), field=field) from None


def _zone(workspace: Workspace) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(workspace.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def export_bounds(workspace: Workspace, date_from: datetime.date, date_to: datetime.date
                  ) -> tuple[datetime.datetime, datetime.datetime]:
    """[start, end) of the range: midnight of the first day to midnight after the last, in the workspace's zone."""
    zone = _zone(workspace)
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return start, end


def exported_conversations(membership: Membership, start, end) -> QuerySet[Conversation]:
    """The conversations this member may see that have a message in [start, end)."""
    in_range = Message.objects.filter(identity_id=OuterRef("identity_id"), created_at__gte=start, created_at__lt=end)
    return conversations_visible(membership).filter(Exists(in_range))


@transaction.atomic
def conversation_export_start(*, membership: Membership, date_from, date_to, language: str = ""
                              ) -> ConversationExport:
    """Record an export of the conversations with messages between the two dates (inclusive, workspace time) and
    build it in the background."""
    from .tasks import conversation_export_task

    if not member_can(membership, Permission.CONVERSATIONS_EXPORT):
        raise ServiceError(_("Only Admins, Supervisors, CS Managers and Sales Managers can export conversations."),
                           code="forbidden")
    date_from, date_to = _as_date(date_from, "date_from"), _as_date(date_to, "date_to")
    if date_to < date_from:
        raise ServiceError(_("The last day comes before the first day."), field="date_to")
    codes = [code for code, _name in settings.LANGUAGES]
    language = language if language in codes else (membership.user.language or settings.LANGUAGE_CODE)
    export = ConversationExport.objects.create(workspace=membership.workspace, created_by=membership,
                                               date_from=date_from, date_to=date_to, language=language)
    audit_record(workspace=membership.workspace, actor=membership.user, action="conversations.export",
                 target=export, changes={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()})
    enqueue_on_commit(conversation_export_task, export.pk)
    return export


def _progress(export: ConversationExport, **fields) -> None:
    for field, value in fields.items():
        setattr(export, field, value)
    ConversationExport.objects.filter(pk=export.pk).update(**fields)


def message_summary(content: dict) -> str:
    """A message as one cell: its text, else the kind of thing it was and what it said or pointed at."""
    content = content or {}
    kind = str(content.get("type") or "")
    if kind == "text":
        return str(content.get("text") or "")
    details = [str(content[key]) for key in _DETAIL_FIELDS if content.get(key) not in (None, "")]
    if kind == "template":
        details = [str(content.get("name") or "")] + [str(p) for p in content.get("parameters") or []]
    elif kind == "location" and content.get("latitude") is not None:
        details.append(f"{content.get('latitude')},{content.get('longitude')}")
    elif kind in ("carousel", "image_carousel") and not details:
        details = [str(c.get("title") or c.get("text") or "") for c in content.get("columns") or []]
    details = [" ".join(d.split()) for d in details if d and d.strip()]
    label = KIND_LABELS.get(kind)
    head = f"[{label or kind or _('Message')}]"
    return " ".join([head, " · ".join(details)]).strip() if details else (head if label else preview_of(content))


class _Rows:
    """The cells of both files, in the export's language and the workspace's time zone."""

    def __init__(self, workspace: Workspace):
        self.zone = _zone(workspace)
        self.channels = dict(Channel.choices)
        self.directions = dict(Direction.choices)
        self.statuses = dict(MessageStatus.choices)
        self.purposes = dict(Purpose.choices)
        # Few enough to hold: who sent what, by id, including members who have left since.
        self.members = {m.pk: member_label(m) for m in
                        Membership.objects.filter(workspace=workspace).select_related("user")}
        self.rules = dict(KeywordRule.objects.for_workspace(workspace).values_list("pk", "name"))

    def time(self, value) -> str:
        return timezone.localtime(value, self.zone).strftime(TIME_FORMAT) if value else ""

    @staticmethod
    def duration(delta: datetime.timedelta | None) -> str:
        if delta is None:
            return ""
        seconds = max(int(delta.total_seconds()), 0)
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"

    def sender(self, message: Message) -> str:
        if message.direction == Direction.INBOUND:
            return _("Customer")
        kind, _sep, ref = (message.source or "").partition(":")
        ref = int(ref) if ref.isdigit() else None
        if kind == "member":
            return self.members.get(ref) or _("A former member")
        if kind.startswith("keyword"):
            name = self.rules.get(ref)
            return _("Keyword rule: %(name)s") % {"name": name} if name else _("Keyword rule")
        if kind.startswith("api"):
            return _("API")
        if kind == "broadcast" or message.purpose == Purpose.BROADCAST:
            return _("Broadcast")
        if message.purpose == Purpose.CHAT:
            return _("Team")
        return str(self.purposes.get(message.purpose, message.purpose))

    def customer(self, conversation: Conversation) -> list:
        return [conversation.pk, self.channels.get(conversation.channel, conversation.channel),
                conversation.account.name,
                conversation.contact.name or conversation.identity.display_name, conversation.contact.phone]

    def message(self, head: list, message: Message) -> list:
        kind = str((message.content or {}).get("type") or "")
        return head + [str(self.directions.get(message.direction, message.direction)), self.sender(message),
                       str(KIND_LABELS.get(kind, kind)), message_summary(message.content),
                       str(self.statuses.get(message.status, message.status)), self.time(message.created_at)]


class _Tally:
    """One conversation's counts over the range, while its messages stream past (oldest first)."""

    def __init__(self):
        self.total = self.customer = self.agent = 0
        self.first = self.last = self.first_customer = self.first_response = None

    def add(self, message: Message) -> None:
        self.total += 1
        self.first = self.first or message.created_at
        self.last = message.created_at
        if message.direction == Direction.INBOUND:
            self.customer += 1
            self.first_customer = self.first_customer or message.created_at
        elif (message.source or "").startswith("member:"):
            self.agent += 1
            # First response: a member's first message after the customer's first message in the range.
            if self.first_customer is not None and self.first_response is None:
                self.first_response = message.created_at - self.first_customer


def _summary(rows: _Rows, head: list, conversation: Conversation, tally: _Tally) -> list:
    return head + [str(conversation.get_state_display()), member_label(conversation.assignee), tally.total,
                   tally.customer, tally.agent, rows.time(tally.first), rows.time(tally.last),
                   rows.duration(tally.first_response)]


def _write_chunk(chunk: list[Conversation], start, end, rows: _Rows, messages_out: CsvWriter,
                 summary_out: CsvWriter) -> None:
    heads = {c.pk: rows.customer(c) for c in chunk}
    tallies = {c.pk: _Tally() for c in chunk}
    messages = (Message.objects.filter(identity_id__in=[c.identity_id for c in chunk], created_at__gte=start,
                                       created_at__lt=end)
                .only("identity_id", "direction", "source", "purpose", "content", "status", "created_at")
                .order_by("identity__conversation__id", "created_at", "id"))
    by_identity = {c.identity_id: c.pk for c in chunk}
    for message in messages.iterator(chunk_size=MESSAGE_CHUNK):
        conversation_id = by_identity[message.identity_id]
        messages_out.row(rows.message(heads[conversation_id], message))
        tallies[conversation_id].add(message)
    for conversation in chunk:
        summary_out.row(_summary(rows, heads[conversation.pk], conversation, tallies[conversation.pk]))


def export_file_name(export: ConversationExport, part: str) -> str:
    """conversations-<messages|summary>-<workspace>-<from>-<to>.csv"""
    return (f"conversations-{part}-{export.workspace.slug}-{export.date_from:%Y%m%d}-{export.date_to:%Y%m%d}"
            ".csv")


def conversation_export_run(*, export_id: int, beat=None) -> str:
    """Build an export's two files (the background task's body); returns the export's final status. Running it again
    on a finished export does nothing; on an unfinished one it starts over."""
    export = (ConversationExport.objects.select_related("workspace", "created_by__user", "created_by__workspace")
              .filter(pk=export_id).first())
    if export is None or export.status in (JobStatus.DONE, JobStatus.FAILED):
        return export.status if export else "missing"
    beat = beat or (lambda: None)
    workspace, membership = export.workspace, export.created_by
    with translation.override(export.language or settings.LANGUAGE_CODE):
        try:
            if membership is None or not member_can(membership, Permission.CONVERSATIONS_EXPORT):
                raise ServiceError(_("The member who asked for this export can no longer export conversations."))
            start, end = export_bounds(workspace, export.date_from, export.date_to)
            conversations = exported_conversations(membership, start, end)
            _progress(export, status=JobStatus.RUNNING, total_rows=conversations.count(), processed_rows=0,
                      error="")
            rows = _Rows(workspace)
            conversations = conversations.select_related("contact", "identity", "account", "assignee__user")
            with tempfile.TemporaryFile() as messages_tmp, tempfile.TemporaryFile() as summary_tmp:
                messages_out, summary_out = CsvWriter(messages_tmp), CsvWriter(summary_tmp)
                messages_out.row([str(label) for label in MESSAGE_COLUMNS])
                summary_out.row([str(label) for label in SUMMARY_COLUMNS])
                done, last_id = 0, 0
                while True:
                    chunk = list(conversations.filter(pk__gt=last_id).order_by("pk")[:CHUNK])
                    if not chunk:
                        break
                    _write_chunk(chunk, start, end, rows, messages_out, summary_out)
                    done, last_id = done + len(chunk), chunk[-1].pk
                    _progress(export, processed_rows=done)
                    beat()
                messages_out.close()
                summary_out.close()
                for tmp, field, part in ((messages_tmp, export.messages_file, "messages"),
                                         (summary_tmp, export.summary_file, "summary")):
                    tmp.seek(0)
                    field.save(export_file_name(export, part), File(tmp), save=False)
            _progress(export, messages_file=export.messages_file.name, summary_file=export.summary_file.name,
                      processed_rows=done, total_rows=done, status=JobStatus.DONE, finished_at=timezone.now())
        except ServiceError as exc:
            _progress(export, status=JobStatus.FAILED, error=str(exc.message), finished_at=timezone.now())
        except Exception:
            _progress(export, status=JobStatus.FAILED, finished_at=timezone.now(),
                      error=_("The export stopped on an unexpected error. Start it again."))
            raise
    return export.status


# --- selectors -----------------------------------------------------------------------------------------------


def exports_for(membership: Membership) -> QuerySet[ConversationExport]:
    """The exports this member may see and download: their own; members who see every conversation of the
    workspace (Admin, Supervisor, CS Manager) see everyone's, since no file holds more than they may read."""
    exports = ConversationExport.objects.for_workspace(membership.workspace).select_related("created_by__user",
                                                                                           "workspace")
    if visibility(membership):  # an empty Q() means the whole workspace
        exports = exports.filter(created_by=membership)
    return exports


def export_default_range(workspace: Workspace, days: int = 7) -> tuple[datetime.date, datetime.date]:
    """The form's first suggestion: the last `days` days up to today, in the workspace's zone."""
    today = clock.now(workspace).astimezone(_zone(workspace)).date()
    return today - datetime.timedelta(days=days - 1), today


def export_get(membership: Membership, export_id) -> ConversationExport | None:
    try:
        return exports_for(membership).filter(pk=int(export_id)).first()
    except (TypeError, ValueError):
        return None


def export_open(*, export: ConversationExport, part: str):
    """One of the finished export's files ("messages" or "summary"), opened for reading (NotFound when it is not
    ready or was removed)."""
    file = {"messages": export.messages_file, "summary": export.summary_file}.get(part)
    if export.status != JobStatus.DONE or not file:
        raise NotFound()
    try:
        return file.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
