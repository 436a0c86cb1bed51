"""LINE Messaging API calls against `account.base_url` (api.line.me, or our fake for sandbox accounts).

Every request goes through channels.http.http_client(). Send responses are mapped to SendResult the same way for
push, multicast and PNP: 2xx and 409-with-accepted-request-id are sent; 429, 5xx and network errors are retried;
other 4xx fail with LINE's own message and details.
"""

import re
from urllib.parse import quote

import httpx

from tidings.channels.events import SendResult
from tidings.channels.http import http_client

from .signature import pnp_phone_hash

AGGREGATION_UNIT = re.compile(r"^[a-zA-Z0-9_]{1,30}$")


class LineApiError(Exception):
    def __init__(self, status: int | None, message: str, details=None):
        super().__init__(f"LINE API {status}: {message}")
        self.status = status
        self.message = message
        self.details = details or []


def _headers(account, extra: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {account.credentials.get('access_token', '')}"}
    headers.update(extra or {})
    return headers


def _url(account, path: str) -> str:
    return account.base_url.rstrip("/") + path


def _body(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date; the pipeline's own backoff applies


def send_result(response: httpx.Response) -> SendResult:
    status = response.status_code
    body = _body(response)
    ids = [str(m["id"]) for m in body.get("sentMessages") or [] if isinstance(m, dict) and m.get("id")]
    if 200 <= status < 300:
        return SendResult(outcome="sent", provider_message_ids=ids, http_status=status)
    if status == 409 and response.headers.get("x-line-accepted-request-id"):
        # Our retry key was already accepted: the first attempt went out. Push repeats the original sentMessages.
        return SendResult(outcome="sent", provider_message_ids=ids, http_status=status)
    error = {"status": status, "message": str(body.get("message") or response.reason_phrase or ""),
             "details": body.get("details") or []}
    if status == 429 or status >= 500:
        return SendResult(outcome="retry", error=error, retry_after=_retry_after(response), http_status=status)
    return SendResult(outcome="failed", error=error, http_status=status)


def _post_send(account, path: str, payload: dict, headers: dict) -> SendResult:
    try:
        with http_client() as client:
            response = client.post(_url(account, path), json=payload, headers=_headers(account, headers))
    except httpx.HTTPError as exc:  # timeout, refused connection: the request may or may not have arrived
        return SendResult(outcome="retry", error={"status": None, "message": f"{type(exc).__name__}: {exc}",
                                                  "details": []})
    return send_result(response)


def _with_units(payload: dict, aggregation_unit: str | None) -> dict:
    if aggregation_unit and AGGREGATION_UNIT.match(aggregation_unit):
        payload["customAggregationUnits"] = [aggregation_unit]
    return payload


def push(account, to: str, messages: list[dict], *, retry_key: str | None = None,
         aggregation_unit: str | None = None) -> SendResult:
    headers = {"X-Line-Retry-Key": retry_key} if retry_key else {}
    payload = _with_units({"to": to, "messages": messages}, aggregation_unit)
    return _post_send(account, "/v2/bot/message/push", payload, headers)


def multicast(account, to: list[str], messages: list[dict], *, retry_key: str | None = None,
              aggregation_unit: str | None = None) -> SendResult:
    headers = {"X-Line-Retry-Key": retry_key} if retry_key else {}
    payload = _with_units({"to": to, "messages": messages}, aggregation_unit)
    return _post_send(account, "/v2/bot/message/multicast", payload, headers)


def reply(account, reply_token: str, messages: list[dict]) -> SendResult:
    # LINE refuses X-Line-Retry-Key on reply (400); a reply token is single-use anyway.
    return _post_send(account, "/v2/bot/message/reply", {"replyToken": reply_token, "messages": messages}, {})


def pnp_push(account, phone: str, messages: list[dict], *, delivery_tag: str | None = None) -> SendResult:
    """LINE notification message by hashed phone. No retry key exists here: a blind resend can double-send."""
    headers = {"X-Line-Delivery-Tag": delivery_tag} if delivery_tag else {}
    return _post_send(account, "/bot/pnp/push", {"to": pnp_phone_hash(phone), "messages": messages}, headers)


def _get_json(account, method: str, path: str) -> dict:
    try:
        with http_client() as client:
            response = client.request(method, _url(account, path), headers=_headers(account))
    except httpx.HTTPError as exc:
        raise LineApiError(None, f"{type(exc).__name__}: {exc}") from exc
    body = _body(response)
    if not 200 <= response.status_code < 300:
        raise LineApiError(response.status_code, str(body.get("message") or response.reason_phrase),
                           body.get("details"))
    return body


def get_profile(account, user_id: str) -> dict:
    """`{displayName, userId, pictureUrl?, statusMessage?, language?}`; LineApiError (404) for a non-friend."""
    return _get_json(account, "GET", f"/v2/bot/profile/{quote(user_id, safe='')}")


def issue_link_token(account, user_id: str) -> str:
    return _get_json(account, "POST", f"/v2/bot/user/{quote(user_id, safe='')}/linkToken")["linkToken"]
