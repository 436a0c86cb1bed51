"""Twilio Programmable Messaging (API 2010-04-01): send, find an already-created message, status callbacks and
inbound SMS webhooks.

Twilio has no idempotency key. An earlier attempt of the same dispatch (a worker that died mid-call, a timeout, a 5xx
after Twilio had accepted) may already have created the message, so before sending again we list the messages to that number from our sender since
the dispatch was created and adopt one with the same body (docs/modules/channels.md, "SMS and the missing
idempotency key").
"""

import datetime
import logging

import httpx
from django.conf import settings
from django.http import HttpRequest, QueryDict

from tidings.channels.events import InboundEvent, SendResult, WebhookItem
from tidings.channels.http import http_client
from tidings.channels.services import account_webhook_url
from tidings.core import clock

from .providers import provider_register
from .signature import twilio_signature_valid

logger = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
# How far before the dispatch's creation an in-doubt search looks (clock skew between us and Twilio).
ADOPT_WINDOW_SLACK = datetime.timedelta(minutes=10)
ADOPT_MAX_PAGES = 5
# Descriptions for the delivery errors Twilio reports in status callbacks by code only.
ERROR_DESCRIPTIONS = {
    30001: "Queue overflow", 30002: "Account suspended", 30003: "Unreachable destination handset",
    30004: "Message blocked", 30005: "Unknown destination handset", 30006: "Landline or unreachable carrier",
    30007: "Message filtered", 30008: "Unknown error", 30034: "Message from an unregistered number",
}


def _messages_url(account) -> str:
    return f"{account.base_url.rstrip('/')}/{API_VERSION}/Accounts/{account.external_id}/Messages.json"


def _auth(account) -> tuple[str, str]:
    return account.external_id, account.credentials.get("auth_token", "")


