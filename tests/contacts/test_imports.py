"""Contact import (D4): files, mapping, preview, dry run, upsert by member id / phone / email, row errors that
change nothing, whole-file problems, resuming after a crash."""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError

from tidings.contacts import imports
from tidings.contacts.imports import (
    contact_import_rerun,
    contact_import_run,
    import_preview,
    import_upload_load,
    import_upload_store,
    import_upload_token,
    mapping_clean,
    mapping_suggest,
)
from tidings.contacts.models import Contact, ContactImport, JobStatus
from tidings.contacts.selectors import contact_tag_names
from tidings.contacts.services import contact_create, custom_attribute_create
from tidings.core.errors import ServiceError

from .import_support import csv_file, media, run_import, xlsx_file  # noqa: F401  (media is a fixture)

pytestmark = pytest.mark.usefixtures("media")


@pytest.fixture
def attributes(workspace):
    return {
        "level": custom_attribute_create(workspace=workspace, key="level", name="會員等級", type="choice",
                                         choices=["gold", "silver"]),
        "points": custom_attribute_create(workspace=workspace, key="points", name="Points", type="number"),
        "birthday": custom_attribute_create(workspace=workspace, key="birthday", name="生日", type="date"),
        "vip": custom_attribute_create(workspace=workspace, key="vip", name="VIP", type="boolean"),
    }


def live(workspace):
    return Contact.objects.for_workspace(workspace).filter(merged_into__isnull=True)


# --- files and mapping ---------------------------------------------------------------------------------------


def test_a_csv_with_chinese_headers_imports_with_the_suggested_mapping(workspace, admin, attributes,
                                                                       django_capture_on_commit_callbacks):
    file = csv_file([
        ["姓名", "手機", "電子郵件", "會員編號", "標籤", "會員等級", "points", "生日"],
        ["陳大文", "6123 4567", "TaiMan@Example.COM", "M001", "VIP、newsletter", "gold", "1,200", "1990/02/03"],
        ["李小美", "+852 9123 4567", "", "M002", "newsletter", "", "", ""],
    ])
    job = run_import(workspace, file, by=admin, commits=django_capture_on_commit_callbacks)

    assert (job.status, job.created_count, job.updated_count, job.error_count) == (JobStatus.DONE, 2, 0, 0)
    assert job.processed_rows == job.total_rows == 2
    chan = live(workspace).get(member_id="M001")
    assert (chan.name, chan.phone, chan.email) == ("陳大文", "+85261234567", "TaiMan@example.com")
    assert chan.attributes == {"level": "gold", "points": 1200, "birthday": "1990-02-03"}
    assert sorted(contact_tag_names(chan)) == ["VIP", "newsletter"]
    lee = live(workspace).get(member_id="M002")
    assert (lee.phone, lee.attributes, contact_tag_names(lee)) == ("+85291234567", {}, ["newsletter"])


def test_an_xlsx_imports_with_a_chosen_mapping_numbers_dates_and_booleans_as_excel_keeps_them(
        workspace, admin, attributes, django_capture_on_commit_callbacks):
    import datetime

    file = xlsx_file([
        ["Customer", "Cell", "Club no.", "Labels", "Born", "Tier", "Is VIP", "Notes"],
        ["Alice", 85261234567, 1001, "a, b", datetime.datetime(1988, 5, 6), "silver", True, "ignored"],
        ["Bob", "+85291234567", 1002, None, None, None, False, "ignored"],
    ])
    mapping = {"Customer": "name", "Cell": "phone", "Club no.": "member_id", "Labels": "tags",
               "Born": "attr:birthday", "Tier": "attr:level", "Is VIP": "attr:vip", "Notes": ""}
    job = run_import(workspace, file, mapping=mapping, by=admin, commits=django_capture_on_commit_callbacks)

    assert (job.status, job.created_count, job.error_count) == (JobStatus.DONE, 2, 0), job.errors
    alice = live(workspace).get(member_id="1001")  # a number cell, not "1001.0"
    assert alice.phone == "+85261234567"  # Excel dropped the "+": tried as international
    assert alice.attributes == {"birthday": "1988-05-06", "level": "silver", "vip": True}
    assert sorted(contact_tag_names(alice)) == ["a", "b"]
    assert live(workspace).get(member_id="1002").attributes == {"vip": False}
    assert "ignored" not in str(list(live(workspace).values()))


