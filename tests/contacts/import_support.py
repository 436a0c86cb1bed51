"""Helpers for the import/export tests: spreadsheets made in memory, and running an import to its end."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded and exported files go to a throwaway folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def csv_file(rows, *, name="contacts.csv", encoding="utf-8-sig", delimiter=",") -> SimpleUploadedFile:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode(encoding), content_type="text/csv")


def xlsx_bytes(rows) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_file(rows, *, name="contacts.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, xlsx_bytes(rows),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def run_import(workspace, file, *, mapping=None, dry_run=False, by=None, commits=None):
    """Upload, map (the suggestion unless `mapping` is given), start and run to the end; returns the job."""
    from tidings.contacts.imports import contact_import_start, import_upload_store, mapping_suggest

    upload = import_upload_store(workspace=workspace, upload=file)
    if mapping is None:
        mapping = mapping_suggest(workspace, upload.headers)
    with commits(execute=True):
        job = contact_import_start(workspace=workspace, upload=upload, mapping=mapping, dry_run=dry_run, by=by)
    job.refresh_from_db()
    return job
