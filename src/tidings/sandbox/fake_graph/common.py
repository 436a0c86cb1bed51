"""What the fake WhatsApp, Messenger and Instagram APIs share: Meta's Graph API envelope and its signed webhooks.

A sandbox account's base_url is `{BASE_URL}/sandbox/graph/<public_id>`, so the paths under it are Graph's own
(`/v23.0/<phone-number-id>/messages`, `/v23.0/<page-id>/messages`, `/v23.0/<waba-id>/message_templates`).

Order of checks, as a Graph client sees them: unknown account → 404; bearer token → 401 (code 190); an injected
fault (SandboxFault, by method and path); the endpoint's rate limit → its error; JSON body → 400 (code 100); then
the endpoint itself. Every request is logged as a SandboxRequest with the channel as its provider.
"""

import datetime
import hmac
import json
import secrets
from dataclasses import dataclass, field

from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tidings.channels.http import http_client
from tidings.channels.meta import signature_header
from tidings.channels.models import ChannelAccount
from tidings.channels.services import account_webhook_url
from tidings.core import clock
from tidings.timers.services import timer_schedule

from ..models import SandboxDelivery
from ..services import sandbox_deliveries_record, sandbox_fault_take, sandbox_rate_count, sandbox_request_record

WEBHOOK_TIMER = "sandbox.graph_webhook"


@dataclass
class Answer:
    """What a fake Graph endpoint answers, the deliveries it made and the webhooks it schedules."""

    status: int
    body: dict
    deliveries: list[SandboxDelivery] = field(default_factory=list)
    # (webhook body, delay) pairs: sent signed to the account's webhook URL after the delay, as durable timers.
    webhooks: list[tuple[dict, datetime.timedelta]] = field(default_factory=list)
    # (WhatsApp `statuses[]` items, delay) pairs: reported after the delay, batched with others (status_batches.py).
    statuses: list[tuple[list[dict], datetime.timedelta]] = field(default_factory=list)


def fbtrace_id() -> str:
    return secrets.token_urlsafe(8)


def graph_error(status: int, message: str, *, code: int, type_: str = "OAuthException", subcode: int | None = None,
                details: str | None = None, **extra) -> Answer:
    """Graph's error envelope; `details` goes to error_data.details as WhatsApp puts it."""
    error = {"message": message, "type": type_, "code": code, "fbtrace_id": fbtrace_id()}
    if subcode is not None:
        error["error_subcode"] = subcode
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error.update(extra)
    return Answer(status, {"error": error})


def invalid_parameter(details: str, *, message: str = "(#100) Invalid parameter") -> Answer:
    return graph_error(400, message, code=100, details=details)


AUTH_FAILED = ("Invalid OAuth access token - Cannot parse access token", 190)
FAULT_MESSAGES = {
    429: ("(#4) Application request limit reached", 4),
    500: ("An unexpected error has occurred. Please retry your request later.", 2),
    502: ("An unexpected error has occurred. Please retry your request later.", 2),
    503: ("Service temporarily unavailable", 2),
}


def _authorized(request, account) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = account.credentials.get("access_token", "")
    return scheme.lower() == "bearer" and bool(token) and bool(expected) and hmac.compare_digest(token, expected)


def graph_account(public_id) -> ChannelAccount | None:
    return (ChannelAccount.objects.select_related("workspace")
            .filter(public_id=public_id, mode="sandbox", channel__in=("whatsapp", "messenger", "instagram")).first())


def _respond(answer: Answer) -> JsonResponse:
    return JsonResponse(answer.body, status=answer.status, json_dumps_params={"ensure_ascii": False})


_LOOK_UP = object()


