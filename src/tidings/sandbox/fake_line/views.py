"""HTTP face of the fake LINE Messaging API at `{BASE_URL}/sandbox/line/<public_id>/…` (a sandbox account's
base_url): LINE's paths, auth, rate limits and error bodies; every request logged as a `SandboxRequest`.

Order of checks, as a client of LINE sees them: unknown account → 404; bearer token → 401; an injected fault;
the endpoint's rate limit → 429; JSON body → 400/415; then the endpoint itself (services.py).
"""

import hmac
import json
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from ..selectors import sandbox_account_by_public_id
from ..services import sandbox_deliveries_record, sandbox_fault_take, sandbox_rate_count, sandbox_request_record
from . import services as api
from .ids import request_id as new_request_id
from .webhooks import line_webhook_schedule

logger = logging.getLogger(__name__)

AUTH_FAILED = {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."}
RATE_LIMITED = {"message": "The API rate limit has been exceeded. Try again later."}
FAULT_BODIES = {
    429: RATE_LIMITED,
    500: {"message": "Internal server error"},
    502: {"message": "Bad gateway"},
    503: {"message": "Service unavailable"},
}
# Requests per second per account and endpoint, LINE's figures (reference: rate limits).
RATE_LIMITS = {"push": 2000, "multicast": 200, "reply": 2000, "pnp": 2000, "profile": 2000, "link_token": 2000,
               "aggregation": 2000}


def _json_body(request):
    """(body, error Answer). LINE wants application/json on endpoints with a body."""
    content_type = request.content_type or ""
    if content_type != "application/json":
        return None, api.Answer(415, {"message": f"The content type, {content_type or 'none'}, is not supported"})
    try:
        body = json.loads(request.body or b"null")
    except json.JSONDecodeError as exc:
        return None, api.Answer(400, {
            "message": f"The request body could not be parsed as JSON (line: {exc.lineno}, column: {exc.colno})"})
    if not isinstance(body, dict):
        return None, api.Answer(400, {"message": "The request body could not be parsed as JSON (line: 1, column: 1)"})
    return body, None


def _respond(answer, rid: str) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status, safe=False, json_dumps_params={"ensure_ascii": False})
    response["X-Line-Request-Id"] = rid
    for name, value in answer.headers.items():
        response[name] = value
    return response


def _authorized(request, account) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = account.credentials.get("access_token", "")
    return scheme.lower() == "bearer" and bool(token) and bool(expected) and hmac.compare_digest(token, expected)


