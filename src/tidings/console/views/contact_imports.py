"""Contact import wizard (upload → map columns with a live preview → dry run or import → progress and errors) and
contact export (the contact list's filters → CSV or XLSX built in the background → download). SPEC D4."""

import csv
import io

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from tidings.contacts import exports as contact_exports
from tidings.contacts import imports as contact_imports
from tidings.contacts.models import Channel, JobStatus
from tidings.contacts.tabular import MAX_FILE_BYTES, MAX_ROWS
from tidings.core.errors import NotFound, ServiceError
from tidings.core.permissions import Permission

from ..access import require
from .contacts import YES_NO, list_filters

ERRORS_SHOWN = 200
SAMPLE_COLUMNS = 3  # sample values shown beside each column in the mapping step


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"), help_text=gettext_lazy(
        "The first row names the columns. CSV in UTF-8 (Excel: “CSV UTF-8”) or Big5; XLSX: the first sheet."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt,text/csv,application/vnd."
                                                         "openxmlformats-officedocument.spreadsheetml.sheet"}))


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=gettext_lazy("Format"), initial="xlsx", widget=forms.RadioSelect, choices=[
        ("xlsx", gettext_lazy("Excel workbook (.xlsx)")), ("csv", gettext_lazy("CSV (UTF-8, opens in Excel)"))])


def _who(job) -> str:
    """Who started a job, for the pages (the member may have been removed since)."""
    user = getattr(job.created_by, "user", None)
    return (user.name or user.email) if user else "—"


def _labelled(jobs) -> list:
    jobs = list(jobs)
    for job in jobs:
        job.by_label = _who(job)
    return jobs


def _limits() -> dict:
    return {"rows": f"{MAX_ROWS:,}", "mb": MAX_FILE_BYTES // (1024 * 1024)}


# --- import --------------------------------------------------------------------------------------------------


def _mapping_from_post(post, headers: list[str]) -> dict:
    """The mapping step posts one select per column, named by the column's position (headers may be anything)."""
    return {header: post.get(f"map-{index}", "") for index, header in enumerate(headers)}


def _mapping_page(request, upload, mapping: dict, *, error: str = "", status: int = 200):
    workspace = request.workspace
    columns = [{"index": index, "header": header, "target": mapping.get(header, ""),
                "samples": [cells[index] for _n, cells in upload.samples if cells[index]][:SAMPLE_COLUMNS]}
               for index, header in enumerate(upload.headers)]
    return render(request, "console/contact_imports/map.html", {
        "upload": upload, "token": contact_imports.import_upload_token(workspace, upload), "columns": columns,
        "targets": contact_imports.target_choices(workspace), "error": error,
        "preview": contact_imports.import_preview(workspace=workspace, upload=upload, mapping=mapping),
    }, status=status)


def _upload_page(request, form, *, error: str = "", status: int = 200):
    return render(request, "console/contact_imports/upload.html", {
        "form": form, "error": error, "imports": _labelled(contact_imports.imports_list(request.workspace)),
        "limits": _limits(),
        "targets": contact_imports.target_choices(request.workspace),
    }, status=status)


@require(Permission.CONTACTS_IMPORT)
def contact_import(request):
    """Step 1 (GET, or POST of a file) and step 2 (POST of the mapping with intent dry_run / import)."""
    workspace = request.workspace
    if request.method != "POST":
        return _upload_page(request, UploadForm())
    if "upload" in request.POST:
        try:
            upload = contact_imports.import_upload_load(workspace=workspace, token=request.POST["upload"])
        except ServiceError as exc:
            return _upload_page(request, UploadForm(), error=str(exc.message), status=422)
        mapping = _mapping_from_post(request.POST, upload.headers)
        try:
            job = contact_imports.contact_import_start(workspace=workspace, upload=upload, mapping=mapping,
                                                       dry_run=request.POST.get("intent") != "import",
                                                       by=request.membership)
        except ServiceError as exc:
            return _mapping_page(request, upload, mapping, error=str(exc.message), status=422)
        return redirect("console:contact_import_detail", import_id=job.pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, form, status=422)
    try:
        upload = contact_imports.import_upload_store(workspace=workspace, upload=form.cleaned_data["file"])
    except ServiceError as exc:
        form.add_error("file", str(exc.message))
        return _upload_page(request, form, status=422)
    return _mapping_page(request, upload, contact_imports.mapping_suggest(workspace, upload.headers))


@require(Permission.CONTACTS_IMPORT)
@require_POST
def contact_import_preview(request):
    """The live preview under the mapping (htmx, on every change of a column's target)."""
    try:
        upload = contact_imports.import_upload_load(workspace=request.workspace, token=request.POST.get("upload"))
    except ServiceError as exc:
        return render(request, "console/contact_imports/_preview.html", {"preview": {"problem": str(exc.message)}})
    mapping = _mapping_from_post(request.POST, upload.headers)
    return render(request, "console/contact_imports/_preview.html", {
        "preview": contact_imports.import_preview(workspace=request.workspace, upload=upload, mapping=mapping)})


@require(Permission.CONTACTS_IMPORT)
@require_GET
def contact_import_sample(request):
    """A CSV with the importable columns as headers in the member's language, and one example row."""
    workspace = request.workspace
    targets = contact_imports.target_choices(workspace)
    example = {"name": _("Chan Tai Man"), "phone": "+852 6123 4567", "email": "taiman@example.com",
               "member_id": "M0001", "tags": _("VIP") + "、" + _("newsletter")}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _value, label in targets])
    writer.writerow([example.get(value, "") for value, _label in targets])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts-sample.csv"'
    return response


def _import(request, import_id):
    job = contact_imports.import_get(request.workspace, import_id)
    if job is None:
        raise Http404
    return job


