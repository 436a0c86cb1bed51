"""Export of every send record (one step = one send, N3) as CSV or XLSX, in the language active when it is made (the
member's). Rows stream from the database in chunks, so a large period does not sit in memory."""

import csv
import io
import zoneinfo
from collections.abc import Iterator

from django.utils.translation import gettext as _

from .cascade import error_text
from .models import Method, NotificationStatus, StepStatus


def headers() -> list[str]:
    return [_("Notification"), _("Notification setting"), _("Reference"), _("Customer"), _("Phone"), _("Method"),
            _("Sent time"), _("Delivery status"), _("Error")]


def delivery_status(step) -> str:
    """What became of one send, in words."""
    if step.status == StepStatus.DELIVERED:
        return _("Delivered (after the next method went out)") if step.late else _("Delivered")
    if step.status == StepStatus.FAILED:
        return _("Failed")
    if step.status == StepStatus.QUEUED:
        return _("Queued")
    if step.method == Method.LINE_PNP:
        if step.notification.stage == Method.LINE_PNP and step.notification.status == NotificationStatus.WAITING:
            return _("Sent, waiting for delivery")
        return _("Sent, not delivered")
    if step.method == Method.LINE_PUSH:
        return _("Sent (LINE reports no delivery for push messages)")
    return _("Sent")


def rows(steps, workspace) -> Iterator[list[str]]:
    try:
        zone = zoneinfo.ZoneInfo(workspace.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    for step in steps.iterator(chunk_size=2000):
        notification = step.notification
        contact = notification.contact
        when = step.sent_at or step.created_at
        yield [
            str(notification.pk), step.setting.name, notification.reference, (contact.name if contact else "") or "",
            notification.phone, str(Method(step.method).label), when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            delivery_status(step), error_text(step.error),
        ]


class _Echo:
    def write(self, value):
        return value


def csv_stream(steps, workspace) -> Iterator[str]:
    """CSV lines, with a byte-order mark so spreadsheet programs read the Chinese right."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(headers())
    for row in rows(steps, workspace):
        yield writer.writerow(row)


def xlsx_bytes(steps, workspace) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Send records")[:31])
    sheet.append(headers())
    for row in rows(steps, workspace):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
