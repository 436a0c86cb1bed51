"""View guards: every console page is behind login, and every permission check asks `member_can`."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.core.selectors import member_can


def require(permission: Permission):
    """Login required (anonymous → login page), then the member's permission (else 403)."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not member_can(request.membership, permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorate


def form_error(form, exc: ServiceError) -> None:
    """Show a refused write inline: on its field when the form has one, else at the top of the form."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))
