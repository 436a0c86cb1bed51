"""Export and import files are deleted after FILE_RETENTION_DAYS (they hold customers' personal data); the jobs'
rows, counts and errors stay, and an upload abandoned at the mapping step goes once its link has lapsed."""

import datetime
import os
import time

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from tidings.contacts.exports import contact_export_start, export_open
from tidings.contacts.imports import contact_import_rerun, import_upload_store
from tidings.contacts.models import ContactExport, ContactImport, JobStatus
from tidings.contacts.retention import contact_files_expire
from tidings.contacts.services import contact_create
from tidings.core.errors import NotFound, ServiceError

from .import_support import csv_file, media, run_import  # noqa: F401  (media is a fixture)

pytestmark = pytest.mark.usefixtures("media")

DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def week(settings):
    settings.FILE_RETENTION_DAYS = 7


def exported(workspace, member, commits):
    contact_create(workspace=workspace, name="陳大文", phone="+85261234567")
    with commits(execute=True):
        job = contact_export_start(workspace=workspace, filters={}, format="csv", language="en", by=member)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and default_storage.exists(job.file.name)
    return job


def test_an_export_past_retention_loses_its_file_and_keeps_its_row(workspace, admin,
                                                                    django_capture_on_commit_callbacks):
    job = exported(workspace, admin, django_capture_on_commit_callbacks)
    name = job.file.name
    assert contact_files_expire(now=job.finished_at + 6 * DAY) == 0  # within the week: kept
    assert default_storage.exists(name)

    assert contact_files_expire(now=job.finished_at + 7 * DAY + datetime.timedelta(seconds=1)) == 1
    job.refresh_from_db()
    assert not default_storage.exists(name)
    assert job.file.name == "" and job.expired_at is not None
    assert (job.status, job.total_rows) == (JobStatus.DONE, 1)
    with pytest.raises(NotFound):
        export_open(workspace=workspace, export=job)
    assert contact_files_expire(now=job.finished_at + 30 * DAY) == 0  # nothing left to do twice


def test_a_dry_runs_file_stays_while_the_import_run_after_it_is_recent(workspace, admin,
                                                                      django_capture_on_commit_callbacks):
    rows = [["Name", "Phone"], ["陳大文", "+85261234567"]]
    dry = run_import(workspace, csv_file(rows), dry_run=True, by=admin, commits=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        real = contact_import_rerun(workspace=workspace, contact_import=dry, by=admin)
    real.refresh_from_db()
    ContactImport.objects.filter(pk=dry.pk).update(finished_at=timezone.now() - 10 * DAY)
    assert contact_files_expire() == 0  # the import run after it finished just now: the file is still in use
    assert default_storage.exists(dry.file.name)

    assert contact_files_expire(now=real.finished_at + 8 * DAY) == 1
    assert not default_storage.exists(dry.file.name)
    assert set(ContactImport.objects.values_list("expired_at", flat=True)) != {None}
    assert ContactImport.objects.filter(expired_at=None).count() == 0
    real.refresh_from_db()
    assert real.created_count == 1  # the result stays
    dry.refresh_from_db()
    with pytest.raises(ServiceError, match="no longer kept"):
        contact_import_rerun(workspace=workspace, contact_import=dry, by=admin)


def test_an_upload_abandoned_at_the_mapping_step_goes_after_its_link_lapsed(workspace, admin,
                                                                          django_capture_on_commit_callbacks):
    abandoned = import_upload_store(workspace=workspace, upload=csv_file([["Name"], ["A"]]))
    fresh = import_upload_store(workspace=workspace, upload=csv_file([["Name"], ["B"]]))
    started = run_import(workspace, csv_file([["Name", "Phone"], ["C", "+85261234567"]]), by=admin,
                         commits=django_capture_on_commit_callbacks)
    two_days_ago = time.time() - 2 * 86400
    for name in (abandoned.name, started.file.name):
        os.utime(default_storage.path(name), (two_days_ago, two_days_ago))

    assert contact_files_expire() == 1
    assert not default_storage.exists(abandoned.name)
    assert default_storage.exists(fresh.name)  # its mapping link still works
    assert default_storage.exists(started.file.name)  # an import names it: kept for the retention period


@pytest.mark.django_db
def test_a_sweep_before_anything_was_ever_uploaded_finds_nothing(media):
    assert not (media / "imports").exists() and ContactExport.objects.count() == 0
    assert contact_files_expire() == 0