def test_big5_and_semicolon_csv_from_older_excel_is_read(workspace, admin, django_capture_on_commit_callbacks):
    rows = [["姓名", "電話"], ["張美麗", "61234567"]]
    file = csv_file(rows, encoding="cp950", delimiter=";")
    job = run_import(workspace, file, by=admin, commits=django_capture_on_commit_callbacks)
    assert job.status == JobStatus.DONE and job.created_count == 1
    assert live(workspace).get().name == "張美麗"


def test_utf16_text_from_excel_is_read(workspace, admin, django_capture_on_commit_callbacks):
    text = "Name\tEmail\r\nZoë\tzoe@example.com\r\n"
    file = SimpleUploadedFile("contacts.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    job = run_import(workspace, file, by=admin, commits=django_capture_on_commit_callbacks)
    assert job.created_count == 1 and live(workspace).get().name == "Zoë"


def test_headers_are_suggested_in_english_and_chinese_and_by_attribute_key_or_name(workspace, attributes):
    headers = ["Full name", "Mobile", "E-mail", "Member ID", "Tags", "tag", "會員等級", "POINTS", "電話", "whatever"]
    assert mapping_suggest(workspace, headers) == {
        "Full name": "name", "Mobile": "phone", "E-mail": "email", "Member ID": "member_id", "Tags": "tags",
        "tag": "tags", "會員等級": "attr:level", "POINTS": "attr:points",
        "電話": "",  # phone is already taken by "Mobile"
        "whatever": "",
    }
    assert mapping_suggest(workspace, ["电话", "邮箱", "会员编号", "标签", "姓名"]) == {
        "电话": "phone", "邮箱": "email", "会员编号": "member_id", "标签": "tags", "姓名": "name"}


@pytest.mark.parametrize("mapping, message", [
    ({"a": "name", "b": ""}, "Map a column to member id, phone or email"),
    ({"a": "phone", "b": "phone"}, "are both mapped to Phone"),
    ({"a": "phone", "b": "attr:nope"}, "no such field or custom attribute"),
    ({"a": "phone", "b": "password"}, "no such field or custom attribute"),
])
def test_a_mapping_that_cannot_work_is_refused(workspace, mapping, message):
    with pytest.raises(ServiceError, match=message) as caught:
        mapping_clean(workspace=workspace, headers=["a", "b"], mapping=mapping)
    assert caught.value.field == "mapping"


def test_several_columns_may_feed_tags(workspace, admin, django_capture_on_commit_callbacks):
    file = csv_file([["phone", "tag 1", "tag 2"], ["61234567", "a", "b、c"]])
    job = run_import(workspace, file, mapping={"phone": "phone", "tag 1": "tags", "tag 2": "tags"}, by=admin,
                     commits=django_capture_on_commit_callbacks)
    assert job.status == JobStatus.DONE
    assert sorted(contact_tag_names(live(workspace).get())) == ["a", "b", "c"]


@pytest.mark.parametrize("content, name, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "neither CSV nor XLSX"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "old Excel .xls"),
    (b"PK\x03\x04garbage", "broken.xlsx", "not a readable XLSX"),
    (b"", "empty.csv", "The file is empty"),
    (b"\n\n", "blank.csv", "The file is empty"),
    ("name,phone\n".encode(), "header-only.csv", "no contacts under it"),
    ("陳大文,+852 6123 4567\n李小美,+852 9123 4567\n".encode(), "no-header.csv", "must name the columns"),
])
def test_whole_file_problems_are_refused_at_upload_with_what_to_do(workspace, content, name, message):
    with pytest.raises(ServiceError, match=message) as caught:
        import_upload_store(workspace=workspace, upload=SimpleUploadedFile(name, content))
    assert caught.value.field == "file"


