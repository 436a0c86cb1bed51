"""The audit log: who changed what, when (in the workspace's zone), filterable by action prefix."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from tidings.core.permissions import Permission
from tidings.core.selectors import audit_entries

from ..access import require

AREAS = (
    ("", _("All actions")),
    ("workspace.", _("Workspace")),
    ("member.", _("Members")),
    ("store.", _("Stores")),
    ("token.", _("API tokens")),
    ("clock.", _("Test clock")),
)


@require(Permission.AUDIT_VIEW)
def audit_list(request):
    action = request.GET.get("action", "").strip()[:64]
    entries = audit_entries(request.workspace, action_prefix=action).select_related("actor")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "console/audit.html", {"page": page, "action": action, "areas": AREAS})
