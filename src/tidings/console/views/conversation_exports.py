"""Conversation export (SPEC I6): a date range → two CSV files built in the background (one row per message, one
row per conversation), progress while it runs, then the downloads. Admins, Supervisors, CS Managers and Sales
Managers (CONVERSATIONS_EXPORT); a sales manager's files hold only the conversations they may see."""

from django import forms
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from tidings.core.errors import NotFound, ServiceError
from tidings.core.permissions import Permission
from tidings.inbox import exports
from tidings.contacts.models import JobStatus
from tidings.inbox.selectors import visibility

from ..access import form_error, require

RECENT = 20


class ExportForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("First day"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("Last day"), widget=forms.DateInput(attrs={"type": "date"}))


def _who(export) -> str:
    user = getattr(export.created_by, "user", None)
    return (user.name or user.email) if user else "—"


def _export(request, conversation_export_id):
    export = exports.export_get(request.membership, conversation_export_id)
    if export is None:
        raise Http404
    export.by_label = _who(export)
    return export


@require(Permission.CONVERSATIONS_EXPORT)
def conversation_export_list(request):
    """GET: the range form (last 7 days by default) and recent exports; POST: start one."""
    first, last = exports.export_default_range(request.workspace)
    form = ExportForm(request.POST or None, initial={"date_from": first, "date_to": last})
    if request.method == "POST" and form.is_valid():
        try:
            export = exports.conversation_export_start(
                membership=request.membership, date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"], language=translation.get_language())
        except ServiceError as exc:
            form_error(form, exc)
        else:
            return redirect("console:conversation_export_detail", conversation_export_id=export.pk)
    recent = list(exports.exports_for(request.membership)[:RECENT])
    for export in recent:
        export.by_label = _who(export)
    return render(request, "console/conversation_exports/list.html", {
        "form": form, "exports": recent, "time_zone": request.workspace.time_zone,
        # Sales roles (and agents, who cannot export) see a part of the inbox; say so before they start.
        "partial": bool(visibility(request.membership)),
    }, status=422 if form.errors else 200)


@require(Permission.CONVERSATIONS_EXPORT)
@require_GET
def conversation_export_detail(request, conversation_export_id):
    """Progress while it runs (the block polls itself every second), then the two downloads."""
    export = _export(request, conversation_export_id)
    percent = int(export.processed_rows * 100 / export.total_rows) if export.total_rows else 0
    context = {"export": export, "percent": min(percent, 100),
               "running": export.status in (JobStatus.PENDING, JobStatus.RUNNING)}
    if request.htmx:
        return render(request, "console/conversation_exports/_job.html", context)
    return render(request, "console/conversation_exports/detail.html", context)


def _download(request, conversation_export_id, part: str):
    export = _export(request, conversation_export_id)
    try:
        file = exports.export_open(export=export, part=part)
    except NotFound:
        raise Http404 from None
    return FileResponse(file, as_attachment=True, filename=exports.export_file_name(export, part),
                        content_type="text/csv; charset=utf-8")


@require(Permission.CONVERSATIONS_EXPORT)
@require_GET
def conversation_export_messages(request, conversation_export_id):
    return _download(request, conversation_export_id, "messages")


@require(Permission.CONVERSATIONS_EXPORT)
@require_GET
def conversation_export_summary(request, conversation_export_id):
    return _download(request, conversation_export_id, "summary")


URLS = [
    path("inbox/exports/", conversation_export_list, name="conversation_exports"),
    path("inbox/exports/<int:conversation_export_id>", conversation_export_detail,
         name="conversation_export_detail"),
    path("inbox/exports/<int:conversation_export_id>/messages.csv", conversation_export_messages,
         name="conversation_export_messages"),
    path("inbox/exports/<int:conversation_export_id>/summary.csv", conversation_export_summary,
         name="conversation_export_summary"),
]