def test_too_many_rows_fails_the_job_before_anything_is_written(workspace, admin, monkeypatch,
                                                                django_capture_on_commit_callbacks):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    rows = [["phone"]] + [[f"6123 45{n:02d}"] for n in range(4)]
    for file in (csv_file(rows), xlsx_file(rows)):
        job = run_import(workspace, file, by=admin, commits=django_capture_on_commit_callbacks)
        assert job.status == JobStatus.FAILED
        assert "more than 3 rows" in job.error
    assert not live(workspace).exists()


def test_an_unsized_workbook_is_counted_without_reading_its_cells(workspace, admin, monkeypatch,
                                                                  django_capture_on_commit_callbacks):
    """openpyxl's write-only files (and our own exports) carry no <dimension>: the rows are counted from the XML,
    so the row limit still holds before anything is written."""
    import io

    import openpyxl

    from tidings.contacts.tabular import table_open

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["phone"])
    for n in range(1234):
        sheet.append([f"6123{n:04d}"])
    out = io.BytesIO()
    book.save(out)
    assert table_open(io.BytesIO(out.getvalue())).estimated_rows() == 1234
    monkeypatch.setattr(imports, "MAX_ROWS", 1000)
    job = run_import(workspace, SimpleUploadedFile("big.xlsx", out.getvalue()), by=admin,
                     commits=django_capture_on_commit_callbacks)
    assert job.status == JobStatus.FAILED and "more than 1,000 rows" in job.error
    assert not live(workspace).exists()


def test_a_job_whose_file_is_gone_fails_with_what_to_do(workspace, admin):
    job = ContactImport.objects.create(workspace=workspace, created_by=admin, file="imports/gone.csv",
                                       file_name="gone.csv", mapping={"phone": "phone"})
    assert contact_import_run(import_id=job.pk) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.error == "The uploaded file is no longer kept. Upload it again."


def test_an_upload_token_is_good_in_its_own_workspace_only(workspace, other_workspace):
    upload = import_upload_store(workspace=workspace, upload=csv_file([["phone"], ["61234567"]]))
    token = import_upload_token(workspace, upload)
    assert import_upload_load(workspace=workspace, token=token).headers == ["phone"]
    for ws, tok in ((other_workspace, token), (workspace, token + "x")):
        with pytest.raises(ServiceError, match="expired"):
            import_upload_load(workspace=ws, token=tok)


def test_the_preview_shows_the_first_rows_as_they_would_be_saved_and_their_errors(workspace, attributes):
    upload = import_upload_store(workspace=workspace, upload=csv_file([
        ["Name", "Phone", "Tier", "Tags"], ["Ann", "6123 4567", "gold", "a、b"], ["Ben", "123", "platinum", ""],
        ["Cat", "", "", ""]]))
    preview = import_preview(workspace=workspace, upload=upload,
                             mapping={"Name": "name", "Phone": "phone", "Tier": "attr:level", "Tags": "tags"})
    assert [c["label"] for c in preview["columns"]] == ["Name", "Phone", "會員等級", "Tags"]
    ann, ben, cat = preview["rows"]
    assert [c["value"] for c in ann["cells"]] == ["Ann", "+85261234567", "gold", "a、b"] and ann["ok"]
    assert not ben["ok"] and ben["cells"][1]["value"] == "123" and "valid phone" in ben["cells"][1]["error"]
    assert "Choose one of: gold, silver" in ben["cells"][2]["error"]
    assert not cat["ok"] and "no member id, phone or email" in cat["problem"]


# --- upsert --------------------------------------------------------------------------------------------------


