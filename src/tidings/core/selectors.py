"""Reads of core data."""

from django.db.models import QuerySet
from django.utils import timezone

from .models import ApiToken, AuditEntry, Membership, Store, User, WorkerHeartbeat, Workspace
from .permissions import Permission, permission_allowed


def member_can(membership: Membership | None, permission: Permission) -> bool:
    """The one question every console view and API route asks."""
    if membership is None or not membership.is_active:
        return False
    return permission_allowed(
        role=membership.role, enabled_modules=membership.workspace.enabled_modules, permission=permission
    )


def active_memberships(user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, is_active=True, workspace__isnull=False)
        .select_related("workspace", "store")
        .order_by("workspace__name")
    )


def current_membership(user: User) -> Membership | None:
    """The member's seat in the workspace they last used, or their first active one."""
    seats = active_memberships(user)
    if user.current_workspace_id:
        seat = seats.filter(workspace_id=user.current_workspace_id).first()
        if seat is not None:
            return seat
    return seats.first()


def workspace_by_slug(slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug).first()


def membership_by_email(workspace: Workspace, email: str) -> Membership | None:
    return (
        Membership.objects.for_workspace(workspace)
        .select_related("user", "store")
        .filter(user__email=email.strip().lower())
        .first()
    )


def members_list(workspace: Workspace, *, query: str = "", role: str = "", status: str = "") -> QuerySet[Membership]:
    members = Membership.objects.for_workspace(workspace).select_related("user", "store")
    if query:
        from django.db.models import Q

        members = members.filter(
            Q(user__email__icontains=query) | Q(user__name__icontains=query) | Q(employee_code__icontains=query)
        )
    if role:
        members = members.filter(role=role)
    if status == "active":
        members = members.filter(is_active=True)
    elif status == "inactive":
        members = members.filter(is_active=False)
    return members


def stores_list(workspace: Workspace) -> QuerySet[Store]:
    return Store.objects.for_workspace(workspace)


def api_tokens_list(workspace: Workspace) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_workspace(workspace).select_related("membership__user")


def audit_entries(workspace: Workspace, *, action_prefix: str = "") -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.for_workspace(workspace)
    if action_prefix:
        entries = entries.filter(action__startswith=action_prefix)
    return entries


def worker_heartbeat_age_seconds() -> float | None:
    latest = WorkerHeartbeat.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    if latest is None:
        return None
    return round((timezone.now() - latest).total_seconds(), 1)
