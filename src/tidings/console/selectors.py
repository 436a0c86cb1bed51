"""Reads the console needs beyond core's selectors."""

from django.db.models import Count, Q

from tidings.core.models import Membership, Workspace
from tidings.core.roles import Role


def member_counts(workspace: Workspace) -> dict:
    """Totals for the members page: all, active, inactive, and active seats per role."""
    seats = Membership.objects.for_workspace(workspace)
    totals = seats.aggregate(total=Count("id"), active=Count("id", filter=Q(is_active=True)))
    per_role = dict(seats.filter(is_active=True).values_list("role").annotate(n=Count("id")))
    return {
        "total": totals["total"],
        "active": totals["active"],
        "inactive": totals["total"] - totals["active"],
        "roles": [(role.value, role.label, per_role.get(role.value, 0)) for role in Role],
    }


def workspace_overview(workspace: Workspace) -> dict:
    """What the home page summarises."""
    return {
        "members": Membership.objects.for_workspace(workspace).filter(is_active=True).count(),
        "stores": workspace.stores.count(),
        "tokens": workspace.api_tokens.filter(revoked_at__isnull=True).count(),
    }
