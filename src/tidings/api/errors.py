"""Every API error is JSON of one shape: ``{"message": "...", "details": [{"field": "...", "message": "..."}]}``.

`install_error_handlers(api)` maps what can go wrong onto it:

- ninja request validation (bad types, too long, missing fields) -> 422, one detail per field (dotted path);
- `tidings.core.errors.ServiceError` (a refused write) -> 422 with its `field`; its `NotFound` subclass -> 404;
- no, bad or revoked token -> 401; a role without the route's permission -> 403;
- `Http404` / an unknown path -> 404 ``{"message": "Not found"}``; anything else -> logged, 500.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from tidings.core.errors import NotFound, ServiceError

logger = logging.getLogger("tidings.api")


class ErrorDetail(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    message: str
    details: list[ErrorDetail] = []


class ApiError(Exception):
    """Raise from a route to answer `status` with the standard error body."""

    def __init__(self, status: int, message, details: list[dict] | None = None):
        super().__init__(str(message))
        self.status = status
        self.message = str(message)
        self.details = details or []


class Forbidden(ApiError):
    def __init__(self, message):
        super().__init__(403, message)


class ObjectNotFound(ApiError):
    def __init__(self, message=None):
        super().__init__(404, message or _("Not found"))


def error_body(message, details: list[dict] | None = None) -> dict:
    return {"message": str(message), "details": details or []}


def error_response(status: int, message, details: list[dict] | None = None) -> JsonResponse:
    return JsonResponse(error_body(message, details), status=status)


# Error responses every authenticated route may give, for the OpenAPI document.
COMMON_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _field_path(loc: tuple) -> str:
    """("body", "payload", "email") -> "email"; ("query", "limit") -> "limit"; ("body", "payload", "modules", 0) ->
    "modules.0". The first element is the source; a body's second is the name of the route's body argument."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        source = parts.pop(0)
        if source == "body" and len(parts) > 1:
            parts.pop(0)
    return ".".join(str(p) for p in parts) or "body"


def _validation_message(error: dict) -> str:
    message = error.get("msg", "Invalid value")
    # pydantic prefixes messages raised by our own validators with "Value error, ".
    return message.removeprefix("Value error, ")


def install_error_handlers(api) -> None:
    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = [{"field": _field_path(tuple(e.get("loc", ()))), "message": _validation_message(e)} for e in exc.errors]
        return error_response(422, _("The request is not valid."), details)

    def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
        status = 404 if isinstance(exc, NotFound) else 422
        details = [{"field": exc.field, "message": str(exc.message)}] if exc.field else []
        return error_response(status, exc.message, details)

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(exc.status, exc.message, exc.details)

    def on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = error_response(401, _("Authentication required: send a valid token as 'Authorization: Bearer tid_…'."))
        response["WWW-Authenticate"] = 'Bearer realm="tidings"'
        return response

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return error_response(exc.status_code, exc.message)

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, _("Not found"))

    def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return error_response(403, str(exc) or _("You may not do this."))

    def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled error in API %s %s", request.method, request.path)
        return error_response(500, _("Something went wrong on our side. It has been logged."))

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(ServiceError, on_service_error)
    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(PermissionDenied, on_permission_denied)
    api.add_exception_handler(Exception, on_unexpected)


def not_found_view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """Catch-all for unknown paths under /api/v1/, so they too answer JSON."""
    return error_response(404, _("Not found"))
