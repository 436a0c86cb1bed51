"""The fake Twilio's behaviour (API 2010-04-01, Messages): what it accepts, the resources it answers with, and the
message lifecycle it plays out afterwards.

A fake message has no table of its own: it is its create request in the sandbox request log (the 201's body is the
Message resource) plus its status timers (`sandbox.twilio_callback`), which move it queued → sent → delivered (or
undelivered) on the workspace clock and post the status callbacks. Its current status is the last of those timers
that fired.
"""

import datetime
import re
import secrets
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

import phonenumbers
from django.db import transaction

from tidings.channels.adapters.sms.segments import sms_segments
from tidings.channels.models import ChannelAccount
from tidings.core import clock
from tidings.timers.models import Timer, TimerState
from tidings.timers.services import timer_schedule

from ..models import Persona, SandboxDelivery, SandboxRequest
from ..services import sandbox_deliveries_record, sandbox_request_record

PROVIDER = "twilio"
API_VERSION = "2010-04-01"
MAX_BODY = 1600
CALLBACK_KIND = "sandbox.twilio_callback"
# When, after creation, the fake reports each step (workspace clock, so test clocks apply).
SENT_AFTER = datetime.timedelta(seconds=1)
FINAL_AFTER = datetime.timedelta(seconds=3)
# A number with no persona behind it: accepted (Twilio cannot know up front), then undelivered.
UNREACHABLE = (30003, "Unreachable destination handset")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
_ALPHANUMERIC = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")


class TwilioError(Exception):
    """An error answer in Twilio's shape: {"code", "message", "more_info", "status"}."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}", "status": self.status}


def messages_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"


def message_path(account_sid: str, sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"


def rfc2822(at: datetime.datetime | None) -> str | None:
    return format_datetime(at.astimezone(datetime.UTC)) if at else None


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def _valid_phone(number: str) -> bool:
    if not _E164.match(number or ""):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return False


def authenticate(account: ChannelAccount | None, account_sid: str, username: str | None, password: str | None):
    """Twilio answers 20003 for wrong credentials and for credentials of another account than the URL's."""
    if (account is None or not username or username != account.external_id or account_sid != account.external_id
            or not secrets.compare_digest((password or "").encode(), account.credentials.get("auth_token", "").encode())):
        raise TwilioError(401, 20003, "Authenticate")


def validate_create(account: ChannelAccount, fields: dict) -> None:
    to, sender, body = fields.get("To", ""), fields.get("From", ""), fields.get("Body")
    if not to:
        raise TwilioError(400, 21604, "A 'To' phone number is required.")
    if not _valid_phone(to):
        raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender and not fields.get("MessagingServiceSid"):
        raise TwilioError(400, 21603, "A 'From' phone number is required.")
    if fields.get("MessagingServiceSid") and not sender:
        raise TwilioError(400, 21701, "The Messaging Service does not exist.")  # the fake has no services
    # A sender is an E.164 number, a short code or an alphanumeric sender id; it must also be this account's.
    if not (_E164.match(sender) or _SHORT_CODE.match(sender) or _ALPHANUMERIC.match(sender)):
        raise TwilioError(400, 21212, f"The 'From' number {sender} is not a valid phone number, shortcode, "
                                      f"or alphanumeric sender ID.")
    if sender != (account.settings or {}).get("from"):
        raise TwilioError(400, 21606, f"The From phone number {sender} is not a valid, SMS-capable inbound phone "
                                      f"number or short code for your account.")
    if not body and not fields.get("MediaUrl"):
        raise TwilioError(400, 21602, "Message body is required.")
    if body and len(body) > MAX_BODY:
        raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")


def _resource(account: ChannelAccount, *, sid: str, to: str, sender: str, body: str, at: datetime.datetime) -> dict:
    return {
        "account_sid": account.external_id, "api_version": API_VERSION, "body": body,
        "date_created": rfc2822(at), "date_sent": rfc2822(at), "date_updated": rfc2822(at),
        "direction": "outbound-api", "error_code": None, "error_message": None, "from": sender,
        "messaging_service_sid": None, "num_media": "0", "num_segments": str(sms_segments(body)[1]),
        "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
        "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account.external_id}/Messages/{sid}/Media.json"},
        "to": to, "uri": message_path(account.external_id, sid),
    }


