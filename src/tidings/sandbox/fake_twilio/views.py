"""HTTP face of the fake Twilio: Basic auth, form parsing, the request log and Twilio's JSON answers. The rules are
in services.py."""

import base64
import binascii

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tidings.channels.models import AccountMode, ChannelAccount

from ..services import sandbox_fault_take, sandbox_request_record
from .services import (
    PROVIDER, TwilioError, authenticate, fake_message_create, fake_message_get, fake_messages_list, message_path,
    messages_path, validate_create,
)


def _basic_auth(request) -> tuple[str | None, str | None]:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        username, _, password = base64.b64decode(value).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return username, password


def _fields(querydict) -> dict:
    return {k: (v[0] if len(v) == 1 else v) for k, v in querydict.lists()}


def _handle(request, public_id, account_sid: str, path: str, work):
    """Authenticate, apply an injected fault, run `work(account)` -> (status, body); log and answer it."""
    account = ChannelAccount.objects.filter(public_id=public_id, channel="sms", mode=AccountMode.SANDBOX).first()
    workspace = account.workspace if account else None
    body = _fields(request.POST) if request.method == "POST" else None
    record = {"method": request.method, "path": path, "query": _fields(request.GET), "headers": dict(request.headers)}
    try:
        authenticate(account, account_sid, *_basic_auth(request))
        fault = sandbox_fault_take(account=account, method=request.method, path=path)
        if fault is not None and not fault.after_processing:
            code = 20429 if fault.status == 429 else 20500
            raise TwilioError(fault.status, code, "Too Many Requests" if fault.status == 429 else "Internal Server Error")
        status, answer, logged = work(account, workspace, body, record)
        if fault is not None:  # done, but the answer is lost on the way back (the log keeps what Twilio did)
            return JsonResponse(TwilioError(fault.status, 20500, "Internal Server Error").body(), status=fault.status)
    except TwilioError as exc:
        status, answer, logged = exc.status, exc.body(), False
    if not logged:
        sandbox_request_record(workspace=workspace, account=account, provider=PROVIDER, body=body,
                               response_status=status, response_body=answer, **record)
    return JsonResponse(answer, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def messages(request, public_id, account_sid):
    def create(account, workspace, body, record):
        validate_create(account, body)
        resource, _logged = fake_message_create(workspace=workspace, account=account, fields=body, record=record)
        return 201, resource, True

    def listing(account, workspace, body, record):
        return 200, fake_messages_list(account=account, query=record["query"]), False

    return _handle(request, public_id, account_sid, messages_path(account_sid),
                   create if request.method == "POST" else listing)


@csrf_exempt
@require_http_methods(["GET"])
def message(request, public_id, account_sid, sid):
    def fetch(account, workspace, body, record):
        return 200, fake_message_get(account=account, sid=sid), False

    return _handle(request, public_id, account_sid, message_path(account_sid, sid), fetch)