def test_a_member_id_match_updates_that_contact_even_with_a_new_phone(workspace, admin,
                                                                      django_capture_on_commit_callbacks):
    kept = contact_create(workspace=workspace, name="Old", phone="+85261234567", member_id="M1",
                          attributes={}, tags=["old"])
    job = run_import(workspace, csv_file([["member id", "name", "phone", "tags"], ["M1", "New", "91234567", "new"]]),
                     by=admin, commits=django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count) == (0, 1)
    kept.refresh_from_db()
    assert (kept.name, kept.phone) == ("New", "+85291234567")
    assert sorted(contact_tag_names(kept)) == ["new", "old"]  # tags are only added
    assert live(workspace).count() == 1


def test_a_phone_match_updates_that_contact_and_fills_in_its_member_id(workspace, admin,
                                                                       django_capture_on_commit_callbacks):
    kept = contact_create(workspace=workspace, name="Ann", phone="+85261234567", email="ann@example.com")
    job = run_import(workspace, csv_file([["member id", "phone", "email"], ["M9", "+852 6123 4567", ""]]),
                     by=admin, commits=django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count) == (0, 1)
    kept.refresh_from_db()
    assert (kept.member_id, kept.name, kept.email) == ("M9", "Ann", "ann@example.com")  # empty cells keep values


def test_an_email_match_updates_that_contact(workspace, admin, attributes, django_capture_on_commit_callbacks):
    kept = contact_create(workspace=workspace, email="ann@example.com", attributes={"points": 5, "level": "gold"})
    job = run_import(workspace, csv_file([["email", "points"], ["ann@EXAMPLE.com", "7"]]), by=admin,
                     commits=django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count) == (0, 1)
    kept.refresh_from_db()
    assert kept.attributes == {"points": 7, "level": "gold"}  # merged key by key


