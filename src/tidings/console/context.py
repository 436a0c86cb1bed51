"""Template context for every console page: navigation, workspace switcher and language choices."""

from django.conf import settings

from tidings.billing.selectors import low_balance_warning
from tidings.core.permissions import Permission
from tidings.core.roles import Role
from tidings.core.selectors import active_memberships, member_can

from .navigation import navigation


def console(request):
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    url_name = f"{match.namespace}:{match.url_name}" if match and match.namespace else ""
    slug = match.kwargs.get("slug", "") if match else ""
    context = {
        "languages": settings.LANGUAGES,
        "current_membership": membership,
        "current_workspace": getattr(request, "workspace", None),
        "file_retention_days": settings.FILE_RETENTION_DAYS,  # exports and imports say how long files are kept
    }
    if user is not None and user.is_authenticated:
        context["nav_groups"] = navigation(membership, url_name=url_name, slug=slug)
        context["seats"] = list(active_memberships(user)) if membership is not None else []
        context["role_label"] = Role(membership.role).label if membership is not None else ""
        if membership is not None:
            # The low-balance bar: amounts and the link for those who may see billing; those running features that
            # send SMS (notifications, phone binding) only learn that SMS is paused, not the balance; others nothing.
            sees_billing = member_can(membership, Permission.BILLING_VIEW)
            if sees_billing or member_can(membership, Permission.NOTIFICATIONS_MANAGE) or member_can(
                    membership, Permission.SOCIAL_BINDING_MANAGE):
                context["billing_warning"] = low_balance_warning(membership.workspace, detailed=sees_billing)
                context["billing_warning_link"] = sees_billing
    return context
