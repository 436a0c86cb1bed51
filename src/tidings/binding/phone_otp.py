"""Phone binding by SMS one-time code (SPEC D3): a browser asks for a code for a phone number, the shop texts it
(paid from the prepaid SMS balance, L2/L4), the browser sends it back, and the phone's contact becomes this
browser's customer — bound like a chat binding (`bind.bind`), so `binding_unbind` undoes it the same way.

- Codes: 6 digits from `secrets`, valid 10 minutes on the workspace clock (sandbox test clocks apply), once; 5
  wrong tries kill a code; asking again voids the browser's previous code for that phone. Stored as
  HMAC-SHA256(server secret, "<workspace>:<phone>:<code>") and compared in constant time.
- Send limits, counted from the stored rows on the workspace clock: per phone 1 a minute and 5 an hour, per browser
  address 20 an hour → `RateLimited` (429 with Retry-After). Checked before any work and again under billing's
  lock on the workspace's balance, which every SMS charge takes, so concurrent requests cannot slip past them.
- Answers never say whether Tidings knows the phone: the same for a stranger and a customer.
- The SMS text carries the code only until the provider has it: once the message is sent or failed, a message
  event listener masks the code in the stored message, so no usable code stays in the console's history.
"""

import dataclasses
import datetime
import hashlib
import hmac
import logging
import re
import secrets

import phonenumbers
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tidings.billing.services import sms_charge
from tidings.billing.sms import sms_segments
from tidings.channels.selectors import account_for_channel
from tidings.contacts.models import ChannelIdentity, MergeReason
from tidings.contacts.services import contact_identify, phone_normalize
from tidings.contacts.tracking import visitor_id_clean, visitor_touch
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.messaging.events import message_event_listener
from tidings.messaging.models import EventKind, Message, Purpose
from tidings.messaging.services import message_send

from .bind import BindingOutcome, Refused, bind
from .models import BindingMethod, PhoneCode
from .selectors import binding_settings_get

logger = logging.getLogger("tidings.binding")

