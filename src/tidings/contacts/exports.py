"""Contact export (SPEC D4): the filtered contact list as CSV or XLSX, built in the background, headers in the
language of the member who asked for it.

`contact_export_start` records the export (filters as the contact list takes them) and enqueues
`tasks.contact_export_task`, which calls `contact_export_run`: it streams the contacts in chunks into a temporary
file and keeps it in storage; the console serves it to members who may export (media is never public).
"""

import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Workspace
from tidings.core.services import audit_record
from tidings.core.tasking import enqueue_on_commit

from .models import Channel, ChannelIdentity, ContactExport, ContactTag, CustomAttribute, JobStatus
from .selectors import contacts_filter
from .tabular import WRITERS

FORMATS = ("csv", "xlsx")
CHUNK = 2000  # contacts fetched (with their tags and channels) and written per round
PROGRESS_EVERY = 2000
FILTER_KEYS = ("q", "channel", "tag", "subscribed", "bound")

# Column headers (translated when the export runs, in the member's language). The first five are the import's own
# fields, so an exported file imports back with its columns already mapped.
COLUMN_LABELS = {
    "name": gettext_lazy("Name"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"),
    "member_id": gettext_lazy("Member id"),
    "tags": gettext_lazy("Tags"),
    "channels": gettext_lazy("Channels"),
    "bound": gettext_lazy("Bound"),
    "bound_at": gettext_lazy("Bound at"),
    "last_customer_interaction_at": gettext_lazy("Customer's last interaction"),
    "last_team_interaction_at": gettext_lazy("Team's last interaction"),
    "last_marketing_at": gettext_lazy("Team's last marketing message"),
    "created_at": gettext_lazy("Created"),
}
TIME_COLUMNS = ("bound_at", "last_customer_interaction_at", "last_team_interaction_at", "last_marketing_at",
                "created_at")


def export_filters_clean(filters: dict | None) -> dict:
    """Filters in the contact list's terms: q, channel, tag (strings), subscribed and bound (True / False / None)."""
    filters = filters or {}
    if not isinstance(filters, dict):
        raise ServiceError(_("Filters must be an object."), field="filters")
    clean = {}
    for key in ("q", "tag"):
        clean[key] = str(filters.get(key) or "").strip()[:200]
    channel = str(filters.get("channel") or "")
    if channel and channel not in Channel.values:
        raise ServiceError(_("Unknown channel."), field="filters.channel")
    clean["channel"] = channel
    for key in ("subscribed", "bound"):
        value = filters.get(key)
        if value not in (None, True, False):
            raise ServiceError(_("Use true, false or nothing."), field=f"filters.{key}")
        clean[key] = value
    return clean


def export_contacts(workspace: Workspace, filters: dict):
    """The contacts an export with these filters holds (the same query as the contact list)."""
    return contacts_filter(workspace, **export_filters_clean(filters))


@transaction.atomic
def contact_export_start(*, workspace: Workspace, filters: dict | None, format: str,  # noqa: A002
                         language: str = "", by=None) -> ContactExport:
    """Record an export of the filtered contact list and build it in the background."""
    from .tasks import contact_export_task

    if format not in FORMATS:
        raise ServiceError(_("Choose CSV or XLSX."), field="format")
    codes = [code for code, _name in settings.LANGUAGES]
    language = language if language in codes else (getattr(getattr(by, "user", None), "language", "")
                                                    or settings.LANGUAGE_CODE)
    export = ContactExport.objects.create(workspace=workspace, created_by=by, format=format,
                                          filters=export_filters_clean(filters), language=language)
    audit_record(workspace=workspace, actor=getattr(by, "user", None), action="contacts.export", target=export,
                 changes={"format": format,
                          "filters": {k: v for k, v in export.filters.items() if v not in ("", None)}})
    enqueue_on_commit(contact_export_task, export.pk)
    return export


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


class _Columns:
    """Headers and the values of one contact's row, in the export's format and the workspace's time zone."""

    def __init__(self, workspace: Workspace, format: str):  # noqa: A002
        self.xlsx = format == "xlsx"
        self.zone = timezone.get_current_timezone()
        self.attributes = list(CustomAttribute.objects.for_workspace(workspace).order_by("name", "pk"))
        self.channel_labels = dict(Channel.choices)

    def headers(self) -> list[str]:
        return [str(label) for label in COLUMN_LABELS.values()] + [a.name for a in self.attributes]

    def _time(self, value):
        if value is None:
            return ""
        local = timezone.localtime(value, self.zone).replace(microsecond=0)
        # XLSX keeps real date-times (sortable in Excel, which has no time zones); CSV has them as text.
        return local.replace(tzinfo=None) if self.xlsx else local.strftime("%Y-%m-%d %H:%M:%S")

    def _attribute(self, value):
        if value is None:
            return ""
        if isinstance(value, bool):
            return _yes_no(value)
        if isinstance(value, (int, float)) and not self.xlsx:
            return str(value)
        return value

    def row(self, contact) -> list:
        tags = "、".join(ct.tag.name for ct in contact.contact_tags.all())
        channels = ", ".join(str(self.channel_labels.get(c, c)) for c in
                             sorted({i.channel for i in contact.identities.all()}))
        cells = [contact.name, contact.phone, contact.email, contact.member_id, tags, channels,
                 _yes_no(contact.bound_at is not None)]
        cells += [self._time(getattr(contact, field)) for field in TIME_COLUMNS]
        values = contact.attributes or {}
        cells += [self._attribute(values.get(a.key)) for a in self.attributes]
        return cells


def _progress(export: ContactExport, **fields) -> None:
    for field, value in fields.items():
        setattr(export, field, value)
    ContactExport.objects.filter(pk=export.pk).update(**fields)


def export_file_name(export: ContactExport) -> str:
    """What the download is called: contacts-<workspace>-<date>.<format>."""
    stamp = timezone.localtime(export.created_at).strftime("%Y%m%d-%H%M")
    return f"contacts-{export.workspace.slug}-{stamp}.{export.format}"


def contact_export_run(*, export_id: int, beat=None) -> str:
    """Build an export's file (the background task's body); returns the export's final status. Running it again on
    a finished export does nothing; on an unfinished one it starts over."""
    export = ContactExport.objects.select_related("workspace").filter(pk=export_id).first()
    if export is None or export.status in (JobStatus.DONE, JobStatus.FAILED):
        return export.status if export else "missing"
    beat = beat or (lambda: None)
    workspace = export.workspace
    with translation.override(export.language or settings.LANGUAGE_CODE), \
            timezone.override(workspace.time_zone or "UTC"):
        try:
            contacts = export_contacts(workspace, export.filters)
            _progress(export, status=JobStatus.RUNNING, total_rows=contacts.count(), processed_rows=0, error="")
            columns = _Columns(workspace, export.format)
            contacts = contacts.prefetch_related(
                Prefetch("identities", queryset=ChannelIdentity.objects.only("contact_id", "channel")),
                Prefetch("contact_tags", queryset=ContactTag.objects.select_related("tag").order_by("tag__name")))
            with tempfile.TemporaryFile() as tmp:
                writer = WRITERS[export.format](tmp)
                writer.row(columns.headers())
                done = 0
                for contact in contacts.iterator(chunk_size=CHUNK):
                    writer.row(columns.row(contact))
                    done += 1
                    if done % PROGRESS_EVERY == 0:
                        _progress(export, processed_rows=done)
                        beat()
                writer.close()
                tmp.seek(0)
                export.file.save(export_file_name(export), File(tmp), save=False)
            _progress(export, file=export.file.name, processed_rows=done, total_rows=done, status=JobStatus.DONE,
                      finished_at=timezone.now())
        except ServiceError as exc:
            _progress(export, status=JobStatus.FAILED, error=str(exc.message), finished_at=timezone.now())
        except Exception:
            _progress(export, status=JobStatus.FAILED, finished_at=timezone.now(),
                      error=_("The export stopped on an unexpected error. Start it again."))
            raise
    return export.status


def exports_list(workspace: Workspace, limit: int = 10):
    """Recent exports, newest first (selector for the export page)."""
    return ContactExport.objects.for_workspace(workspace).select_related("created_by__user")[:limit]


def export_get(workspace: Workspace, export_id) -> ContactExport | None:
    return ContactExport.objects.for_workspace(workspace).filter(pk=export_id).select_related(
        "workspace", "created_by__user").first()


def export_open(*, workspace: Workspace, export: ContactExport):
    """The finished export's file, opened for reading (NotFound when it is not ready or was removed)."""
    if export.workspace_id != workspace.pk or export.status != JobStatus.DONE or not export.file:
        raise NotFound()
    try:
        return export.file.open("rb")
    except FileNotFoundError:
        raise NotFound() from None