def _import_context(job) -> dict:
    percent = int(job.processed_rows * 100 / job.total_rows) if job.total_rows else 0
    running = job.status in (JobStatus.PENDING, JobStatus.RUNNING)
    job.by_label = _who(job)
    return {"job": job, "percent": min(percent, 100), "running": running, "errors": job.errors[:ERRORS_SHOWN],
            "errors_hidden": max(len(job.errors) - ERRORS_SHOWN, 0),
            "errors_capped": len(job.errors) >= contact_imports.MAX_ERRORS,
            "mapped": [(header, target) for header, target in job.mapping.items() if target]}


@require(Permission.CONTACTS_IMPORT)
@require_GET
def contact_import_detail(request, import_id):
    """Progress while it runs (the job block polls itself every second), then the counts and the row errors."""
    job = _import(request, import_id)
    context = _import_context(job)
    labels = dict(contact_imports.target_choices(request.workspace))
    context["mapped"] = [(header, labels.get(target, target)) for header, target in context["mapped"]]
    if request.htmx:
        return render(request, "console/contact_imports/_job.html", context)
    return render(request, "console/contact_imports/detail.html", context)


@require(Permission.CONTACTS_IMPORT)
@require_POST
def contact_import_run(request, import_id):
    """Import for real what a dry run checked."""
    job = _import(request, import_id)
    try:
        job = contact_imports.contact_import_rerun(workspace=request.workspace, contact_import=job,
                                                   by=request.membership)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    return redirect("console:contact_import_detail", import_id=job.pk)


@require(Permission.CONTACTS_IMPORT)
@require_GET
def contact_import_errors(request, import_id):
    """The row errors as CSV (row, column, problem), to fix the file in a spreadsheet."""
    job = _import(request, import_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Column"), _("Problem")])
    for error in job.errors:
        writer.writerow([error.get("row", ""), error.get("column", ""), error.get("message", "")])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


# --- export --------------------------------------------------------------------------------------------------


def _export_filters(filters: dict) -> dict:
    """The contact list's filters (yes/no strings) as the export service takes them."""
    return {"q": filters["q"], "channel": filters["channel"], "tag": filters["tag"],
            "subscribed": YES_NO.get(filters["subscribed"]), "bound": YES_NO.get(filters["bound"])}


def _filter_chips(filters: dict) -> list[tuple[str, str]]:
    """What the export is limited to, in words, for the page."""
    chips = []
    if filters.get("q"):
        chips.append((_("Search"), filters["q"]))
    if filters.get("channel"):
        chips.append((_("Channel"), dict(Channel.choices).get(filters["channel"], filters["channel"])))
    if filters.get("tag"):
        chips.append((_("Tag"), filters["tag"]))
    for key, yes, no in (("subscribed", _("Subscribed"), _("Not subscribed")), ("bound", _("Bound"), _("Not bound"))):
        if filters.get(key) is not None:
            chips.append((_("Subscription") if key == "subscribed" else _("Binding"), yes if filters[key] else no))
    return chips


@require(Permission.CONTACTS_EXPORT)
def contact_export(request):
    """GET: what will be exported (the list's filters from the query string) and the format; POST: start it."""
    workspace = request.workspace
    filters = _export_filters(list_filters(request.POST if request.method == "POST" else request.GET))
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            export = contact_exports.contact_export_start(
                workspace=workspace, filters=filters, format=form.cleaned_data["format"],
                language=translation.get_language(), by=request.membership)
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
        else:
            return redirect("console:contact_export_detail", export_id=export.pk)
    return render(request, "console/contact_imports/export.html", {
        "form": form, "filters": filters, "chips": _filter_chips(filters),
        "count": contact_exports.export_contacts(workspace, filters).count(),
        "exports": _labelled(contact_exports.exports_list(workspace)),
    }, status=422 if form.errors else 200)


def _export(request, export_id):
    export = contact_exports.export_get(request.workspace, export_id)
    if export is None:
        raise Http404
    return export


@require(Permission.CONTACTS_EXPORT)
@require_GET
def contact_export_detail(request, export_id):
    export = _export(request, export_id)
    export.by_label = _who(export)
    percent = int(export.processed_rows * 100 / export.total_rows) if export.total_rows else 0
    context = {"export": export, "percent": min(percent, 100),
               "running": export.status in (JobStatus.PENDING, JobStatus.RUNNING),
               "chips": _filter_chips(export.filters)}
    if request.htmx:
        return render(request, "console/contact_imports/_export_job.html", context)
    return render(request, "console/contact_imports/export_detail.html", context)


@require(Permission.CONTACTS_EXPORT)
@require_GET
def contact_export_download(request, export_id):
    export = _export(request, export_id)
    try:
        file = contact_exports.export_open(workspace=request.workspace, export=export)
    except NotFound:
        raise Http404 from None
    return FileResponse(file, as_attachment=True, filename=contact_exports.export_file_name(export))


URLS = [
    path("contacts/import", contact_import, name="contact_import"),
    path("contacts/import/preview", contact_import_preview, name="contact_import_preview"),
    path("contacts/import/sample.csv", contact_import_sample, name="contact_import_sample"),
    path("contacts/imports/<int:import_id>", contact_import_detail, name="contact_import_detail"),
    path("contacts/imports/<int:import_id>/run", contact_import_run, name="contact_import_run"),
    path("contacts/imports/<int:import_id>/errors.csv", contact_import_errors, name="contact_import_errors"),
    path("contacts/export", contact_export, name="contact_export"),
    path("contacts/exports/<int:export_id>", contact_export_detail, name="contact_export_detail"),
    path("contacts/exports/<int:export_id>/download", contact_export_download, name="contact_export_download"),
]