CODE_DIGITS = 6
CODE_LIFETIME = datetime.timedelta(minutes=10)
MAX_ATTEMPTS = 5  # wrong codes per code; the fifth kills it
# (how many sends, per how long): per phone, and per browser address. Numbers from the integration notes: a resend
# cooldown of a minute, a few sends a phone an hour against SMS pumping, an address allowance for shared networks.
PHONE_LIMITS = ((1, datetime.timedelta(minutes=1)), (5, datetime.timedelta(hours=1)))
ADDRESS_LIMITS = ((20, datetime.timedelta(hours=1)),)
SMS_SOURCE = "phone_binding"  # Message.source of the code SMS (the listener masks those)
BILLING_FEATURE = "phone_binding"
SHOP_NAME_MAX = 40
# Mobile numbers only: a landline cannot get the text, and premium, shared-cost, VoIP and pager numbers are how
# SMS pumping fraud makes money (OWASP, NIST SP 800-63B).
TEXTABLE = frozenset({phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
CODE_IN_TEXT = re.compile(r"(?<!\d)\d{6}(?!\d)")
MASK = "••••••"


class RateLimited(ServiceError):
    """Too many codes asked for: the browser endpoint answers 429 with Retry-After (seconds)."""

    def __init__(self, message, *, retry_after: int):
        super().__init__(message, field="phone", code="rate_limited")
        self.retry_after = max(1, retry_after)


@dataclasses.dataclass
class PhoneCodeSent:
    phone: str
    expires_at: datetime.datetime
    resend_after: int  # seconds until the per-phone limit allows another code


# --- hashing -------------------------------------------------------------------------------------------------------


def _key(purpose: str) -> bytes:
    return hashlib.sha256(f"tidings.binding.{purpose}:{django_settings.SECRET_KEY}".encode()).digest()


def code_hash(workspace_id: int, phone: str, code: str) -> str:
    return hmac.new(_key("phone-code"), f"{workspace_id}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def address_hash(address: str) -> str:
    """The browser's address, keyed: enough to count its sends, without keeping addresses."""
    if not address:
        return ""
    return hmac.new(_key("phone-code-address"), address.encode(), hashlib.sha256).hexdigest()


# --- checks --------------------------------------------------------------------------------------------------------


def _enabled(workspace) -> None:
    if not binding_settings_get(workspace).enabled:
        raise ServiceError(_("Binding is turned off for this shop."), field="workspace")


def phone_clean(workspace, phone) -> str:
    """E.164 of a mobile number (the workspace's default region applies to numbers typed without a country code)."""
    phone = phone_normalize(workspace=workspace, phone=str(phone or "").strip()[:40])
    if phonenumbers.number_type(phonenumbers.parse(phone, None)) not in TEXTABLE:
        raise ServiceError(_("Enter a mobile number: the code comes by text message."), field="phone")
    return phone


def _code_clean(code) -> str:
    code = re.sub(r"\s", "", str(code or ""))
    if not re.fullmatch(r"\d{6}", code):
        raise ServiceError(_("Enter the 6-digit code from the text message."), field="code")
    return code


def _wait(rows, limit: int, window: datetime.timedelta, now) -> int | None:
    """Seconds until one more send fits, or None when it fits now. `rows` is newest first."""
    recent = [at for at in rows if at > now - window]
    if len(recent) < limit:
        return None
    return int((recent[limit - 1] + window - now).total_seconds()) + 1


def _limits_check(workspace, phone: str, address: str, now, *, exclude: int | None = None) -> None:
    longest = max(window for _n, window in PHONE_LIMITS + ADDRESS_LIMITS)
    rows = PhoneCode.objects.for_workspace(workspace).filter(created_at__gt=now - longest)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    by_phone = list(rows.filter(phone=phone).order_by("-created_at").values_list("created_at", flat=True)[:50])
    waits = [_wait(by_phone, n, window, now) for n, window in PHONE_LIMITS]
    if address:
        by_address = list(rows.filter(address_hash=address).order_by("-created_at")
                          .values_list("created_at", flat=True)[:100])
        waits += [_wait(by_address, n, window, now) for n, window in ADDRESS_LIMITS]
    waits = [w for w in waits if w is not None]
    if waits:
        retry_after = max(waits)
        raise RateLimited(_("Too many codes were asked for. Try again in %(minutes)s minutes.")
                          % {"minutes": max(1, -(-retry_after // 60))}, retry_after=retry_after)


def sms_account(workspace):
    """The account the codes go out on: the workspace's active SMS (Twilio) account."""
    account = account_for_channel(workspace, "sms")
    if account is None:
        raise ServiceError(_("This shop cannot send text messages yet: no SMS account is connected."), field="phone",
                           code="no_sms_account")
    return account


def phone_code_text(workspace, code: str) -> str:
    """The SMS, in the current language (the browser's, on the endpoint): the shop's name and the code."""
    shop = (workspace.name or workspace.slug)[:SHOP_NAME_MAX]
    return _("%(shop)s: your verification code is %(code)s. It expires in 10 minutes. Do not share it with "
             "anyone.") % {"shop": shop, "code": code}


# --- sending -------------------------------------------------------------------------------------------------------


@transaction.atomic
def phone_code_send(*, workspace, visitor_id: str, phone: str, address: str = "") -> PhoneCodeSent:
    """Text a fresh code to `phone` for this browser, voiding its previous one for that phone; charge the SMS.

    The recipient is the contact with this phone (a new contact holding only the phone when there is none): every
    SMS belongs to a contact in the pipeline, and the charge names the message. Refused, with nothing sent or
    charged: binding off, a bad or non-mobile phone (field `phone`), no SMS account (`no_sms_account`), the send
    limits (`RateLimited`), the balance below the grace minimum (`balance_below_grace`).
    """
    _enabled(workspace)
    visitor_id = visitor_id_clean(str(visitor_id or "").strip())
    phone = phone_clean(workspace, phone)
    account = sms_account(workspace)
    address = address_hash(address)
    now = clock.now(workspace)
    _limits_check(workspace, phone, address, now)
    visitor = visitor_touch(workspace=workspace, visitor_id=visitor_id)
    (PhoneCode.objects.for_workspace(workspace)
     .filter(phone=phone, visitor=visitor, consumed_at__isnull=True, voided_at__isnull=True).update(voided_at=now))
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    try:
        with transaction.atomic():
            row = PhoneCode.objects.create(workspace=workspace, phone=phone, visitor=visitor, address_hash=address,
                                           code_hash=code_hash(workspace.pk, phone, code), created_at=now,
                                           expires_at=now + CODE_LIFETIME)
    except IntegrityError:  # the same browser asked twice at once: the other request's code stands
        raise RateLimited(_("A code is on its way. Wait a minute before asking again."), retry_after=60) from None
    contact = contact_identify(workspace=workspace, phone=phone, phone_verified=True)
    text = phone_code_text(workspace, code)
    [message] = message_send(workspace=workspace, contact=contact, channel="sms", account=account,
                             contents=[{"type": "text", "text": text}], purpose=Purpose.NOTIFICATION,
                             source=SMS_SOURCE)
    try:
        sms_charge(workspace=workspace, feature=BILLING_FEATURE, segments=max(1, sms_segments(text)[0]),
                   message_id=message.pk, reference=f"phone_code:{row.pk}")
    except ServiceError as exc:
        if exc.code != "balance_below_grace":
            raise
        # The shopper is not told the shop's balance; the console's low-balance bar tells the shop.
        logger.warning("Phone code not sent (workspace %s): the SMS balance is below the grace minimum", workspace.pk)
        raise ServiceError(_("This shop cannot send text messages right now. Please try again later or contact "
                             "the shop."), field="phone", code="balance_below_grace") from None
    # Again, now holding the balance's lock (sms_charge), which every concurrent send for this workspace waits for.
    _limits_check(workspace, phone, address, now, exclude=row.pk)
    PhoneCode.objects.filter(pk=row.pk).update(message=message)
    return PhoneCodeSent(phone=phone, expires_at=row.expires_at,
                         resend_after=int(PHONE_LIMITS[0][1].total_seconds()))


# --- verifying -----------------------------------------------------------------------------------------------------


def _dead(row: PhoneCode | None, now) -> str | None:
    if row is None:
        return "unknown"
    if row.expires_at <= now:
        return "expired"
    if row.attempts >= MAX_ATTEMPTS:
        return "too_many_attempts"
    return None


def phone_code_verify(*, workspace, visitor_id: str, phone: str, code: str) -> BindingOutcome:
    """The browser sends the code back: right → the phone is verified and this browser is bound to its contact.

    The contact is the one with this (now verified) phone, created if none; if the browser already was another
    contact (say, a logged-in member), the two are merged (reason phone, D1) unless they carry different member
    ids (`member_id_conflict`, the code is spent). A wrong code counts against the code, even though the request
    is refused (the count is committed on its own).
    """
    _enabled(workspace)
    visitor_id = visitor_id_clean(str(visitor_id or "").strip())
    phone = phone_clean(workspace, phone)
    code = _code_clean(code)
    now = clock.now(workspace)
    visitor = visitor_touch(workspace=workspace, visitor_id=visitor_id)
    refusal, left = None, 0
    with transaction.atomic():
        row = (PhoneCode.objects.for_workspace(workspace).select_for_update()
               .filter(phone=phone, visitor=visitor, consumed_at__isnull=True, voided_at__isnull=True).first())
        refusal = _dead(row, now)
        if refusal is None and not hmac.compare_digest(row.code_hash, code_hash(workspace.pk, phone, code)):
            row.attempts += 1
            left = MAX_ATTEMPTS - row.attempts
            refusal = "wrong"
            PhoneCode.objects.filter(pk=row.pk).update(attempts=row.attempts, voided_at=now if left <= 0 else None)
        elif refusal is not None and row is not None:
            PhoneCode.objects.filter(pk=row.pk).update(voided_at=now)
        if refusal is None:
            try:
                with transaction.atomic():
                    outcome = _bind(workspace, row, visitor, phone, now)
            except (Refused, ServiceError) as exc:
                if isinstance(exc, ServiceError) and exc.code != "member_id_conflict":
                    raise
                refusal = "member_conflict"
                PhoneCode.objects.filter(pk=row.pk).update(voided_at=now)
    if refusal is None:
        return outcome
    logger.warning("Phone code refused (%s): workspace=%s code=%s", refusal, workspace.pk, row.pk if row else None)
    if refusal == "member_conflict":
        raise ServiceError(_("This phone number belongs to another member's account, so it cannot be linked to the "
                             "member logged in here."), field="phone", code="member_id_conflict")
    if refusal == "wrong" and left > 0:
        raise ServiceError(_("That code is not right. You can try %(n)s more times.") % {"n": left}, field="code",
                           code="code_wrong")
    raise ServiceError(_("This code has expired or was tried too many times. Ask for a new code."), field="code",
                       code="code_expired")


def _bind(workspace, row: PhoneCode, visitor, phone: str, now) -> BindingOutcome:
    """Spend the code and bind: the phone's contact (verified now), the browser attached (reason phone)."""
    PhoneCode.objects.filter(pk=row.pk).update(consumed_at=now)
    contact = contact_identify(workspace=workspace, phone=phone, phone_verified=True)
    identity = (ChannelIdentity.objects.for_workspace(workspace)
                .filter(channel="sms", external_id=phone, contact=contact).order_by("pk").first())
    outcome = bind(workspace=workspace, contact=contact, identity=identity, channel="sms",
                   method=BindingMethod.PHONE, visitor=visitor, at=now, reason=MergeReason.PHONE)
    PhoneCode.objects.filter(pk=row.pk).update(binding=outcome.binding)
    return outcome


# --- the code does not stay in the message history -------------------------------------------------------------


def phone_code_mask(*, workspace_id: int, message_ids: list[int]) -> int:
    """Replace the code in the stored text of code SMS that the provider has taken (or refused). Returns how many."""
    masked = 0
    rows = Message.objects.filter(workspace_id=workspace_id, pk__in=message_ids, source=SMS_SOURCE)
    for message in rows.only("pk", "content"):
        content = dict(message.content or {})
        text = str(content.get("text") or "")
        if CODE_IN_TEXT.search(text):
            content["text"] = CODE_IN_TEXT.sub(MASK, text)
            masked += Message.objects.filter(pk=message.pk).update(content=content)
    return masked


@message_event_listener(kinds={EventKind.SENT, EventKind.FAILED}, purposes={Purpose.NOTIFICATION})
def _mask_sent_codes(*, workspace_id: int, kind: str, message_ids: list[int], at, data: dict) -> None:
    phone_code_mask(workspace_id=workspace_id, message_ids=message_ids)
