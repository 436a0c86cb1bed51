"""Conversation exports are deleted FILE_RETENTION_DAYS after they finished, as contact exports are
(contacts/retention.py says why): every message of every conversation is the most personal file Tidings makes. The
export's row and counts stay with `expired_at` set; the console offers to export the same days again."""

import datetime

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from tidings.core.housekeeping import housekeeping_job

from .models import ConversationExport


def conversation_export_files_expire(*, now: datetime.datetime | None = None) -> int:
    """Delete both files of each export past retention; returns how many exports lost their files."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.FILE_RETENTION_DAYS)
    expired = 0
    for export in ConversationExport.objects.filter(finished_at__lt=cutoff, expired_at=None):
        for name in (export.messages_file.name, export.summary_file.name):
            if name and default_storage.exists(name):
                default_storage.delete(name)
        ConversationExport.objects.filter(pk=export.pk).update(messages_file="", summary_file="", expired_at=now)
        expired += 1
    return expired


@housekeeping_job("inbox.conversation_exports_expire", every=datetime.timedelta(hours=1))
def _conversation_export_files_expire_job() -> int:
    return conversation_export_files_expire()
