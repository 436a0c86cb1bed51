"""Contact exports and imported files are deleted FILE_RETENTION_DAYS after their job finished.

They are customers' names, phones, e-mails and attributes in a file anyone with the link's permission can take away;
keeping them forever on the server only adds to what a leak would expose. The job rows stay (who, when, how many,
each row's errors) with `expired_at` set, and the console says the file is gone and how to get a new one.
Uploads abandoned at the mapping step, which no import row names, go once their mapping link has lapsed.
"""

import datetime

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from tidings.core.housekeeping import housekeeping_job

from .imports import UPLOAD_MAX_AGE
from .models import ContactExport, ContactImport

STAGED_UPLOADS = "imports"


def _delete(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def contact_files_expire(*, now: datetime.datetime | None = None) -> int:
    """Delete export and import files past retention, and abandoned uploads; returns how many files went."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.FILE_RETENTION_DAYS)
    deleted = 0
    for export in ContactExport.objects.filter(finished_at__lt=cutoff, expired_at=None).exclude(file=""):
        _delete(export.file.name)
        ContactExport.objects.filter(pk=export.pk).update(file="", expired_at=now)
        deleted += 1
    # A dry run and the import run after it share one file: it goes when the last job using it is past retention.
    names = set(ContactImport.objects.filter(finished_at__lt=cutoff, expired_at=None).values_list("file", flat=True))
    in_use = set(ContactImport.objects.filter(file__in=names).filter(Q(finished_at=None) | Q(finished_at__gte=cutoff))
                 .values_list("file", flat=True))
    for name in names - in_use:
        _delete(name)
        ContactImport.objects.filter(file=name, expired_at=None).update(expired_at=now)
        deleted += 1
    return deleted + _abandoned_uploads_delete(now)


def _abandoned_uploads_delete(now: datetime.datetime) -> int:
    """Files under imports/ that no import row names, older than the mapping step's link."""
    cutoff = now - datetime.timedelta(seconds=UPLOAD_MAX_AGE) - datetime.timedelta(hours=1)
    named = set(ContactImport.objects.values_list("file", flat=True))
    deleted = 0
    for name in _files_under(STAGED_UPLOADS):
        if name not in named and default_storage.get_modified_time(name) < cutoff:
            default_storage.delete(name)
            deleted += 1
    return deleted


def _files_under(folder: str):
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for file in files:
        yield f"{folder}/{file}"
    for sub in folders:
        yield from _files_under(f"{folder}/{sub}")


@housekeeping_job("contacts.files_expire", every=datetime.timedelta(hours=1))
def _contact_files_expire_job() -> int:
    return contact_files_expire()