@transaction.atomic
def fake_message_create(*, workspace, account: ChannelAccount, fields: dict, record: dict) -> tuple[dict, SandboxRequest]:
    """Accept a (validated) message: log the request with its 201, deliver it to the persona with that number, and
    schedule its status steps. `record` carries the request's method/path/headers for the log."""
    now = clock.now(workspace)
    to, sender, body = fields["To"], fields["From"], fields.get("Body", "")
    sid = new_sid()
    resource = _resource(account, sid=sid, to=to, sender=sender, body=body, at=now)
    logged = sandbox_request_record(workspace=workspace, account=account, provider=PROVIDER, body=fields,
                                    response_status=201, response_body=resource, **record)
    persona = Persona.objects.for_workspace(workspace).filter(phone=to).first()
    if persona is not None:
        sandbox_deliveries_record(workspace=workspace, deliveries=[SandboxDelivery(
            account=account, persona=persona, request=logged, provider=PROVIDER, channel="sms", kind="sms",
            payload={"body": body}, provider_message_id=sid, delivered=True,
        )])
    callback = fields.get("StatusCallback", "")
    steps = [("sent", SENT_AFTER, None)]
    steps.append(("delivered", FINAL_AFTER, None) if persona is not None else ("undelivered", FINAL_AFTER, UNREACHABLE))
    for status, delay, error in steps:
        timer_schedule(workspace=workspace, kind=CALLBACK_KIND, key=f"{CALLBACK_KIND}:{sid}:{status}", delay=delay,
                       payload={"account_id": account.pk, "sid": sid, "status": status, "to": to, "from": sender,
                                "callback_url": callback, "error_code": error[0] if error else None,
                                "error_message": error[1] if error else None})
    return resource, logged


def _created(account: ChannelAccount):
    return SandboxRequest.objects.filter(
        account=account, provider=PROVIDER, method="POST", path=messages_path(account.external_id),
        response_status=201,
    )


def _with_progress(account: ChannelAccount, resources: list[dict]) -> list[dict]:
    """Each resource with the status its fired status timers have reached."""
    if not resources:
        return []
    keys = [f"{CALLBACK_KIND}:{r['sid']}:{s}" for r in resources for s in ("sent", "delivered", "undelivered")]
    fired = {}
    for timer in Timer.objects.filter(workspace_id=account.workspace_id, key__in=keys, state=TimerState.DONE):
        sid = timer.payload["sid"]
        if sid not in fired or timer.due_at >= fired[sid].due_at:
            fired[sid] = timer
    out = []
    for resource in resources:
        timer = fired.get(resource["sid"])
        if timer is not None:
            resource = {**resource, "status": timer.payload["status"], "date_updated": rfc2822(timer.due_at),
                        "error_code": timer.payload.get("error_code"),
                        "error_message": timer.payload.get("error_message")}
        out.append(resource)
    return out


def fake_message_get(*, account: ChannelAccount, sid: str) -> dict:
    for logged in _created(account).order_by("-id"):
        if (logged.response_body or {}).get("sid") == sid:
            return _with_progress(account, [logged.response_body])[0]
    raise TwilioError(404, 20404, f"The requested resource {message_path(account.external_id, sid)} was not found")


def _when(value: str) -> tuple[datetime.datetime | datetime.date, bool]:
    """A DateSent filter value: a date (YYYY-MM-DD, whole day) or a date-time (ISO 8601)."""
    try:
        if len(value) == 10:
            return datetime.date.fromisoformat(value), True
        at = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (at if at.tzinfo else at.replace(tzinfo=datetime.UTC)), False
    except ValueError:
        raise TwilioError(400, 20001, f"Invalid value for DateSent: {value}") from None


def _sent_matches(resource: dict, query: dict) -> bool:
    if not resource.get("date_sent"):
        return not any(k in query for k in ("DateSent", "DateSent<", "DateSent>"))
    sent = parsedate_to_datetime(resource["date_sent"])
    for key, compare in (("DateSent", "eq"), ("DateSent<", "le"), ("DateSent>", "ge")):
        if key not in query:
            continue
        when, whole_day = _when(query[key])
        left = sent.date() if whole_day else sent
        if (compare == "eq" and left != when) or (compare == "le" and left > when) or (compare == "ge" and left < when):
            return False
    return True


def fake_messages_list(*, account: ChannelAccount, query: dict) -> dict:
    """Twilio's Message list: newest first, filtered by To, From and DateSent (=, <=, >=), paged."""
    try:
        page_size = max(1, min(int(query.get("PageSize", 50)), 1000))
        page = max(0, int(query.get("Page", 0)))
    except ValueError:
        raise TwilioError(400, 20001, "Invalid paging parameter") from None
    for key in ("DateSent", "DateSent<", "DateSent>"):
        if key in query:
            _when(query[key])
    matching = [
        r for r in (logged.response_body for logged in _created(account).order_by("-created_at", "-id"))
        if r and (not query.get("To") or r["to"] == query["To"]) and (not query.get("From") or r["from"] == query["From"])
        and _sent_matches(r, query)
    ]
    start = page * page_size
    chunk = _with_progress(account, matching[start:start + page_size])
    filters = urlencode({k: v for k, v in query.items() if k in ("To", "From", "DateSent", "DateSent<", "DateSent>")})
    base = messages_path(account.external_id) + "?" + (filters + "&" if filters else "")

    def page_uri(n: int) -> str:
        return f"{base}PageSize={page_size}&Page={n}"

    has_next = start + page_size < len(matching)
    return {
        "first_page_uri": page_uri(0), "end": start + len(chunk) - 1 if chunk else start, "messages": chunk,
        "next_page_uri": (page_uri(page + 1) + f"&PageToken=PA{chunk[-1]['sid']}") if has_next else None,
        "page": page, "page_size": page_size, "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "start": start, "uri": page_uri(page),
    }
