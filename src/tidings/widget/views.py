"""The storefront script and its collection endpoint (SPEC D5), both called from shops' own sites.

- `GET /widget/v1/tidings.js`: the script, with caching headers (ETag, an hour in caches) and CORS.
- `POST /widget/v1/collect`: `{workspace, visitor_id, identify?, events: [...], sent_at?}` from the script.
  CORS for any origin (no cookies: the visitor id travels in the body), a JSON body sent as `text/plain` too
  (sendBeacon and "simple" fetches cannot set application/json without a preflight). Answers 200
  `{"stored", "duplicates"}`, or 422 with `details` naming each bad item (`events.3.type`) — the good items of that
  request are stored all the same (`stored` says how many). 400 for a body that is not JSON, 404 for an unknown
  workspace, 413 over 256 KB, 429 (with Retry-After) past COLLECT_LIMIT requests a minute from one address to one
  workspace: the endpoint is open to anyone who knows a slug, and the script keeps a refused batch to send later.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tidings.contacts.tracking import events_collect
from tidings.core.errors import ServiceError
from tidings.core.selectors import workspace_by_slug
from tidings.core.throttle import rate_take

SCRIPT = Path(__file__).parent / "templates" / "widget" / "tidings.js"
MAX_BODY = 256 * 1024
# Requests per minute from one address to one workspace. The script batches a page's events into a request every
# few seconds, so this leaves room for many visitors behind one carrier-grade NAT and stops a flood.
COLLECT_LIMIT = 1200
COLLECT_WINDOW = 60  # seconds
SCRIPT_MAX_AGE = 3600


def _strings() -> dict:
    """The binding dialogs' words in each console language, from the translation catalogs."""
    out = {}
    for code in ("en", "zh-hant", "zh-hans"):
        with translation.override(code):
            out[code] = {
                "title": _("Link your chat account"),
                "starting": _("Preparing your code…"),
                "send_code": _("Send this code to us in the chat:"),
                "open_chat": _("Open the chat and send the message we prepared:"),
                "open": _("Open the chat"),
                "waiting": _("Waiting for your message…"),
                "bound": _("Linked. Thank you!"),
                "expired": _("This code has expired. Close and try again."),
                "failed": _("Linking is not available right now."),
                "close": _("Close"),
                "qr": _("QR code: scan it with your phone"),
                # Binding by phone (an SMS code).
                "phone_title": _("Verify your mobile number"),
                "phone_hint": _("We will text a 6-digit code to your mobile number."),
                "phone_label": _("Mobile number"),
                "send": _("Text me a code"),
                "sending": _("Sending…"),
                "code_sent": _("Enter the 6-digit code we texted to {phone}."),
                "code_label": _("6-digit code"),
                "verify": _("Verify"),
                "checking": _("Checking…"),
                "resend": _("Send a new code"),
                "change": _("Use another number"),
                "phone_bound": _("Your number is verified. Thank you!"),
            }
    return out


@lru_cache(maxsize=1)
def _script() -> tuple[bytes, str]:
    source = SCRIPT.read_text(encoding="utf-8")
    source = source.replace("/*@STRINGS@*/{}", json.dumps(_strings(), ensure_ascii=False))
    # A fallback for loaders that hide document.currentScript; the script prefers the address it came from.
    source = source.replace("/*@BASE@*/''", json.dumps(settings.BASE_URL))
    body = source.encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _cors(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    return response


@require_http_methods(["GET", "HEAD"])
def script(request: HttpRequest) -> HttpResponse:
    body, etag = _script()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["ETag"] = etag
    # Short enough that a new release reaches shops within the hour; revalidation is one cheap 304.
    response["Cache-Control"] = f"public, max-age={SCRIPT_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _error(status: int, message, details=None, **extra) -> JsonResponse:
    return JsonResponse({"message": str(message), "details": details or [], **extra}, status=status)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def collect(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), request)
    return _cors(_collect(request), request)


def _collect(request: HttpRequest) -> HttpResponse:
    if len(request.body) > MAX_BODY:
        return _error(413, _("At most %(n)d KB per request.") % {"n": MAX_BODY // 1024})
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return _error(400, _("The body is not JSON."))
    if not isinstance(data, dict):
        return _error(400, _("The body is a JSON object: {workspace, visitor_id, events}."))
    slug = data.get("workspace")
    workspace = workspace_by_slug(slug) if isinstance(slug, str) and slug else None
    if workspace is None:
        return _error(404, _("No such workspace."), [{"field": "workspace", "message": _("No such workspace.")}])
    if not rate_take(key=f"widget-collect:{workspace.pk}:{request.META.get('REMOTE_ADDR', '')}",
                     limit=COLLECT_LIMIT, window=COLLECT_WINDOW):
        response = _error(429, _("Too many requests. Try again in a minute."))
        response["Retry-After"] = str(COLLECT_WINDOW)
        return response
    try:
        result = events_collect(workspace=workspace, visitor_id=data.get("visitor_id"),
                                events=data.get("events") or [], identify=data.get("identify"),
                                sent_at=data.get("sent_at"))
    except ServiceError as exc:
        return _error(422, exc.message, [{"field": exc.field or "body", "message": str(exc.message)}], stored=0)
    if result.errors:
        details = [{"field": field, "message": message} for field, message in result.errors]
        return _error(422, _("Some items were refused; the others were stored."), details,
                      stored=result.stored, duplicates=result.duplicates)
    return JsonResponse({"stored": result.stored, "duplicates": result.duplicates})