def _error_body(response: httpx.Response) -> dict:
    """Twilio's error JSON ({code, message, more_info, status}) as it came, or what we can say about a non-JSON one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"status": response.status_code, "message": response.text[:500]}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class TwilioProvider:
    name = "twilio"

    def default_base_url(self) -> str:
        return "https://api.twilio.com"

    # --- sending -------------------------------------------------------------------------------------------------

    def send(self, account, dispatch, message) -> SendResult:
        identity = message.identity
        if identity is None:
            return SendResult(outcome="failed", error={"status": None, "message": "The message has no recipient."})
        fields = {
            "To": identity.external_id,
            "From": (account.settings or {}).get("from", ""),
            "Body": message.content.get("text", ""),
            "StatusCallback": account_webhook_url(account),
        }
        try:
            with http_client() as client:
                # The pipeline claims a dispatch (status `sending`, attempts counting this one) before calling us,
                # so an earlier attempt - crashed, timed out or answered 5xx - exists exactly when attempts > 1.
                if dispatch.attempts > 1:
                    found = self._find_sent(client, account, dispatch, message, fields)
                    if isinstance(found, SendResult):
                        return found
                response = client.post(_messages_url(account), data=fields, auth=_auth(account))
        except httpx.TransportError as exc:
            return SendResult(outcome="retry", error={"status": None, "message": f"{exc.__class__.__name__}: {exc}"})
        return self._result(response)

    def _result(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(outcome="sent", provider_message_ids=[response.json()["sid"]], http_status=status)
        outcome = "retry" if status == 429 or status >= 500 else "failed"
        return SendResult(outcome=outcome, error=_error_body(response), http_status=status,
                          retry_after=_retry_after(response))

    def _find_sent(self, client: httpx.Client, account, dispatch, message, fields: dict) -> SendResult | None:
        """The in-doubt check: a SendResult adopting a message Twilio already has (or asking to retry when Twilio
        cannot be asked), None when no such message exists and sending is safe."""
        since = (dispatch.created_at - ADOPT_WINDOW_SLACK).astimezone(datetime.UTC)
        params = {"To": fields["To"], "From": fields["From"], "DateSent>": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "PageSize": 100}
        url, base = _messages_url(account), account.base_url.rstrip("/")
        # Another of our messages may have the same text to the same person: never adopt a sid already taken.
        taken = type(message).objects.filter(account_id=account.pk).exclude(pk=message.pk)
        candidates = []
        for _page in range(ADOPT_MAX_PAGES):
            response = client.get(url, params=params, auth=_auth(account))
            if response.status_code == 429 or response.status_code >= 500:
                return SendResult(outcome="retry", error=_error_body(response), http_status=response.status_code,
                                  retry_after=_retry_after(response))
            if response.status_code != 200:
                return None  # the send itself will meet (and report) the same problem
            page = response.json()
            candidates += [m for m in page.get("messages", []) if m.get("body") == fields["Body"] and m.get("sid")]
            if not page.get("next_page_uri"):
                break
            url, params = base + page["next_page_uri"], None
        # Newest first from Twilio; the oldest unclaimed one is ours.
        for candidate in reversed(candidates):
            if not taken.filter(provider_message_id=candidate["sid"]).exists():
                logger.info("dispatch %s: adopting Twilio message %s instead of sending again", dispatch.pk,
                            candidate["sid"])
                return SendResult(outcome="sent", provider_message_ids=[candidate["sid"]], http_status=200)
        return None

    # --- webhooks ------------------------------------------------------------------------------------------------

    def verify_signature(self, account, request: HttpRequest, body: bytes) -> bool:
        # Twilio signs the URL it called; behind a proxy BASE_URL must be the public origin.
        url = getattr(request, "webhook_url", None) or settings.BASE_URL + request.get_full_path()
        params = self._params(body) if body else QueryDict()
        return twilio_signature_valid(account.credentials.get("auth_token", ""), url, params,
                                      request.headers.get("X-Twilio-Signature"))

    @staticmethod
    def _params(body: bytes) -> QueryDict:
        try:
            return QueryDict(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError("Twilio webhook body is not UTF-8 form data") from None

    def split_webhook(self, account, request: HttpRequest, body: bytes) -> list[WebhookItem]:
        params = self._params(body).dict()
        sid = params.get("MessageSid") or params.get("SmsSid")
        if not sid:
            raise ValueError("Twilio webhook without MessageSid")
        if params.get("AccountSid") and params["AccountSid"] != account.external_id:
            raise ValueError("Twilio webhook for another account")
        if params.get("MessageStatus"):
            return [WebhookItem(provider_event_id=f"{sid}:{params['MessageStatus']}", event_type="status",
                                payload=params)]
        if "Body" in params:
            return [WebhookItem(provider_event_id=sid, event_type="message", payload=params)]
        raise ValueError("Twilio webhook is neither a status callback nor an inbound message")

    def parse_event(self, account, item_payload: dict) -> InboundEvent:
        p = item_payload
        sid = p.get("MessageSid") or p.get("SmsSid") or ""
        at = clock.now(account.workspace)
        if p.get("MessageStatus"):
            error = None
            if p.get("ErrorCode") not in (None, "", "0"):
                try:
                    code = int(p["ErrorCode"])
                except ValueError:
                    code = p["ErrorCode"]
                error = {"code": code, "message": p.get("ErrorMessage") or ERROR_DESCRIPTIONS.get(code, "")}
            return InboundEvent(kind="status", provider_event_id=f"{sid}:{p['MessageStatus']}", occurred_at=at,
                                user_id=p.get("To"), provider_message_id=sid, status=p["MessageStatus"],
                                error=error, raw_type="status")
        if "Body" in p:
            return InboundEvent(kind="message", provider_event_id=sid, occurred_at=at, user_id=p.get("From"),
                                content={"type": "text", "text": p["Body"]}, provider_message_id=sid,
                                data={"to": p.get("To", ""), "num_media": p.get("NumMedia", "0")}, raw_type="sms")
        return InboundEvent(kind="unknown", provider_event_id=sid, occurred_at=at, raw_type="unknown")


provider_register(TwilioProvider())
