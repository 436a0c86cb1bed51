"""Contact import and export in Chromium: upload, the mapping's live preview, a dry run with its row errors, the
real import, a running job's progress bar, and an export to download."""

import os

import pytest
from playwright.sync_api import expect

from tests.browser.support import screenshot
from tests.contacts.import_support import csv_file, media  # noqa: F401  (media is a fixture)
from tidings.contacts.models import Contact, ContactImport, JobStatus
from tidings.contacts.services import contact_create, custom_attribute_create
from tidings.core.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("media")]


def test_import_wizard_dry_run_then_import(new_page, log_in, workspace, make_member, tmp_path):
    custom_attribute_create(workspace=workspace, key="level", name="會員等級", type="choice", choices=["gold", "silver"])
    contact_create(workspace=workspace, name="Old name", member_id="M001")
    file = tmp_path / "customers.csv"
    file.write_bytes(csv_file([
        ["會員編號", "姓名", "手機", "Email", "標籤", "會員等級", "備註"],
        ["M001", "陳大文", "6123 4567", "taiman@example.com", "VIP、newsletter", "gold", "called twice"],
        ["M002", "李小美", "+852 9123 4567", "", "newsletter", "silver", ""],
        ["M003", "張三", "12", "zhang@", "", "platinum", ""],
    ]).read())
    page = new_page(width=1360, height=1000)
    log_in(page, make_member(workspace, Role.MARKETER))
    page.goto("/contacts/import")
    expect(page.locator(".empty-state")).to_contain_text("No imports yet")
    page.set_input_files("input[name=file]", str(file))
    page.click("[data-upload-form] button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Map the columns")
    expect(page.locator("select[data-map='手機']")).to_have_value("phone")
    expect(page.locator("[data-preview-row='2']")).to_contain_text("+85261234567")
    expect(page.locator("[data-preview-row='4'] .cell-error")).to_have_count(3)  # phone, email, choice
    # Leave the email column out: the preview follows (htmx), and row 4 has one error fewer.
    page.select_option("select[data-map='Email']", "")
    expect(page.locator("[data-preview-row='4'] .cell-error")).to_have_count(2)
    screenshot(page, "contact-import-map")

    page.click("[data-dry-run]")
    expect(page.locator("#import-job")).to_have_attribute("data-job-status", "done")
    expect(page.locator("[data-count=failed]")).to_have_text("1")
    expect(page.locator("[data-error-row='4']").first).to_contain_text("手機")
    assert Contact.objects.get(member_id="M001").name == "Old name"  # nothing written by the dry run
    screenshot(page, "contact-import-dry-run")

    page.click("[data-run-import]")
    expect(page.locator("h1")).to_contain_text("Import of customers.csv")
    expect(page.locator("#import-job")).to_have_attribute("data-job-status", "done")
    expect(page.locator("[data-count=created]")).to_have_text("1")
    expect(page.locator("[data-count=updated]")).to_have_text("1")
    chan = Contact.objects.get(member_id="M001")
    assert (chan.name, chan.phone, chan.email, chan.attributes) == ("陳大文", "+85261234567", "", {"level": "gold"})


def test_a_running_import_shows_its_progress_then_its_result(new_page, log_in, workspace, make_member):
    member = make_member(workspace, Role.CS_MANAGER)
    job = ContactImport.objects.create(workspace=workspace, created_by=member, file="imports/x.xlsx",
                                       file_name="members-2025.xlsx", mapping={"Phone": "phone"},
                                       status=JobStatus.RUNNING, total_rows=50_000, processed_rows=21_000,
                                       created_count=18_950, updated_count=2_040, error_count=10,
                                       errors=[{"row": 1207, "column": "Phone", "field": "phone",
                                                "message": "Enter a valid phone number, e.g. +852 6123 4567."}])
    page = new_page(width=1280, height=900)
    log_in(page, member)
    page.goto(f"/contacts/imports/{job.pk}")
    expect(page.locator("[data-progress]")).to_contain_text("21,000 of 50,000 rows (42%)")
    screenshot(page, "contact-import-running")
    ContactImport.objects.filter(pk=job.pk).update(status=JobStatus.DONE, processed_rows=50_000,
                                                   created_count=47_950)
    # The block polls every second and stops once the job is done.
    expect(page.locator("#import-job")).to_have_attribute("data-job-status", "done", timeout=5000)
    expect(page.locator("[data-count=created]")).to_have_text("47,950")


def test_export_the_filtered_list_and_download_it(new_page, log_in, workspace, make_member):
    contact_create(workspace=workspace, name="陳大文", tags=["VIP"])
    contact_create(workspace=workspace, name="李小美")
    page = new_page(width=1280, height=900)
    log_in(page, make_member(workspace, Role.MARKETER, language="zh-hant"))
    page.goto("/contacts/export?tag=VIP")
    expect(page.locator("[data-export-count]")).to_contain_text("1")
    page.check("input[name=format][value=csv]")
    screenshot(page, "contact-export-start")
    page.click("[data-start-export]")
    expect(page.locator("#export-job")).to_have_attribute("data-job-status", "done")
    with page.expect_download() as download:
        page.click("[data-download]")
    path = download.value.path()
    text = open(path, encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("姓名,電話")
    assert "陳大文" in text and "李小美" not in text
    assert download.value.suggested_filename.startswith("contacts-acme-")
    screenshot(page, "contact-export-done")
    assert os.path.getsize(path) > 0
