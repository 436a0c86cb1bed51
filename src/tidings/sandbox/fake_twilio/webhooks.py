"""What the fake Twilio posts to Tidings: status callbacks and inbound SMS, form-encoded and signed with the
account's auth token (`X-Twilio-Signature`), exactly as Twilio does."""

import logging

import httpx

from tidings.channels.adapters.sms.segments import sms_segments
from tidings.channels.adapters.sms.signature import twilio_signature
from tidings.channels.http import http_client
from tidings.channels.models import ChannelAccount
from tidings.channels.services import account_webhook_url

from ..models import Persona
from .services import API_VERSION, new_sid

logger = logging.getLogger(__name__)


def twilio_post_signed(account: ChannelAccount, url: str, params: dict) -> int | None:
    """POST form params to `url` signed as Twilio signs; the HTTP status, or None when it could not be reached.
    Twilio does not retry a failed callback, and neither does the fake."""
    headers = {"X-Twilio-Signature": twilio_signature(account.credentials.get("auth_token", ""), url, params),
               "User-Agent": "TwilioProxy/1.1"}
    try:
        with http_client() as client:
            response = client.post(url, data=params, headers=headers)
    except httpx.HTTPError as exc:
        logger.warning("fake Twilio: callback to %s failed: %s", url, exc)
        return None
    if response.status_code >= 400:
        logger.warning("fake Twilio: callback to %s answered %s", url, response.status_code)
    return response.status_code


def twilio_status_callback_params(account: ChannelAccount, *, sid: str, status: str, to: str, sender: str,
                                  error_code: int | None = None, done_at=None) -> dict:
    """The fields of Twilio's request to a StatusCallback URL."""
    params = {
        "AccountSid": account.external_id, "ApiVersion": API_VERSION, "From": sender, "MessageSid": sid,
        "MessageStatus": status, "SmsSid": sid, "SmsStatus": status, "To": to,
    }
    if error_code:
        params["ErrorCode"] = str(error_code)
    if status in ("delivered", "undelivered") and done_at is not None:
        params["RawDlrDoneDate"] = done_at.strftime("%y%m%d%H%M")  # the carrier's receipt time, YYMMDDhhmm
    return params


def twilio_inbound_sms_params(account: ChannelAccount, *, sender: str, text: str, sid: str | None = None) -> dict:
    """The fields of Twilio's inbound-SMS webhook for a text from `sender` to the account's number."""
    sid = sid or new_sid()
    to = (account.settings or {}).get("from", "")
    return {
        "ToCountry": "", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "", "FromZip": "",
        "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": text, "FromCountry": "",
        "To": to, "ToZip": "", "NumSegments": str(sms_segments(text)[1]), "ReferralNumMedia": "0",
        "MessageSid": sid, "AccountSid": account.external_id, "From": sender, "ApiVersion": API_VERSION,
    }


def twilio_inbound_sms_send(account: ChannelAccount, persona: Persona, text: str) -> tuple[str, int | None]:
    """A persona texts the account's number: Twilio's signed inbound webhook to the account's webhook URL.
    Returns (MessageSid, the HTTP status Tidings answered)."""
    params = twilio_inbound_sms_params(account, sender=persona.phone, text=text)
    return params["MessageSid"], twilio_post_signed(account, account_webhook_url(account), params)
