"""The overview, the workspace switcher and the generic coming-soon page of modules not built yet."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tidings.core.errors import ServiceError
from tidings.core.modules import Module
from tidings.core.permissions import MODULE_OF, Permission
from tidings.core.selectors import active_memberships, member_can
from tidings.core.services import user_switch_workspace

from ..navigation import PLANNED, visible_items
from ..selectors import workspace_overview


@login_required
def home(request):
    membership = request.membership
    if membership is None:
        # Logged in, but no active seat anywhere (every membership deactivated).
        return render(request, "console/no_workspace.html")
    if not member_can(membership, Permission.OVERVIEW_VIEW):
        raise PermissionDenied
    workspace = request.workspace
    overview = workspace_overview(workspace)
    links = [item for item in visible_items(membership) if item.key != "home"]
    return render(request, "console/home.html", {
        "overview": overview,
        "quick_links": [i for i in links if not i.planned],
        "planned_links": [i for i in links if i.planned],
        "is_empty": overview["members"] <= 1 and overview["stores"] == 0 and overview["tokens"] == 0,
        "modules": [Module(m).label for m in workspace.enabled_modules if m in Module.values],
    })


@login_required
@require_POST
def switch_workspace(request):
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError:
        raise Http404 from None
    seat = active_memberships(request.user).filter(workspace_id=workspace_id).first()
    if seat is None:
        raise Http404
    try:
        user_switch_workspace(user=request.user, workspace=seat.workspace)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Switched to %(name)s.") % {"name": seat.workspace.name})
    return redirect("console:home")


@login_required
def coming_soon(request, slug):
    item = PLANNED.get(slug)
    if item is None:
        raise Http404
    if not member_can(request.membership, item.permission):
        raise PermissionDenied
    module = MODULE_OF.get(item.permission)
    return render(request, "console/coming_soon.html", {"item": item, "module": module.label if module else ""})
