"""Console pages for contact import (wizard, progress, errors) and export (start, progress, download): who may use
them, and what a member sees at each step."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from tests.contacts.import_support import csv_file, media  # noqa: F401  (media is a fixture)
from tidings.contacts.models import Contact, ContactExport, ContactImport, JobStatus
from tidings.contacts.services import contact_create, custom_attribute_create
from tidings.core.roles import Role

pytestmark = pytest.mark.usefixtures("media")

IMPORTERS = {Role.ADMIN, Role.MARKETER, Role.CS_MANAGER}  # seed 003
EXPORTERS = {Role.ADMIN, Role.SUPERVISOR, Role.MARKETER}


@pytest.mark.parametrize("role", list(Role))
def test_only_admins_marketers_and_cs_managers_may_import(role, workspace, make_member, console_client):
    client = console_client(make_member(workspace, role))
    expected = 200 if role in IMPORTERS else 403
    assert client.get(reverse("console:contact_import")).status_code == expected
    assert client.get(reverse("console:contact_import_sample")).status_code == expected
    response = client.post(reverse("console:contact_import"), {"file": csv_file([["phone"], ["61234567"]])})
    assert response.status_code == (200 if role in IMPORTERS else 403)
    assert ContactImport.objects.count() == 0  # uploading only maps; nothing starts yet


@pytest.mark.parametrize("role", list(Role))
def test_only_admins_supervisors_and_marketers_may_export(role, workspace, make_member, console_client):
    client = console_client(make_member(workspace, role))
    expected = 200 if role in EXPORTERS else 403
    assert client.get(reverse("console:contact_export")).status_code == expected
    client.post(reverse("console:contact_export"), {"format": "csv"})
    assert ContactExport.objects.count() == (1 if role in EXPORTERS else 0)


def test_a_job_of_the_own_workspace_is_refused_to_roles_without_the_permission(workspace, admin, make_member,
                                                                               console_client):
    job = ContactImport.objects.create(workspace=workspace, file="imports/x.csv", file_name="x.csv", dry_run=True,
                                       status=JobStatus.DONE)
    agent = console_client(make_member(workspace, Role.CS_AGENT))
    for name in ("console:contact_import_detail", "console:contact_import_errors"):
        assert agent.get(reverse(name, kwargs={"import_id": job.pk})).status_code == 403
    assert agent.post(reverse("console:contact_import_run", kwargs={"import_id": job.pk})).status_code == 403
    assert ContactImport.objects.count() == 1


def test_the_wizard_uploads_maps_dry_runs_and_imports(workspace, make_member, console_client,
                                                      django_capture_on_commit_callbacks):
    custom_attribute_create(workspace=workspace, key="points", name="積分", type="number")
    existing = contact_create(workspace=workspace, name="Old name", member_id="M1")
    client = console_client(make_member(workspace, Role.MARKETER))
    file = csv_file([["會員編號", "姓名", "手機", "積分", "備註"], ["M1", "陳大文", "6123 4567", "10", "x"],
                     ["M2", "李小美", "123", "", "y"], ["M3", "張三", "", "many", ""]])

    page = client.post(reverse("console:contact_import"), {"file": file})
    html = page.content.decode()
    assert page.status_code == 200
    token = page.context["token"]
    # Suggested from the headers; the notes column is left out.
    assert [c["target"] for c in page.context["columns"]] == ["member_id", "name", "phone", "attr:points", ""]
    assert "+85261234567" in html  # the preview shows the phone as it will be saved
    assert "Enter a valid phone number" in html and "Enter a number." in html

    mapping = {f"map-{i}": t for i, t in enumerate(["member_id", "name", "phone", "attr:points", ""])}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:contact_import"), {"upload": token, "intent": "dry_run", **mapping})
    dry = ContactImport.objects.get()
    assert response.status_code == 302 and response.url == reverse("console:contact_import_detail",
                                                                    kwargs={"import_id": dry.pk})
    existing.refresh_from_db()
    assert existing.name == "Old name" and Contact.objects.count() == 1  # a dry run writes nothing

    detail = client.get(response.url)
    text = detail.content.decode()
    assert detail.status_code == 200 and dry.dry_run
    assert 'data-job-status="done"' in text and "hx-trigger" not in text  # finished: no more polling
    assert "Would be created" in text and 'data-count="failed">2<' in text
    assert 'data-error-row="3"' in text and 'data-error-row="4"' in text
    assert "Import these rows now" in text

    with django_capture_on_commit_callbacks(execute=True):
        run = client.post(reverse("console:contact_import_run", kwargs={"import_id": dry.pk}))
    real = ContactImport.objects.exclude(pk=dry.pk).get()
    assert run.url == reverse("console:contact_import_detail", kwargs={"import_id": real.pk})
    assert (real.dry_run, real.status, real.updated_count, real.error_count) == (False, "done", 1, 2)
    existing.refresh_from_db()
    assert (existing.name, existing.phone, existing.attributes) == ("陳大文", "+85261234567", {"points": 10})

    errors = client.get(reverse("console:contact_import_errors", kwargs={"import_id": real.pk}))
    rows = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert errors["Content-Disposition"].startswith("attachment")
    assert rows[0] == ["Row", "Column", "Problem"] and [r[:2] for r in rows[1:]] == [["3", "手機"], ["4", "積分"]]


def test_import_now_skips_the_dry_run(workspace, admin, console_client, django_capture_on_commit_callbacks):
    client = console_client(admin)
    page = client.post(reverse("console:contact_import"), {"file": csv_file([["email"], ["a@example.com"]])})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:contact_import"), {"upload": page.context["token"], "intent": "import",
                                                        "map-0": "email"})
    job = ContactImport.objects.get()
    assert (job.dry_run, job.created_count) == (False, 1)
    assert Contact.objects.get().email == "a@example.com"


def test_the_preview_follows_the_mapping(workspace, admin, console_client):
    client = console_client(admin)
    page = client.post(reverse("console:contact_import"), {"file": csv_file([["a", "b"], ["Ann", "61234567"]])})
    token = page.context["token"]
    url = reverse("console:contact_import_preview")
    unmapped = client.post(url, {"upload": token, "map-0": "", "map-1": ""}, HTTP_HX_REQUEST="true")
    assert "Map a column to member id, phone or email" in unmapped.content.decode()
    mapped = client.post(url, {"upload": token, "map-0": "name", "map-1": "phone"}, HTTP_HX_REQUEST="true")
    assert "+85261234567" in mapped.content.decode() and "data-preview-problem" not in mapped.content.decode()


def test_problems_are_shown_on_the_page_that_caused_them(workspace, admin, console_client):
    client = console_client(admin)
    bad = client.post(reverse("console:contact_import"), {"file": csv_file([["a@example.com", "x"]])})
    assert bad.status_code == 422 and "must name the columns" in bad.content.decode()

    page = client.post(reverse("console:contact_import"), {"file": csv_file([["name"], ["Ann"]])})
    no_key = client.post(reverse("console:contact_import"), {"upload": page.context["token"], "map-0": "name",
                                                             "intent": "dry_run"})
    assert no_key.status_code == 422 and "data-error" in no_key.content.decode()
    assert ContactImport.objects.count() == 0

    stale = client.post(reverse("console:contact_import"), {"upload": "forged", "map-0": "name"})
    assert stale.status_code == 422 and "The upload has expired" in stale.content.decode()


def test_a_running_import_polls_for_progress_and_a_pending_one_explains_the_wait(workspace, admin, console_client):
    client = console_client(admin)
    job = ContactImport.objects.create(workspace=workspace, file="imports/x.csv", file_name="big.xlsx",
                                       status=JobStatus.RUNNING, total_rows=50_000, processed_rows=12_500)
    url = reverse("console:contact_import_detail", kwargs={"import_id": job.pk})
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section class="card" id="import-job"')  # just the block, for htmx
    assert 'hx-trigger="every 1s"' in partial and 'aria-valuenow="25"' in partial
    assert "12,500 of 50,000 rows (25%)" in partial
    ContactImport.objects.filter(pk=job.pk).update(status=JobStatus.PENDING, processed_rows=0)
    assert "check that a worker is running" in client.get(url).content.decode()
    ContactImport.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error="The workbook is damaged")
    failed = client.get(url).content.decode()
    assert "The workbook is damaged" in failed and "hx-trigger" not in failed


def test_the_import_page_lists_recent_imports_or_explains_how_to_start(workspace, admin, console_client):
    client = console_client(admin)
    empty = client.get(reverse("console:contact_import")).content.decode()
    assert "No imports yet" in empty and reverse("console:contact_import_sample") in empty
    ContactImport.objects.create(workspace=workspace, file="imports/x.csv", file_name="spring.csv",
                                 status=JobStatus.DONE, created_count=7)
    listed = client.get(reverse("console:contact_import")).content.decode()
    assert "spring.csv" in listed and "No imports yet" not in listed


def test_the_sample_file_has_a_column_per_field_and_attribute_in_the_members_language(
        workspace, make_member, console_client):
    custom_attribute_create(workspace=workspace, key="level", name="會員等級", type="text")
    client = console_client(make_member(workspace, Role.MARKETER, language="zh-hant"))
    response = client.get(reverse("console:contact_import_sample"))
    header = next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[:2] == ["姓名", "電話"] and header[-1] == "會員等級"


def test_export_starts_from_the_lists_filters_and_offers_the_download(workspace, admin, console_client,
                                                                      django_capture_on_commit_callbacks):
    contact_create(workspace=workspace, name="Ann", tags=["vip"])
    contact_create(workspace=workspace, name="Ben")
    client = console_client(admin)
    page = client.get(reverse("console:contact_export") + "?tag=vip&bound=no")
    text = page.content.decode()
    assert page.context["count"] == 1 and "1 contact" in text
    assert 'name="tag" value="vip"' in text and 'name="bound" value="no"' in text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("console:contact_export"), {"format": "csv", "tag": "vip", "bound": "no"})
    export = ContactExport.objects.get()
    assert response.url == reverse("console:contact_export_detail", kwargs={"export_id": export.pk})
    assert export.filters == {"q": "", "channel": "", "tag": "vip", "subscribed": None, "bound": False}
    detail = client.get(response.url).content.decode()
    assert "The file is ready: 1 contact." in detail and "hx-trigger" not in detail
    download = client.get(reverse("console:contact_export_download", kwargs={"export_id": export.pk}))
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert download["Content-Disposition"].startswith('attachment; filename="contacts-acme-')
    assert "Ann" in body and "Ben" not in body


def test_the_export_is_in_the_language_the_member_uses(workspace, make_member, console_client,
                                                       django_capture_on_commit_callbacks):
    contact_create(workspace=workspace, name="Ann")
    client = console_client(make_member(workspace, Role.MARKETER, language="zh-hant"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:contact_export"), {"format": "xlsx"})
    export = ContactExport.objects.get()
    assert export.language == "zh-hant"
    import openpyxl

    sheet = openpyxl.load_workbook(export.file.open("rb"), read_only=True).worksheets[0]
    assert next(sheet.iter_rows(values_only=True))[:2] == ("姓名", "電話")


def test_an_export_with_nothing_to_export_says_so(workspace, admin, console_client):
    text = console_client(admin).get(reverse("console:contact_export") + "?q=nobody").content.decode()
    assert "nothing to export" in text and "disabled" in text and "No exports yet" in text


def test_a_download_before_the_file_is_ready_is_a_404(workspace, admin, console_client):
    export = ContactExport.objects.create(workspace=workspace, format="csv", language="en",
                                          status=JobStatus.RUNNING, total_rows=10, processed_rows=4)
    client = console_client(admin)
    assert client.get(reverse("console:contact_export_download", kwargs={"export_id": export.pk})).status_code == 404
    partial = client.get(reverse("console:contact_export_detail", kwargs={"export_id": export.pk}),
                         HTTP_HX_REQUEST="true").content.decode()
    assert "4 of 10 contacts (40%)" in partial and 'hx-trigger="every 1s"' in partial


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
def test_every_page_renders_in_each_language(language, workspace, make_member, console_client,
                                             django_capture_on_commit_callbacks):
    client = console_client(make_member(workspace, Role.ADMIN, language=language))
    page = client.post(reverse("console:contact_import"), {"file": csv_file([["phone"], ["61234567"]])})
    assert page.status_code == 200 and f'lang="{language}"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:contact_import"), {"upload": page.context["token"], "map-0": "phone",
                                                        "intent": "dry_run"})
        client.post(reverse("console:contact_export"), {"format": "csv"})
    job, export = ContactImport.objects.get(), ContactExport.objects.get()
    for url in (reverse("console:contact_import"), reverse("console:contact_export"),
                reverse("console:contact_import_detail", kwargs={"import_id": job.pk}),
                reverse("console:contact_export_detail", kwargs={"export_id": export.pk})):
        response = client.get(url)
        assert response.status_code == 200, url


def test_an_expired_export_says_its_file_was_deleted_and_offers_a_new_one(workspace, admin, console_client, settings,
                                                                         django_capture_on_commit_callbacks):
    from tidings.contacts.retention import contact_files_expire

    settings.FILE_RETENTION_DAYS = 7
    contact_create(workspace=workspace, name="Ann")
    client = console_client(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:contact_export"), {"format": "csv"})
    export = ContactExport.objects.get()
    detail_url = reverse("console:contact_export_detail", kwargs={"export_id": export.pk})
    assert "The file is kept for 7 days." in client.get(detail_url).content.decode()

    contact_files_expire(now=export.finished_at + datetime.timedelta(days=8))
    detail = client.get(detail_url).content.decode()
    assert "data-expired" in detail and "exports are kept for 7 days" in detail and "data-download" not in detail
    assert reverse("console:contact_export") in detail
    listing = client.get(reverse("console:contact_export")).content.decode()
    assert "File deleted" in listing
    assert reverse("console:contact_export_download", kwargs={"export_id": export.pk}) not in listing
    assert client.get(reverse("console:contact_export_download",
                              kwargs={"export_id": export.pk})).status_code == 404


def test_a_dry_run_whose_file_was_deleted_asks_for_the_file_again(workspace, admin, console_client,
                                                                 django_capture_on_commit_callbacks):
    from tests.contacts.import_support import run_import

    job = run_import(workspace, csv_file([["Name", "Phone"], ["Ann", "+85261234567"]]), dry_run=True, by=admin,
                     commits=django_capture_on_commit_callbacks)
    client = console_client(admin)
    url = reverse("console:contact_import_detail", kwargs={"import_id": job.pk})
    assert "data-run-import" in client.get(url).content.decode()
    ContactImport.objects.filter(pk=job.pk).update(expired_at=job.finished_at)
    page = client.get(url).content.decode()
    assert "data-run-import" not in page and "Upload it again to import it." in page