def endpoint(name: str, method: str, *, body: bool = False, reads_only: bool = False):
    """Wrap an endpoint handler `handler(account, request, body, **path_kwargs) -> Answer` with LINE's envelope.

    The request, its deliveries and webhooks, and an accepted retry key are recorded in one transaction. A handler
    that writes runs inside it; a `reads_only` one runs before it, so on SQLite the write lock is held for the
    writes alone: a 500-recipient multicast looked its recipients up and built their rows while holding it, and
    that serialised a fan-out's every request behind the fake."""

    def wrap(handler):
        @csrf_exempt
        def view(request, public_id, **kwargs):
            rid = new_request_id()
            path = request.path.split(str(public_id), 1)[1] or "/"
            account = sandbox_account_by_public_id(public_id, "line")
            parsed = None
            log = {"method": request.method, "path": path, "query": request.GET.dict(), "headers": request.headers}

            def finish(answer, *, record_body=None, lost_to=None):
                """Record `answer` and respond with it, or with `lost_to`: an injected fault that loses the answer
                on the way back, after the work is done."""
                with transaction.atomic():
                    if answer.retry_key:
                        answer = api.line_retry_key_claim(account, answer, rid)
                    shown = lost_to or answer
                    record = sandbox_request_record(
                        workspace=account.workspace if account else None, account=account, provider="line",
                        body=record_body, response_status=shown.status, response_body=shown.body, **log,
                    )
                    if answer.deliveries:
                        for delivery in answer.deliveries:
                            delivery.request_id = record.pk
                        sandbox_deliveries_record(workspace=account.workspace, deliveries=answer.deliveries)
                    for events, delay in answer.webhooks:
                        line_webhook_schedule(account, events, delay=delay)
                return _respond(shown, rid)

            if account is None:
                return finish(api.Answer(404, dict(api.NOT_FOUND)))
            if body and request.method == method:
                parsed, bad = _json_body(request)
                raw = parsed
                if bad:
                    raw = request.body.decode(errors="replace")[:2000]
            else:
                raw, bad = None, None
            if not _authorized(request, account):
                return finish(api.Answer(401, dict(AUTH_FAILED)), record_body=raw)
            if request.method != method:
                return finish(api.Answer(405, {"message": "Method Not Allowed"}), record_body=raw)
            fault = sandbox_fault_take(account=account, method=method, path=path)
            fault_answer = None
            if fault is not None:
                fault_answer = api.Answer(fault.status, dict(FAULT_BODIES.get(fault.status, {"message": "Error"})))
                if not fault.after_processing:
                    return finish(fault_answer, record_body=raw)
            answer, lost_to = None, fault_answer
            if bad:
                answer, lost_to = bad, None
            elif reads_only:
                answer = handler(account, request, parsed, rid, **kwargs)
            # Counting the request against the rate limit, a writing handler and the record share one transaction:
            # on SQLite each transaction queues for the one write lock, and every request of a fan-out passes here.
            with transaction.atomic():
                if sandbox_rate_count(key=f"sandbox:line:{account.pk}:{name}") > RATE_LIMITS.get(name, 2000):
                    return finish(api.Answer(429, dict(RATE_LIMITED)), record_body=raw)
                if answer is None:
                    answer = handler(account, request, parsed, rid, **kwargs)
                return finish(answer, record_body=raw, lost_to=lost_to)

        return view

    return wrap


@endpoint("push", "POST", body=True, reads_only=True)
def push(account, request, body, rid):
    return api.line_api_push(account, body, request.headers)


@endpoint("multicast", "POST", body=True, reads_only=True)
def multicast(account, request, body, rid):
    return api.line_api_multicast(account, body, request.headers)


@endpoint("reply", "POST", body=True)
def reply(account, request, body, rid):
    return api.line_api_reply(account, body, request.headers)


@endpoint("pnp", "POST", body=True, reads_only=True)
def pnp_push(account, request, body, rid):
    return api.line_api_pnp_push(account, body, request.headers)


@endpoint("profile", "GET", reads_only=True)
def profile(account, request, body, rid, user_id):
    return api.line_api_profile(account, user_id)


@endpoint("link_token", "POST")
def link_token(account, request, body, rid, user_id):
    return api.line_api_link_token(account, user_id)


@endpoint("aggregation", "GET", reads_only=True)
def aggregation_info(account, request, body, rid):
    return api.line_api_aggregation_info(account)


@endpoint("aggregation", "GET", reads_only=True)
def aggregation_list(account, request, body, rid):
    return api.line_api_aggregation_list(account, request.GET)


@endpoint("insight", "GET", reads_only=True)
def unit_statistics(account, request, body, rid):
    return api.line_api_unit_statistics(account, request.GET)


@csrf_exempt
def unknown(request, public_id, rest=""):
    """Paths the fake does not implement answer LINE's 404, and are logged like the rest."""
    try:
        account = sandbox_account_by_public_id(public_id, "line")
    except ValidationError:
        account = None
    answer = api.Answer(404, dict(api.NOT_FOUND))
    sandbox_request_record(
        workspace=account.workspace if account else None, account=account, provider="line", method=request.method,
        path="/" + rest, query=request.GET.dict(), headers=request.headers, body=None, response_status=404,
        response_body=answer.body,
    )
    return _respond(answer, new_request_id())
