"""Team members: list with search and filters, add, change role, deactivate and reactivate."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tidings.core.errors import ServiceError
from tidings.core.models import Membership
from tidings.core.permissions import Permission
from tidings.core.roles import SALES_ROLES, Role
from tidings.core.selectors import member_can, members_list
from tidings.core.services import member_add, member_change_role, member_set_active

from ..access import form_error, require
from ..forms import MemberAddForm, MemberRoleForm
from ..selectors import member_counts

STATUSES = (("", _("Any status")), ("active", _("Active")), ("inactive", _("Deactivated")))


def _member(request, member_id) -> Membership:
    return get_object_or_404(Membership.objects.for_workspace(request.workspace).select_related("user", "store"),
                             pk=member_id)


@require(Permission.MEMBERS_VIEW)
def member_list(request):
    query = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    role = role if role in Role.values else ""
    status = request.GET.get("status", "")
    status = status if status in ("active", "inactive") else ""
    members = members_list(request.workspace, query=query, role=role, status=status)
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(request, "console/members/list.html", {
        "page": page, "query": query, "role": role, "status": status,
        "roles": Role.choices, "statuses": STATUSES, "counts": member_counts(request.workspace),
        "can_manage": member_can(request.membership, Permission.MEMBERS_MANAGE),
        "sales_roles": SALES_ROLES,
    })


@require(Permission.MEMBERS_MANAGE)
def member_add_view(request):
    form = MemberAddForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = member_add(
                workspace=request.workspace, actor=request.user, email=data["email"], name=data["name"],
                role=data["role"], password=data["password"] or None, store=data["store"],
                employee_code=data["employee_code"],
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("%(email)s was added to the workspace.") % {"email": membership.user.email})
            return redirect("console:members")
    return render(request, "console/members/form.html", {"form": form, "title": _("Add member")})


@require(Permission.MEMBERS_MANAGE)
def member_edit(request, member_id):
    member = _member(request, member_id)
    initial = {"role": member.role, "store": member.store, "employee_code": member.employee_code}
    form = MemberRoleForm(request.POST or None, workspace=request.workspace, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member_change_role(workspace=request.workspace, actor=request.user, membership=member,
                               role=data["role"], store=data["store"], employee_code=data["employee_code"])
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("The role of %(email)s was saved.") % {"email": member.user.email})
            return redirect("console:members")
    return render(request, "console/members/form.html", {
        "form": form, "member": member, "title": _("Change role of %(name)s") % {"name": member.user},
    })


def _set_active(request, member_id, active: bool):
    member = _member(request, member_id)
    try:
        member_set_active(workspace=request.workspace, actor=request.user, membership=member, active=active)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        text = _("%(email)s was reactivated.") if active else _("%(email)s was deactivated.")
        messages.success(request, text % {"email": member.user.email})
    return redirect("console:members")


@require_POST
@require(Permission.MEMBERS_MANAGE)
def member_deactivate(request, member_id):
    return _set_active(request, member_id, False)


@require_POST
@require(Permission.MEMBERS_MANAGE)
def member_reactivate(request, member_id):
    return _set_active(request, member_id, True)
