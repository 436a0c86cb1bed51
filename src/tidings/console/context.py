"""Template context for every console page: navigation, workspace switcher and language choices."""

from django.conf import settings

from tidings.core.roles import Role
from tidings.core.selectors import active_memberships

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
    }
    if user is not None and user.is_authenticated:
        context["nav_groups"] = navigation(membership, url_name=url_name, slug=slug)
        context["seats"] = list(active_memberships(user)) if membership is not None else []
        context["role_label"] = Role(membership.role).label if membership is not None else ""
    return context
