"""Workspace settings: name, zone, currency, phone region, billing email, avatar, modules."""

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, Http404
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.services import workspace_modules_set, workspace_update

from ..access import form_error, require
from ..forms import WorkspaceForm


@require(Permission.WORKSPACE_MANAGE)
def workspace_settings(request):
    workspace = request.workspace
    initial = {name: getattr(workspace, name) for name in WorkspaceForm.TEXT_FIELDS}
    initial["modules"] = list(workspace.enabled_modules)
    form = WorkspaceForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name].strip() for name in WorkspaceForm.TEXT_FIELDS}
        if form.cleaned_data["avatar"]:
            values["avatar"] = form.cleaned_data["avatar"]
        try:
            with transaction.atomic():
                workspace_update(workspace=workspace, actor=request.user, **values)
                workspace_modules_set(workspace=workspace, actor=request.user, modules=form.cleaned_data["modules"])
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Workspace settings saved."))
            return redirect("console:workspace_settings")
    return render(request, "console/workspace_settings.html", {"form": form, "time_zones": WorkspaceForm.time_zones()})


@login_required
def workspace_avatar(request):
    """The current workspace's avatar (media is not served publicly; members see their own workspace's)."""
    workspace = request.workspace
    if workspace is None or not workspace.avatar:
        raise Http404
    try:
        return FileResponse(workspace.avatar.open("rb"))
    except FileNotFoundError:
        raise Http404 from None
