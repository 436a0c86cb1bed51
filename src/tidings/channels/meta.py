"""What WhatsApp, Messenger and Instagram share: Meta's Graph API and its webhooks (reference/meta/NOTES.md).

- Webhooks are signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` and verified once with
  `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` (echo the challenge when the token matches).
- Sends are `POST {base}/{GRAPH_VERSION}/{id}/messages` with a bearer token; errors come as
  `{"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}`.

Graph sends carry no idempotency key: a request whose answer was lost cannot be repeated safely. Adapters built on
this module therefore say `resend_safe() → False`, and the pipeline fails such a dispatch as "outcome unknown"
instead of risking a double send (docs/modules/channels.md).
"""

import hashlib
import hmac

import httpx
from django.http import HttpResponse

from .events import SendResult
from .http import http_client

GRAPH_VERSION = "v23.0"
OUTCOME_UNKNOWN = "outcome unknown: the request may have reached Meta; not resent to avoid a duplicate"
GRAPH_BASE_URL = "https://graph.facebook.com"

# Graph error codes worth trying again later: throttling (4, 17, 32, 613, 80007, 130429 throughput, 131056 pair
# rate) and Meta-side trouble (1, 2, 131000 "something went wrong", 131016 service unavailable).
RETRY_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131056})
# Rate errors: back off at least this long (WhatsApp's pair limit is one message per 6 s to the same user).
RATE_BACKOFF = {130429: 1.0, 131056: 6.0, 4: 60.0, 17: 60.0, 32: 60.0, 613: 60.0, 80007: 60.0}


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def signature_header(app_secret: str, body: bytes) -> str:
    """What Meta puts in X-Hub-Signature-256 (the sandbox signs its webhooks with this)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(account, request, body: bytes) -> bool:
    return signature_valid(account.credentials.get("app_secret", ""), body,
                           request.headers.get("X-Hub-Signature-256"))


def handshake(account, request) -> HttpResponse:
    """Meta's subscription check: echo hub.challenge when hub.verify_token is this account's; else 403."""
    params = request.GET
    token = account.credentials.get("verify_token", "")
    if params.get("hub.mode") == "subscribe" and token and hmac.compare_digest(
        params.get("hub.verify_token", ""), token
    ):
        return HttpResponse(params.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponse("Verification token mismatch", status=403, content_type="text/plain")


def graph_url(account, *parts: str) -> str:
    return "/".join([account.base_url.rstrip("/"), GRAPH_VERSION, *[p.strip("/") for p in parts]])


def _headers(account) -> dict:
    return {"Authorization": f"Bearer {account.credentials.get('access_token', '')}"}


def graph_error(response: httpx.Response) -> dict:
    """The Graph error object of a failed response, as we keep it on a message: status, code, message…"""
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    out = {"status": response.status_code, "message": str(error.get("message") or response.reason_phrase or "")}
    for key in ("code", "error_subcode", "type", "error_data", "fbtrace_id"):
        if error.get(key) not in (None, ""):
            out[key] = error[key]
    return out


def send_result(response: httpx.Response, id_of) -> SendResult:
    """Map a Graph send response; `id_of(body) -> list[str]` picks the provider message ids out of a 2xx body."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            body = response.json()
        except ValueError:
            body = {}
        return SendResult(outcome="sent", provider_message_ids=id_of(body if isinstance(body, dict) else {}),
                          http_status=status)
    error = graph_error(response)
    code = error.get("code")
    if status == 429 or status >= 500 or code in RETRY_CODES:
        retry_after = RATE_BACKOFF.get(code)
        header = response.headers.get("retry-after")
        if header and header.replace(".", "", 1).isdigit():
            retry_after = max(retry_after or 0.0, float(header))
        return SendResult(outcome="retry", error=error, retry_after=retry_after, http_status=status)
    return SendResult(outcome="failed", error=error, http_status=status)


def graph_post(account, url: str, payload: dict, id_of) -> SendResult:
    """POST a JSON send to the Graph API.

    A request that never connected is retried; one that may have arrived (read timeout, dropped connection) is
    failed as "outcome unknown", because repeating it could deliver the message twice.
    """
    try:
        with http_client() as client:
            response = client.post(url, json=payload, headers=_headers(account))
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return SendResult(outcome="retry", error={"status": None, "message": f"{type(exc).__name__}: {exc}"})
    except httpx.HTTPError as exc:
        return SendResult(outcome="failed", error={"status": None, "message": OUTCOME_UNKNOWN,
                                                   "detail": f"{type(exc).__name__}: {exc}"})
    return send_result(response, id_of)


class GraphApiError(Exception):
    def __init__(self, error: dict):
        super().__init__(f"Graph API {error.get('status')}: {error.get('message')}")
        self.error = error


def graph_request(account, method: str, url: str, *, payload: dict | None = None, params: dict | None = None) -> dict:
    """A non-send Graph call (templates, media, profiles): the JSON body, or GraphApiError."""
    try:
        with http_client() as client:
            response = client.request(method, url, json=payload, params=params, headers=_headers(account))
    except httpx.HTTPError as exc:
        raise GraphApiError({"status": None, "message": f"{type(exc).__name__}: {exc}"}) from exc
    if not 200 <= response.status_code < 300:
        raise GraphApiError(graph_error(response))
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"data": body}