def graph_endpoint(name: str, method: str, *, channels: tuple[str, ...], rate_limit: int | None = None,
                   throttle=None, body: bool = False):
    """Wrap `handler(account, request, body, **path_kwargs) -> Answer` in the Graph envelope described above.

    `rate_limit` is requests per second per account for this endpoint; above it the fake answers Graph's
    throttling error. `throttle(account) -> Answer | None` is an endpoint's own limit (WhatsApp's 130429). Both
    count outside the handler's transaction: the per-second counter row is shared by every request, and holding
    its lock until the handler commits made requests queue behind each other.
    """

    def wrap(handler):
        @csrf_exempt
        def view(request, public_id, *, account=_LOOK_UP, **kwargs):
            # A caller that already looked the account up (routing, for paths the products share) passes it.
            account = graph_account(public_id) if account is _LOOK_UP else account
            path = request.path.split(str(public_id), 1)[1] or "/"
            raw = None
            if body and request.body:
                try:
                    raw = json.loads(request.body)
                except json.JSONDecodeError:
                    raw = request.body.decode(errors="replace")[:2000]

            def finish(answer: Answer) -> JsonResponse:
                with transaction.atomic():
                    record = sandbox_request_record(
                        workspace=account.workspace if account else None, account=account,
                        provider=account.channel if account else "graph", method=request.method, path=path,
                        query=request.GET.dict(), headers=request.headers, body=raw,
                        response_status=answer.status, response_body=answer.body,
                    )
                    if answer.deliveries:
                        for delivery in answer.deliveries:
                            delivery.request_id = record.pk
                        sandbox_deliveries_record(workspace=account.workspace, deliveries=answer.deliveries)
                    for webhook, delay in answer.webhooks:
                        graph_webhook_schedule(account, webhook, delay=delay)
                    if answer.statuses:
                        from .status_batches import statuses_queue

                        statuses_queue(account, answer.statuses)
                return _respond(answer)

            if account is None or account.channel not in channels:
                return finish(graph_error(404, "Unsupported request - method type: "
                                          f"{request.method.lower()}", code=100, type_="GraphMethodException"))
            if not _authorized(request, account):
                return finish(graph_error(401, AUTH_FAILED[0], code=AUTH_FAILED[1]))
            if request.method != method:
                return finish(graph_error(400, f"Unsupported {request.method.lower()} request.", code=100,
                                          type_="GraphMethodException"))
            fault = sandbox_fault_take(account=account, method=method, path=path)
            if fault is not None and not fault.after_processing:
                message, code = FAULT_MESSAGES.get(fault.status, ("An unknown error occurred", 1))
                return finish(graph_error(fault.status, message, code=code))
            if rate_limit and sandbox_rate_count(key=f"sandbox:graph:{account.pk}:{name}") > rate_limit:
                return finish(graph_error(429, "(#4) Application request limit reached", code=4))
            throttled = throttle(account) if throttle is not None else None
            if throttled is not None:
                return finish(throttled)
            if body and not isinstance(raw, dict):
                return finish(invalid_parameter("The request body must be a JSON object."))
            with transaction.atomic():
                answer = handler(account, request, raw if body else None, **kwargs)
                if fault is not None:  # the work is done; the answer is lost on the way back
                    message, code = FAULT_MESSAGES.get(fault.status, ("An unknown error occurred", 1))
                    lost = graph_error(fault.status, message, code=code)
                    answer = Answer(lost.status, lost.body, deliveries=answer.deliveries, webhooks=answer.webhooks,
                                    statuses=answer.statuses)
                return finish(answer)

        return view

    return wrap


# --- webhooks back to Tidings ---------------------------------------------------------------------------------------


class GraphWebhookFailed(Exception):
    pass


def graph_webhook_send(account: ChannelAccount, payload: dict):
    """POST one webhook body, signed X-Hub-Signature-256 with the account's app secret; returns the response."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature-256": signature_header(account.credentials["app_secret"], raw),
    }
    with http_client() as client:
        return client.post(account_webhook_url(account), content=raw, headers=headers)


def graph_webhook_schedule(account: ChannelAccount, payload: dict, *, delay: datetime.timedelta):
    """Send the body after `delay` on the workspace clock, as a durable timer (retried until Tidings says 2xx)."""
    due = clock.now(account.workspace) + delay
    return timer_schedule(
        workspace=account.workspace, kind=WEBHOOK_TIMER, key=f"{WEBHOOK_TIMER}:{secrets.token_hex(12)}",
        due_at=due, payload={"account_id": account.pk, "body": payload},
    )


def graph_webhook_fire(timer) -> None:
    account = ChannelAccount.objects.select_related("workspace").filter(pk=timer.payload["account_id"]).first()
    if account is None or not account.is_active:
        return
    response = graph_webhook_send(account, timer.payload["body"])
    if not 200 <= response.status_code < 300:
        raise GraphWebhookFailed(f"webhook answered {response.status_code}")


def epoch(account: ChannelAccount, delay: datetime.timedelta = datetime.timedelta(0)) -> int:
    """Graph timestamps are epoch seconds (WhatsApp sends them as strings, Messenger `time` in ms)."""
    return int((clock.now(account.workspace) + delay).timestamp())
