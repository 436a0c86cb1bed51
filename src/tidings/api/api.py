"""The public REST API, mounted at /api/v1/ (SPEC P5).

Assembled here: bearer-token auth for every route (`auth.py`), the JSON error shape (`errors.py`), offline docs
(`docs.py`) and one router per domain (`routers/`). A new domain adds a router module and one `add_router` line.
Each route declares its permission with `@requires` (`permissions.py`).
"""

import functools

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.urls import path, re_path, reverse
from ninja import NinjaAPI

from .auth import token_auth
from .docs import LocalSwagger, docs_asset
from .errors import error_response, install_error_handlers, not_found_view
from .permissions import permission_gate
from .routers import (
    billing,
    contacts,
    conversations,
    custom_attributes,
    events,
    me,
    members,
    messages,
    notifications,
    personas,
    sandbox,
    stores,
    timers,
    whatsapp_templates,
    workspace,
)


def _json_method_not_allowed(view):
    """ninja answers an unsupported method with a plain-text 405; answer our JSON error shape instead."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            response = error_response(405, _("Method not allowed. Allowed: %(methods)s") % {"methods": allowed})
            response["Allow"] = allowed
        return response

    return wrapped


def api_root(request):
    return JsonResponse({
        "name": api.title,
        "version": api.version,
        "openapi": reverse(f"{api.urls_namespace}:openapi-json"),
        "docs": reverse(f"{api.urls_namespace}:openapi-view"),
    })


class TidingsAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation):
        return operation.view_func.__name__

    def _get_urls(self):
        # The root answers JSON pointing at the docs (ninja's own root is a bare 404); it keeps its name, which
        # ninja reverses to know the API's path prefix.
        urls = [u for u in super()._get_urls() if getattr(u, "name", None) != "api-root"]
        for url in urls:
            url.callback = _json_method_not_allowed(url.callback)
        # The docs' assets, and JSON (not the console's HTML page) for unknown paths under /api/v1/.
        return [
            path("docs/assets/<str:name>", docs_asset, name="docs-asset"),
            *urls,
            path("", api_root, name="api-root"),
            re_path(r"^.+$", not_found_view, name="not-found"),
        ]


api = TidingsAPI(
    title="Tidings Open API",
    version="1",
    description=(
        "Authenticate with `Authorization: Bearer tid_...` (create a token with `tidings token create` or on the "
        "console's API tokens page). Errors are JSON: `{\"message\": ..., \"details\": [{\"field\", \"message\"}]}`. "
        "Lists take `limit` and `offset` and answer `{\"items\": [...], \"count\": n}`."
    ),
    urls_namespace="api",
    auth=token_auth,
    docs=LocalSwagger(),
)
install_error_handlers(api)
api.add_decorator(permission_gate, mode="view")

api.add_router("", me.router)
api.add_router("", workspace.router)
api.add_router("", members.router)
api.add_router("", stores.router)
api.add_router("", timers.router)
api.add_router("", sandbox.router)
api.add_router("", messages.router)
api.add_router("", personas.router)
api.add_router("", whatsapp_templates.router)
api.add_router("", contacts.router)
api.add_router("", custom_attributes.router)
api.add_router("", events.router)
api.add_router("", notifications.router)
api.add_router("", billing.router)
api.add_router("", conversations.router)
