"""The browser endpoints under /bind/v1/, called by the shop's pages (the tidings.js widget) from any origin.

JSON in, JSON out, no cookies: the workspace is named by its slug and the browser by its visitor id. Errors are
the API's shape, `{"message", "details": [{"field", "message"}]}`: 422 for bad input, 429 when rate-limited.
`line-link` also takes a plain HTML form post and then answers with a redirect to LINE's dialog. `phone/send` and
`phone/verify` are phone binding by SMS code (`phone_otp.py`); a refusal with a reason code (e.g.
`balance_below_grace`) carries it as `code` beside the message and in its detail.
"""

import json

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from tidings.core.errors import ServiceError
from tidings.core.selectors import workspace_by_slug
from tidings.core.throttle import rate_take

from .phone_otp import phone_code_send, phone_code_verify
from .phone_otp import sms_account as phone_sms_account
from .selectors import binding_methods, binding_settings_get, visitor_bound_channels, visitor_find
from .services import binding_line_link_begin, binding_start, binding_tracked

RATE_WINDOW = 600  # seconds
# Per browser address and workspace per window. Sending phone codes has its own limits (per phone and address,
# phone_otp); verifying is limited per code (5 tries), and here against hammering across codes.
RATE_LIMITS = {"start": 30, "line-link": 20, "tracked": 30, "phone-verify": 30}


class BadRequest(Exception):
    def __init__(self, status: int, message, field: str | None = None):
        super().__init__(str(message))
        self.status, self.message, self.field = status, str(message), field


def _cors(response):
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _error(status: int, message, field: str | None = None, code: str | None = None) -> JsonResponse:
    coded = {"code": code} if code and code != "invalid" else {}
    details = [{"field": field, "message": str(message), **coded}] if field else []
    return JsonResponse({"message": str(message), "details": details, **coded}, status=status)


def endpoint(*methods: str, rate: str | None = None):
    """CORS for any origin, a 204 preflight, the allowed methods, errors as JSON, an optional rate limit."""

    def wrap(view):
        @csrf_exempt
        @never_cache
        def wrapped(request):
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
            elif request.method not in methods:
                response = _error(405, _("Method not allowed. Allowed: %(methods)s") % {"methods": ", ".join(methods)})
                response["Allow"] = ", ".join(methods)
            else:
                try:
                    data = _input(request)
                    workspace = _workspace(data)
                    if rate and not rate_take(key=f"{rate}:{workspace.pk}:{request.META.get('REMOTE_ADDR', '')}",
                                              limit=RATE_LIMITS[rate], window=RATE_WINDOW):
                        raise BadRequest(429, _("Too many requests. Try again in a few minutes."))
                    response = view(request, workspace, data)
                except BadRequest as exc:
                    response = _error(exc.status, exc.message, exc.field)
                    if exc.status == 429:
                        response["Retry-After"] = str(RATE_WINDOW)
                except ServiceError as exc:
                    retry_after = getattr(exc, "retry_after", None)
                    response = _error(429 if retry_after else 422, exc.message, exc.field, exc.code)
                    if retry_after:
                        response["Retry-After"] = str(retry_after)
            return _cors(response)

        return wrapped

    return wrap


def _input(request) -> dict:
    """GET parameters, a JSON body (whatever the content type says: text/plain avoids a CORS preflight), or a
    form body."""
    if request.method == "GET":
        return request.GET.dict()
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.POST.dict()
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequest(400, _("The body is a JSON object."))
    return data


def _workspace(data: dict):
    slug = str(data.get("workspace") or "").strip()
    workspace = workspace_by_slug(slug) if slug else None
    if workspace is None:
        raise BadRequest(422, _("Unknown shop."), "workspace")
    return workspace


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _account_json(account) -> dict:
    return {"id": account.pk, "channel": account.channel, "name": account.name}


def _time(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@endpoint("POST", rate="start")
def start(request, workspace, data):
    """{workspace, visitor_id, member_id?, method, account?} → {method, code?, text?, url, expires_at, account}"""
    started = binding_start(workspace=workspace, method=_text(data, "method"), visitor_id=_text(data, "visitor_id"),
                            member_id=_text(data, "member_id"), account=data.get("account"))
    body = {"method": started.method, "url": started.url, "expires_at": _time(started.expires_at),
            "account": _account_json(started.account)}
    if started.code is not None:
        body.update(code=started.code, text=started.text)
    return JsonResponse(body)


@endpoint("GET")
def status(request, workspace, data):
    """?workspace=&visitor_id= → {bound, channels, methods: [{method, account}]} (polled while binding)."""
    visitor_id = _text(data, "visitor_id").strip()
    channels = visitor_bound_channels(workspace, visitor_find(workspace, visitor_id) if visitor_id else None)
    enabled = binding_settings_get(workspace).enabled
    methods = [{"method": method, "account": _account_json(account)}
               for method, account in (binding_methods(workspace) if enabled else [])]
    if enabled:
        try:
            methods.append({"method": "phone", "account": _account_json(phone_sms_account(workspace))})
        except ServiceError:
            pass  # no SMS account: no phone binding
    return JsonResponse({"bound": bool(channels), "channels": channels, "methods": methods})


@endpoint("POST", rate="line-link")
def line_link(request, workspace, data):
    """{workspace, link_token, member_id, visitor_id?} → {url, expires_at}; a form post → 303 to that url."""
    url, expires_at = binding_line_link_begin(
        workspace=workspace, link_token=_text(data, "link_token"), member_id=_text(data, "member_id"),
        visitor_id=_text(data, "visitor_id"))
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return HttpResponseRedirect(url, status=303)
    return JsonResponse({"url": url, "expires_at": _time(expires_at)})


@endpoint("POST", rate="tracked")
def tracked(request, workspace, data):
    """{workspace, visitor_id, tid} → {bound: true, channels} (the tid from a tracked link's `_tid`)."""
    outcome = binding_tracked(workspace=workspace, visitor_id=_text(data, "visitor_id"), tid=_text(data, "tid"))
    channels = visitor_bound_channels(workspace, outcome.binding.visitor)
    return JsonResponse({"bound": True, "channels": channels})


@endpoint("POST")
def phone_send(request, workspace, data):
    """{workspace, visitor_id, phone} → {phone, expires_at, resend_after}: a code texted to the phone (the same
    answer whether or not the shop knows it). Limited per phone and per address (429 with Retry-After)."""
    sent = phone_code_send(workspace=workspace, visitor_id=_text(data, "visitor_id"), phone=_text(data, "phone"),
                           address=request.META.get("REMOTE_ADDR", ""))
    return JsonResponse({"phone": sent.phone, "expires_at": _time(sent.expires_at),
                         "resend_after": sent.resend_after})


@endpoint("POST", rate="phone-verify")
def phone_verify(request, workspace, data):
    """{workspace, visitor_id, phone, code} → {bound: true, channels}: the phone is verified and this browser bound
    to its customer."""
    outcome = phone_code_verify(workspace=workspace, visitor_id=_text(data, "visitor_id"),
                                phone=_text(data, "phone"), code=_text(data, "code"))
    return JsonResponse({"bound": True, "channels": visitor_bound_channels(workspace, outcome.binding.visitor)})
