"""Contact export (D4): the filtered list as CSV or XLSX, headers in the member's language, values as the list
shows them, and files that import back."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.utils import timezone, translation

from tidings.contacts.exports import contact_export_run, contact_export_start
from tidings.contacts.models import Contact, ContactExport, JobStatus
from tidings.contacts.services import (
    contact_create,
    contact_set_bound,
    contacts_merge,
    custom_attribute_create,
    identity_upsert,
)
from tidings.core.errors import ServiceError

from .import_support import media, run_import  # noqa: F401  (media is a fixture)

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def people(workspace, line_account):
    custom_attribute_create(workspace=workspace, key="points", name="Points", type="number")
    custom_attribute_create(workspace=workspace, key="vip", name="VIP", type="boolean")
    ann = contact_create(workspace=workspace, name="陳大文", phone="+85261234567", email="ann@example.com",
                         member_id="M1", attributes={"points": 1200, "vip": True}, tags=["vip", "newsletter"])
    identity_upsert(workspace=workspace, account=line_account, external_id="U" + "a" * 32, contact=ann)
    contact_set_bound(contact=ann, at=datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC))
    ben = contact_create(workspace=workspace, name="=HYPERLINK(\"http://evil\")", email="ben@example.com")
    return {"ann": ann, "ben": ben}


def export(workspace, member, commits, *, format="csv", filters=None, language="en"):
    with commits(execute=True):
        job = contact_export_start(workspace=workspace, filters=filters or {}, format=format, language=language,
                                   by=member)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    return job


def csv_rows(job):
    raw = job.file.open("rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def xlsx_rows(job):
    sheet = openpyxl.load_workbook(job.file.open("rb"), read_only=True).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_a_csv_export_has_every_column_and_the_contacts_values(workspace, admin, people,
                                                                django_capture_on_commit_callbacks):
    job = export(workspace, admin, django_capture_on_commit_callbacks)
    header, *rows = csv_rows(job)
    assert header == ["Name", "Phone", "Email", "Member id", "Tags", "Channels", "Bound", "Bound at",
                      "Customer's last interaction", "Team's last interaction", "Team's last marketing message",
                      "Created", "Points", "VIP"]
    ann = next(r for r in rows if r[3] == "M1")
    assert ann[:8] == ["陳大文", "+85261234567", "ann@example.com", "M1", "newsletter、vip", "LINE", "Yes",
                       "2025-01-02 11:04:05"]  # in the workspace's zone (Asia/Taipei)
    assert ann[12:] == ["1200", "Yes"]
    ben = next(r for r in rows if r[2] == "ben@example.com")
    assert ben[0].startswith("'=")  # a formula in a name is shown as text, never run
    assert ben[6] == "No" and ben[12:] == ["", ""]
    assert (job.total_rows, job.processed_rows, len(rows)) == (2, 2, 2)


def test_an_xlsx_export_keeps_numbers_and_times_as_excel_types(workspace, admin, people,
                                                               django_capture_on_commit_callbacks):
    job = export(workspace, admin, django_capture_on_commit_callbacks, format="xlsx")
    header, *rows = xlsx_rows(job)
    ann = next(r for r in rows if r[3] == "M1")
    assert ann[7] == datetime.datetime(2025, 1, 2, 11, 4, 5)
    assert ann[12] == 1200
    ben = next(r for r in rows if r[2] == "ben@example.com")
    assert ben[0] == "=HYPERLINK(\"http://evil\")"  # stored as text, not a formula
    assert job.file.name.endswith(".xlsx")


@pytest.mark.parametrize("language, name, phone", [("zh-hant", "姓名", "電話"), ("en", "Name", "Phone")])
def test_headers_are_in_the_language_the_member_asked_in(workspace, admin, people, language, name, phone,
                                                         django_capture_on_commit_callbacks):
    job = export(workspace, admin, django_capture_on_commit_callbacks, language=language)
    header = csv_rows(job)[0]
    assert header[:2] == [name, phone]
    assert header[-2:] == ["Points", "VIP"]  # custom attributes by their own names
    with translation.override(language):
        assert header[4] == translation.gettext("Tags")


def test_the_export_holds_only_the_filtered_contacts_and_never_merged_ones(workspace, admin, people,
                                                                           django_capture_on_commit_callbacks):
    dup = contact_create(workspace=workspace, name="Dup", tags=["vip"])
    contacts_merge(workspace=workspace, kept=people["ann"], merged=dup, reason="manual")
    by_tag = export(workspace, admin, django_capture_on_commit_callbacks, filters={"tag": "vip"})
    assert [r[0] for r in csv_rows(by_tag)[1:]] == ["陳大文"]
    unbound = export(workspace, admin, django_capture_on_commit_callbacks, filters={"bound": False})
    assert [r[2] for r in csv_rows(unbound)[1:]] == ["ben@example.com"]
    on_line = export(workspace, admin, django_capture_on_commit_callbacks, filters={"channel": "line", "q": "陳"})
    assert len(csv_rows(on_line)) == 2
    assert by_tag.filters == {"q": "", "tag": "vip", "channel": "", "subscribed": None, "bound": None}


def test_an_export_imports_back_onto_the_same_contacts(workspace, admin, people, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    for language, fmt in (("zh-hant", "xlsx"), ("en", "csv")):
        job = export(workspace, admin, django_capture_on_commit_callbacks, format=fmt, language=language)
        file = SimpleUploadedFile(f"back.{fmt}", job.file.open("rb").read())
        back = run_import(workspace, file, by=admin, commits=django_capture_on_commit_callbacks)
        assert (back.status, back.created_count, back.updated_count, back.error_count) == ("done", 0, 2, 0), \
            back.errors
        assert back.mapping["Points"] == "attr:points" and back.mapping.get("姓名", "name") == "name"
    ann = Contact.objects.get(pk=people["ann"].pk)
    assert (ann.name, ann.attributes) == ("陳大文", {"points": 1200, "vip": True})


def test_bad_requests_are_refused(workspace, admin):
    with pytest.raises(ServiceError) as caught:
        contact_export_start(workspace=workspace, filters={}, format="pdf", by=admin)
    assert caught.value.field == "format"
    with pytest.raises(ServiceError) as caught:
        contact_export_start(workspace=workspace, filters={"channel": "fax"}, format="csv", by=admin)
    assert caught.value.field == "filters.channel"


def test_running_a_finished_export_again_changes_nothing(workspace, admin, people,
                                                         django_capture_on_commit_callbacks):
    job = export(workspace, admin, django_capture_on_commit_callbacks)
    name = job.file.name
    assert contact_export_run(export_id=job.pk) == JobStatus.DONE
    assert ContactExport.objects.get(pk=job.pk).file.name == name


def test_an_empty_list_exports_just_the_header(workspace, admin, django_capture_on_commit_callbacks):
    job = export(workspace, admin, django_capture_on_commit_callbacks, filters={"q": "nobody"})
    assert len(csv_rows(job)) == 1 and job.total_rows == 0
    assert job.finished_at is not None and job.finished_at <= timezone.now()