def test_rows_naming_the_same_person_twice_make_one_contact(workspace, admin, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    monkeypatch.setattr(imports, "CHUNK", 2)  # the repeat lands in a later chunk too
    rows = [["member id", "phone", "name"], ["M1", "", "First"], ["", "61234567", "Phone only"],
            ["M1", "61234567", "Second"], ["M1", "", "Third"]]
    dry = run_import(workspace, csv_file(rows), dry_run=True, by=admin, commits=django_capture_on_commit_callbacks)
    real = run_import(workspace, csv_file(rows), by=admin, commits=django_capture_on_commit_callbacks)
    # M1 is created, the phone-only row creates another contact, row 4 updates M1 (member id first) with that
    # phone, row 5 updates M1 again.
    assert (real.created_count, real.updated_count, real.error_count) == (2, 2, 0)
    assert (dry.created_count, dry.updated_count, dry.error_count) == (2, 2, 0)
    m1 = live(workspace).get(member_id="M1")
    assert (m1.name, m1.phone) == ("Third", "+85261234567")
    assert live(workspace).count() == 2


def test_a_phone_the_file_moves_to_another_contact_no_longer_matches_the_first(
        workspace, admin, django_capture_on_commit_callbacks):
    ann = contact_create(workspace=workspace, name="Ann", phone="+85261234567", member_id="M1")
    rows = [["member id", "phone", "name"], ["M1", "91234567", "Ann"], ["", "61234567", "Ann's old number"]]
    job = run_import(workspace, csv_file(rows), by=admin, commits=django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count) == (1, 1)
    ann.refresh_from_db()
    assert (ann.phone, ann.name) == ("+85291234567", "Ann")
    assert live(workspace).get(phone="+85261234567").name == "Ann's old number"


def test_a_phone_that_belongs_to_another_member_id_is_a_row_error(workspace, admin,
                                                                   django_capture_on_commit_callbacks):
    other = contact_create(workspace=workspace, name="Other", phone="+85261234567", member_id="M1")
    job = run_import(workspace, csv_file([["member id", "phone", "name"], ["M2", "61234567", "Stranger"]]),
                     by=admin, commits=django_capture_on_commit_callbacks)
    assert (job.created_count, job.updated_count, job.error_count) == (0, 0, 1)
    assert job.errors[0]["row"] == 2 and "member id “M1”" in job.errors[0]["message"]
    other.refresh_from_db()
    assert (other.name, other.member_id) == ("Other", "M1")


# --- row errors ------------------------------------------------------------------------------------------------


def test_bad_rows_are_listed_by_row_and_column_and_the_good_ones_imported(workspace, admin, attributes,
                                                                          django_capture_on_commit_callbacks):
    file = csv_file([
        ["name", "phone", "email", "points", "會員等級", "生日"],
        ["Good", "61234567", "", "1", "gold", ""],
        ["Bad phone", "12", "", "", "", ""],
        ["Bad number", "61234568", "", "lots", "", ""],
        ["Bad choice", "61234569", "", "", "platinum", ""],
        ["Bad email and date", "", "not-an-email", "", "", "next tuesday"],
        ["No key", "", "", "", "", ""],
    ])
    job = run_import(workspace, file, by=admin, commits=django_capture_on_commit_callbacks)
    assert (job.status, job.created_count, job.error_count) == (JobStatus.DONE, 1, 5)  # rows; row 6 twice
    got = {(e["row"], e["column"]) for e in job.errors}
    assert got == {(3, "phone"), (4, "points"), (5, "會員等級"), (6, "email"), (6, "生日"), (7, "")}
    by_cell = {(e["row"], e["column"]): e["message"] for e in job.errors}
    assert "valid phone" in by_cell[(3, "phone")]
    assert by_cell[(4, "points")] == "Enter a number."
    assert "Choose one of: gold, silver" in by_cell[(5, "會員等級")]
    assert list(live(workspace).values_list("name", flat=True)) == ["Good"]


def test_a_failed_row_changes_nothing_on_the_contact_it_matches(workspace, admin, attributes,
                                                                django_capture_on_commit_callbacks):
    kept = contact_create(workspace=workspace, name="Kept", member_id="M1", attributes={"points": 1})
    job = run_import(workspace, csv_file([["member id", "name", "points", "tags"], ["M1", "Changed", "many", "x"]]),
                     by=admin, commits=django_capture_on_commit_callbacks)
    assert (job.updated_count, job.error_count) == (0, 1)
    kept.refresh_from_db()
    assert (kept.name, kept.attributes, contact_tag_names(kept)) == ("Kept", {"points": 1}, [])


def test_a_row_the_database_refuses_fails_alone(workspace, admin, monkeypatch, django_capture_on_commit_callbacks):
    real_insert = imports._bulk_insert

    def picky_insert(contacts):
        if any(c.name == "BOOM" for c in contacts):
            raise DatabaseError("value too long")
        return real_insert(contacts)

    monkeypatch.setattr(imports, "_bulk_insert", picky_insert)
    rows = [["name", "phone"], ["One", "61234561"], ["BOOM", "61234562"], ["Three", "61234563"]]
    job = run_import(workspace, csv_file(rows), by=admin, commits=django_capture_on_commit_callbacks)
    assert (job.status, job.created_count, job.error_count) == (JobStatus.DONE, 2, 1)
    assert job.errors[0]["row"] == 3 and "could not be saved" in job.errors[0]["message"]
    assert sorted(live(workspace).values_list("name", flat=True)) == ["One", "Three"]


# --- dry run, re-run and resume ------------------------------------------------------------------------------


def test_a_dry_run_counts_and_lists_errors_but_writes_nothing_then_imports_for_real(
        workspace, admin, attributes, django_capture_on_commit_callbacks):
    existing = contact_create(workspace=workspace, name="Existing", member_id="M1")
    rows = [["member id", "name", "phone", "tags", "points"], ["M1", "Renamed", "", "vip", "3"],
            ["M2", "New", "61234567", "vip", ""], ["M3", "Broken", "1", "", ""]]
    dry = run_import(workspace, csv_file(rows), dry_run=True, by=admin, commits=django_capture_on_commit_callbacks)
    assert (dry.status, dry.created_count, dry.updated_count, dry.error_count) == (JobStatus.DONE, 1, 1, 1)
    assert dry.errors[0]["row"] == 4
    existing.refresh_from_db()
    assert (existing.name, existing.attributes, contact_tag_names(existing)) == ("Existing", {}, [])
    assert live(workspace).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        real = contact_import_rerun(workspace=workspace, contact_import=dry, by=admin)
    real.refresh_from_db()
    assert (real.dry_run, real.created_count, real.updated_count, real.error_count) == (False, 1, 1, 1)
    existing.refresh_from_db()
    assert (existing.name, existing.attributes, contact_tag_names(existing)) == ("Renamed", {"points": 3}, ["vip"])
    with pytest.raises(ServiceError, match="Only a finished dry run"):
        contact_import_rerun(workspace=workspace, contact_import=real, by=admin)


def test_a_job_whose_worker_died_resumes_after_the_rows_already_written(workspace, admin,
                                                                        django_capture_on_commit_callbacks):
    upload = import_upload_store(workspace=workspace, upload=csv_file(
        [["phone", "name"], ["61234561", "A"], ["61234562", "B"], ["61234563", "C"], ["61234564", "D"]]))
    # As a crashed run leaves it: running, two rows committed (here: their contacts exist), two to go.
    contact_create(workspace=workspace, phone="61234561", name="A")
    contact_create(workspace=workspace, phone="61234562", name="B")
    job = ContactImport.objects.create(workspace=workspace, created_by=admin, file=upload.name, file_name="c.csv",
                                       mapping={"phone": "phone", "name": "name"}, status=JobStatus.RUNNING,
                                       processed_rows=2, created_count=2, total_rows=4)
    assert contact_import_run(import_id=job.pk) == JobStatus.DONE
    job.refresh_from_db()
    assert (job.processed_rows, job.created_count, job.updated_count) == (4, 4, 0)
    assert sorted(live(workspace).values_list("name", flat=True)) == ["A", "B", "C", "D"]
    assert contact_import_run(import_id=job.pk) == JobStatus.DONE  # a duplicate task changes nothing
    assert live(workspace).count() == 4


def test_a_second_runner_does_not_write_a_chunk_the_first_already_wrote(workspace, admin, monkeypatch):
    upload = import_upload_store(workspace=workspace, upload=csv_file([["phone"], ["61234561"], ["61234562"]]))
    job = ContactImport.objects.create(workspace=workspace, created_by=admin, file=upload.name, file_name="c.csv",
                                       mapping={"phone": "phone"})
    real_commit = imports._Job._commit_chunk

    def other_runner_got_there_first(self, offset, *args):
        ContactImport.objects.filter(pk=self.job.pk).update(processed_rows=offset + 2)
        return real_commit(self, offset, *args)

    monkeypatch.setattr(imports._Job, "_commit_chunk", other_runner_got_there_first)
    assert contact_import_run(import_id=job.pk) == "superseded"
    assert not live(workspace).exists()


def test_row_errors_are_in_the_language_of_the_member_who_started_it(workspace, make_member,
                                                                     django_capture_on_commit_callbacks):
    from django.utils import translation

    member = make_member(workspace, "marketer", language="zh-hant")
    job = run_import(workspace, csv_file([["phone"], ["12"]]), by=member, commits=django_capture_on_commit_callbacks)
    with translation.override("zh-hant"):
        from django.utils.translation import gettext

        expected = gettext("Enter a valid phone number, e.g. +852 6123 4567.")
    assert expected != "Enter a valid phone number, e.g. +852 6123 4567."  # the catalog has it
    assert job.errors[0]["message"] == expected
