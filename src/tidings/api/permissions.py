"""Each route states the permission it needs once, with `@requires(...)` under the router decorator:

    @router.get("", response=MemberPage)
    @requires(Permission.MEMBERS_VIEW)
    def list_members(request, ...): ...

It answers 403 unless `member_can(request.membership, permission)`; `ANY_MEMBER` admits every active member.
The check runs twice over: `permission_gate` (installed on the whole API as a "view" decorator) asks before the
request body is validated, so a role that may not call a route gets 403 whatever it sent, and the wrapper
around the view asks again, so the view is safe even if mounted elsewhere. An authenticated route that declares
no permission is refused (fail closed).

The permission is kept on the view (`view.required_permission`), so `api_routes()` lists every route with its
permission - the permission-matrix tests are generated from that.
"""

import functools
import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _
from ninja.utils import normalize_path

from tidings.core.permissions import MODULE_OF, Permission
from tidings.core.selectors import member_can

from .errors import Forbidden

ANY_MEMBER = "any-member"  # a route every active member may call (e.g. GET /me)

PERMISSION_ATTR = "required_permission"

logger = logging.getLogger("tidings.api")


def forbidden_message(permission: Permission, workspace) -> str:
    module = MODULE_OF.get(permission)
    if module is not None and not workspace.has_module(module.value):
        return _("The %(module)s module is not enabled in this workspace.") % {"module": module.label}
    label = str(permission.label)
    return _("Your role may not %(action)s.") % {"action": label[:1].lower() + label[1:]}


def requires(permission: Permission | str):
    if permission != ANY_MEMBER and not isinstance(permission, Permission):
        raise TypeError(f"@requires takes a Permission or ANY_MEMBER, not {permission!r}")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            refusal = _refusal(permission, request.auth)
            if refusal is not None:
                raise refusal
            return view(request, *args, **kwargs)

        setattr(wrapper, PERMISSION_ATTR, permission)
        return wrapper

    return decorate


def _refusal(permission, token) -> Forbidden | None:
    membership = token.membership
    if permission == ANY_MEMBER:
        return None if membership.is_active else Forbidden(_("Your membership is not active."))
    if not member_can(membership, permission):
        return Forbidden(forbidden_message(permission, token.workspace))
    return None


def permission_gate(run):
    """API-wide "view" decorator: check the route's permission after authentication, before body validation."""
    operation = getattr(run, "__self__", None)
    if operation is None:  # not an Operation.run; nothing to gate
        return run

    @functools.wraps(run)
    def gated(request, *args, **kwargs):
        if operation.auth_callbacks:
            permission = getattr(operation.view_func, PERMISSION_ATTR, None)
            token = _authenticated_token(operation, request)
            if token is not None:
                if permission is None:
                    logger.error("API route %s declares no permission; refused", request.path)
                    refusal = Forbidden(_("This route declares no permission."))
                else:
                    refusal = _refusal(permission, token)
                if refusal is not None:
                    return operation.api.on_exception(request, refusal)
        return run(request, *args, **kwargs)

    return gated


def _authenticated_token(operation, request):
    """The token if one of the route's auth callbacks accepts the request (memoized per request), else None;
    the normal run then answers 401 itself."""
    for callback in operation.auth_callbacks:
        try:
            result = callback(request)
        except Exception:
            return None
        if result:
            return result
    return None


@dataclass(frozen=True)
class ApiRoute:
    method: str  # "GET", "POST", ...
    path: str  # "/api/v1/members/{member_id}", as in the OpenAPI document
    permission: Permission | str | None  # None: the route forgot @requires
    view: object
    authenticated: bool


def api_routes(api=None, prefix: str = "/api/v1/") -> list[ApiRoute]:
    """Every operation of the NinjaAPI with its method, full path and declared permission."""
    if api is None:
        from .api import api
    routes = []
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            full = normalize_path("/".join(p for p in (prefix.rstrip("/"), bound.prefix, path) if p))
            full = "/" + full.lstrip("/")
            if full != "/" and full.endswith("/") and not path.endswith("/"):
                full = full.rstrip("/")
            for operation in path_view.operations:
                for method in operation.methods:
                    routes.append(ApiRoute(
                        method=method.upper(),
                        path=full,
                        permission=getattr(operation.view_func, PERMISSION_ATTR, None),
                        view=operation.view_func,
                        authenticated=bool(operation.auth_callbacks),
                    ))
    return sorted(routes, key=lambda r: (r.path, r.method))
