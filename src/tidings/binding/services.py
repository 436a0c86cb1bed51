"""Writes of binding (SPEC D2): start a binding from a browser, the LINE account link, redeeming what webhooks
carry (codes, refs, account-link results), tracked-link binding, unbinding and settings.

Browser-facing functions raise ServiceError (→ 422 naming the field). Webhook-facing ones (`binding_from_*`) never
raise: they return a BindingOutcome and log refusals, so a bad token never fails the webhook event.
"""

import dataclasses
import datetime
import logging
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tidings.channels.adapters.line.client import LineApiError, issue_link_token
from tidings.channels.models import ChannelAccount
from tidings.contacts.models import ChannelIdentity, Contact
from tidings.contacts.selectors import contact_ids_merged_into, contact_resolve
from tidings.contacts.services import contact_set_unbound, contact_update
from tidings.contacts.tracking import visitor_detach_contact, visitor_id_clean, visitor_touch
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.models import Membership
from tidings.core.services import audit_record
from tidings.messaging.links import tid_read
from tidings.messaging.models import Direction, Message, Purpose
from tidings.messaging.services import message_send

from . import links, tokens
from .bind import (
    BindingOutcome,
    Refused,
    bind,
    redeem,
    refusal_note,
    sender_miss,
    sender_misses,
)
from .models import CODE_METHODS, METHOD_CHANNEL, Binding, BindingMethod, BindingSettings, BindingToken
from .selectors import BROWSER_METHODS, binding_accounts, binding_settings_get, tokens_active

logger = logging.getLogger("tidings.binding")

TOKEN_LIFETIME = datetime.timedelta(minutes=10)  # codes and refs (the spec allows up to 15)
LINK_TOKEN_LIFETIME = datetime.timedelta(minutes=10)  # LINE's link token lives 10 minutes
TID_LIFETIME = datetime.timedelta(minutes=10)  # a tracked link's _tid, from the click
SENDER_MISS_LIMIT = 5  # wrong codes one chat user may send…
SENDER_MISS_WINDOW = 15 * 60  # …per 15 minutes before their codes are ignored
CODE_DRAWS = 20  # tries to find a code no live token of the workspace holds
MEMBER_ID_MAX = 100
# The postback data a LINE rich menu or button uses to ask for the account-link button.
LINE_LINK_POSTBACK = "tidings:account_link"


@dataclasses.dataclass
class BindingStart:
    """What a browser shows to bind: the deep link (also the QR code's payload), and for code methods the code
    and the text pre-filled in the chat."""

    method: str
    account: ChannelAccount
    url: str
    expires_at: datetime.datetime
    code: str | None = None
    text: str | None = None


# --- helpers -----------------------------------------------------------------------------------------------------


def _enabled(workspace) -> BindingSettings:
    settings = binding_settings_get(workspace)
    if not settings.enabled:
        raise ServiceError(_("Binding is turned off for this shop."), field="workspace")
    return settings


def _visitor_id(visitor_id: str, *, required: bool) -> str:
    """The tracking script's visitor id, checked as tracking checks it; "" when not given and not required."""
    visitor_id = (visitor_id or "").strip()
    if not visitor_id and not required:
        return ""
    return visitor_id_clean(visitor_id)


def _member_id(member_id: str) -> str:
    member_id = str(member_id or "").strip()
    if len(member_id) > MEMBER_ID_MAX:
        raise ServiceError(_("A member id is at most %(max)s characters.") % {"max": MEMBER_ID_MAX}, field="member_id")
    return member_id


def _visitor(workspace, visitor_id: str):
    return visitor_touch(workspace=workspace, visitor_id=visitor_id) if visitor_id else None


def _account(workspace, channel: str, account) -> ChannelAccount:
    """The account to bind on: the one asked for (by id) if it is this workspace's active account on the method's
    channel, else the channel's first active account."""
    candidates = binding_accounts(workspace).get(channel, [])
    if account not in (None, ""):
        wanted = account.pk if isinstance(account, ChannelAccount) else str(account)
        found = next((a for a in candidates if str(a.pk) == str(wanted)), None)
        if found is None:
            raise ServiceError(_("Unknown account."), field="account")
        return found
    if not candidates:
        raise ServiceError(_("This shop has not connected %(channel)s.")
                           % {"channel": _channel_name(channel)}, field="method")
    return candidates[0]


def _channel_name(channel: str) -> str:
    from tidings.contacts.models import Channel

    return str(Channel(channel).label)


def _void_previous(workspace, visitor, method: str, now) -> None:
    """One live token per browser and method: a new one replaces the last (and frees its code)."""
    if visitor is not None:
        tokens_active(workspace).filter(visitor=visitor, method=method).update(voided_at=now, code_hash=None)


def _code_token(workspace, *, now, **fields) -> tuple[BindingToken, str]:
    """A token with a 6-digit code no live token of the workspace holds (expired holders give theirs up)."""
    for _attempt in range(CODE_DRAWS):
        code = tokens.code_new()
        hashed = tokens.code_hash(workspace.pk, code)
        holders = BindingToken.objects.for_workspace(workspace).filter(code_hash=hashed)
        holders.exclude(pk__in=tokens_active(workspace).values("pk")).update(code_hash=None)
        if holders.exists():
            continue
        try:
            with transaction.atomic():
                token = BindingToken.objects.create(
                    workspace=workspace, token_hash=tokens.token_hash("code", tokens.token_new()), code_hash=hashed,
                    created_at=now, **fields)
            return token, code
        except IntegrityError:  # drawn at the same moment by another browser
            continue
    raise ServiceError(_("Too many people are binding right now. Try again in a minute."), field="method")


# --- starting from the browser -------------------------------------------------------------------------------------


@transaction.atomic
def binding_start(*, workspace, method: str, visitor_id: str = "", member_id: str = "", account=None) -> BindingStart:
    """A fresh token for this browser: a 6-digit code in a pre-filled LINE / WhatsApp message, or a ref on an
    m.me / ig.me link. Valid for 10 minutes, once; a newer one for the same browser and method replaces it."""
    settings = _enabled(workspace)
    if method not in BROWSER_METHODS:
        raise ServiceError(_("Choose one of: %(methods)s.") % {"methods": ", ".join(BROWSER_METHODS)},
                           field="method")
    visitor_id = _visitor_id(visitor_id, required=not member_id)
    member_id = _member_id(member_id)
    account = _account(workspace, METHOD_CHANNEL[method], account)
    now = clock.now(workspace)
    visitor = _visitor(workspace, visitor_id)
    _void_previous(workspace, visitor, method, now)
    fields = {"method": method, "visitor": visitor, "member_id": member_id, "account": account,
              "expires_at": now + TOKEN_LIFETIME}
    if method in CODE_METHODS:
        _token, code = _code_token(workspace, now=now, **fields)
        template = settings.code_text.strip() or _("My binding code is {code}")
        text = template.replace("{code}", code)
        url = (links.line_message_url(account, text) if method == BindingMethod.LINE_CODE
               else links.whatsapp_message_url(account, text))
        return BindingStart(method=method, account=account, url=url, expires_at=fields["expires_at"], code=code,
                            text=text)
    raw = tokens.token_new()
    BindingToken.objects.create(workspace=workspace, token_hash=tokens.token_hash("ref", raw), created_at=now,
                                **fields)
    ref = tokens.REF_PREFIX + raw
    url = (links.messenger_ref_url(account, ref) if method == BindingMethod.MESSENGER_REF
           else links.instagram_ref_url(account, ref))
    return BindingStart(method=method, account=account, url=url, expires_at=fields["expires_at"])


# --- LINE account link ---------------------------------------------------------------------------------------------


def binding_line_link_offer(*, workspace, identity: ChannelIdentity) -> list[Message]:
    """Ask LINE for a link token for this LINE user and send them a button to the shop's member login page
    carrying it (?linkToken=…). The LINE call happens before the transaction that records and sends."""
    settings = _enabled(workspace)
    if not settings.member_login_url:
        raise ServiceError(_("Set the member login page first."), field="member_login_url")
    if identity.workspace_id != workspace.pk or identity.channel != "line":
        raise ServiceError(_("Account link works with LINE users only."), field="identity")
    account = identity.account
    if not account.is_active:
        raise ServiceError(_("This LINE account is disconnected."), field="identity")
    try:
        link_token = issue_link_token(account, identity.external_id)
    except (LineApiError, KeyError) as exc:
        raise ServiceError(_("LINE did not issue a link token: %(error)s") % {"error": exc}, field="identity") from None
    with transaction.atomic():
        now = clock.now(workspace)
        BindingToken.objects.create(
            workspace=workspace, method=BindingMethod.LINE_LINK, token_hash=tokens.token_hash("linktoken", link_token),
            account=account, identity=identity, created_at=now, expires_at=now + LINK_TOKEN_LIFETIME)
        url = links.login_url_with_link_token(settings.member_login_url, link_token)
        content = {"type": "buttons", "text": _("Log in to the shop to link your member account with LINE."),
                   "actions": [{"type": "uri", "label": _("Log in and link"), "uri": url}]}
        return message_send(workspace=workspace, contact=identity.contact, channel="line", account=account,
                            contents=[content], purpose=Purpose.NOTIFICATION, source="binding")


def binding_line_link_begin(*, workspace, link_token: str, member_id: str,
                            visitor_id: str = "") -> tuple[str, datetime.datetime]:
    """The member logged in on the shop's page, which hands us the link token: store a fresh nonce (hashed) for
    this member and browser and return LINE's account-link dialog URL. The link token works once."""
    _enabled(workspace)
    member_id = _member_id(member_id)
    if not member_id:
        raise ServiceError(_("Give the member id of the member who logged in."), field="member_id")
    visitor_id = _visitor_id(visitor_id, required=False)
    link_token = str(link_token or "").strip()
    if not link_token or len(link_token) > 200:
        raise ServiceError(_("Give the link token from the login page's address."), field="link_token")
    found = BindingToken.objects.filter(token_hash=tokens.token_hash("linktoken", link_token)).first()
    with transaction.atomic():
        try:
            token = _link_token_usable(workspace, found)
        except Refused as refused:
            refusal = refused
        else:
            nonce = secrets.token_urlsafe(32)  # 256 bits, 43 characters (LINE wants 10-255)
            token.token_hash = tokens.token_hash("nonce", nonce)
            token.visitor = _visitor(workspace, visitor_id)
            token.member_id = member_id
            token.save(update_fields=["token_hash", "visitor", "member_id"])
            return links.line_account_link_url(token.account, link_token, nonce), token.expires_at
    refusal_note(refusal, where="line-link", workspace=workspace.pk)  # kept: outside the rolled-back attempt
    raise ServiceError(_("This link has expired or was already used. Ask for a new one in the LINE chat."),
                       field="link_token")


def _link_token_usable(workspace, found: BindingToken | None) -> BindingToken:
    if found is None:
        raise Refused("unknown")
    if found.workspace_id != workspace.pk:
        raise Refused("other_workspace", found, count=True)
    token = BindingToken.objects.select_for_update(of=("self",)).select_related("account").get(pk=found.pk)
    if token.consumed_at or token.voided_at:
        raise Refused("used", token, count=True)
    if token.expires_at <= clock.now(workspace):
        raise Refused("expired", token, count=True)
    return token


# --- what webhooks carry -----------------------------------------------------------------------------------------


def binding_from_code(*, account, identity: ChannelIdentity, text: str) -> BindingOutcome | None:
    """A text message on LINE or WhatsApp that may carry a binding code. None: no code of a live token in it (a
    normal message - counted against the sender, whose codes are ignored after SENDER_MISS_LIMIT misses)."""
    codes = tokens.codes_in(text)
    if not codes:
        return None
    workspace = account.workspace
    if sender_misses(account, identity) >= SENDER_MISS_LIMIT:
        refusal_note(Refused("too_many_attempts"), where="code", account=account.pk, identity=identity.pk)
        return BindingOutcome(refused="too_many_attempts")
    for code in codes:
        token = (BindingToken.objects.for_workspace(workspace)
                 .filter(code_hash=tokens.code_hash(workspace.pk, code)).first())
        if token is not None:
            return redeem(token=token, account=account, identity=identity, where="code")
    sender_miss(account, identity, window=SENDER_MISS_WINDOW)
    return None


def binding_from_ref(*, account, identity: ChannelIdentity, ref: str) -> BindingOutcome | None:
    """An m.me / ig.me link's ref (new thread: Get Started postback; existing thread: referral). None when the
    ref is not ours (an ad, another tool)."""
    if not ref.startswith(tokens.REF_PREFIX):
        return None
    raw = ref[len(tokens.REF_PREFIX):]
    token = BindingToken.objects.filter(token_hash=tokens.token_hash("ref", raw)).first()
    return redeem(token=token, account=account, identity=identity, where="ref")


def binding_from_account_link(*, account, identity: ChannelIdentity | None, result: str,
                              nonce: str) -> BindingOutcome:
    """LINE's accountLink webhook: `ok` binds the nonce's member and browser to this LINE user; `failed` (no user
    named) spends the nonce."""
    token = BindingToken.objects.filter(token_hash=tokens.token_hash("nonce", nonce or "")).first() if nonce else None
    if result != "ok" or identity is None:
        if token is not None and token.workspace_id == account.workspace_id:
            BindingToken.objects.filter(pk=token.pk, consumed_at__isnull=True).update(
                voided_at=clock.now(account.workspace))
        refusal_note(Refused("link_failed", token), where="account-link", account=account.pk, result=result)
        return BindingOutcome(refused="link_failed")
    return redeem(token=token, account=account, identity=identity, where="account-link")


def binding_line_link_requested(*, account, identity: ChannelIdentity) -> None:
    """The LINE user tapped the account-link menu item: offer the button after this webhook commits (the link
    token comes from an HTTP call to LINE, which must not hold the webhook's transaction)."""
    from tidings.core.tasking import enqueue_on_commit

    from .tasks import line_link_offer_task

    enqueue_on_commit(line_link_offer_task, identity.pk)


# --- tracked links -------------------------------------------------------------------------------------------------


@transaction.atomic
def binding_tracked(*, workspace, visitor_id: str, tid: str) -> BindingOutcome:
    """A browser landed from a tracked link in one of our messages (`_tid`): bind it to the contact who received
    that message. The tid is signed, short-lived (10 minutes from the click) and works once."""
    _enabled(workspace)
    visitor_id = _visitor_id(visitor_id, required=True)
    tid = str(tid or "").strip()
    now = clock.now(workspace)
    invalid = ServiceError(_("This link has expired or is not valid."), field="tid")
    data = tid_read(tid) if tid and len(tid) <= 500 else None
    message = None
    try:
        if data is None:
            raise Refused("unknown")
        if data["w"] != workspace.pk:
            raise Refused("other_workspace")
        clicked = datetime.datetime.fromtimestamp(data["t"], tz=datetime.UTC)
        if now - clicked > TID_LIFETIME:
            raise Refused("expired")
        message = (Message.objects.for_workspace(workspace).filter(pk=data["m"], direction=Direction.OUTBOUND)
                   .select_related("identity", "account").first())
        if message is None:
            raise Refused("unknown")
        try:
            with transaction.atomic():
                token = BindingToken.objects.create(
                    workspace=workspace, method=BindingMethod.TRACKED_LINK, token_hash=tokens.token_hash("tid", tid),
                    account=message.account, identity=message.identity, created_at=now, consumed_at=now,
                    expires_at=clicked + TID_LIFETIME)
        except IntegrityError:
            raise Refused("used") from None
        contact = contact_resolve(workspace, message.contact_id)
        identity = message.identity if message.identity and message.identity.contact_id == contact.pk else None
        with transaction.atomic():
            outcome = bind(workspace=workspace, contact=contact, identity=identity, channel=message.channel,
                           method=BindingMethod.TRACKED_LINK, visitor=_visitor(workspace, visitor_id), token=token,
                           at=now)
    except Refused as refusal:
        refusal_note(refusal, where="tracked", workspace=workspace.pk, message=message.pk if message else None)
        raise invalid from None
    # No success message: the customer tapped a link in our message; they did not ask to bind.
    return outcome


# --- unbinding and settings ----------------------------------------------------------------------------------------


@transaction.atomic
def binding_unbind(*, workspace, contact: Contact, by) -> None:
    """End the contact's current bindings and undo what they did: the merges they caused (newest first), the
    member id they wrote, the browser they gave a contact; the contact is no longer bound."""
    from tidings.contacts.merging import contact_merge_undo

    if contact.workspace_id != workspace.pk:
        raise ServiceError(_("Unknown contact."), field="contact")
    ids = contact_ids_merged_into(contact)
    bindings = list(Binding.objects.for_workspace(workspace).filter(contact_id__in=ids, unbound_at__isnull=True)
                    .select_for_update().order_by("-bound_at", "-pk"))
    if not bindings:
        raise ServiceError(_("This customer is not bound."), field="contact")
    merges = {m.pk: m for b in bindings for m in b.merges.filter(undone_at__isnull=True)}
    for merge_id in sorted(merges, reverse=True):
        contact_merge_undo(workspace=workspace, merge=merges[merge_id], by=by)
    now = clock.now(workspace)
    touched = {}
    for binding in bindings:
        bound = Contact.objects.get(pk=binding.contact_id)
        if binding.member_id_set and bound.member_id == binding.member_id:
            contact_update(workspace=workspace, contact=bound, member_id="")
        if binding.visitor_attached and binding.visitor_id:
            # An anonymous browser that binding gave this contact is anonymous again, with its script's events.
            visitor_detach_contact(workspace=workspace, visitor=binding.visitor)
        touched[bound.pk] = bound
    Binding.objects.filter(pk__in=[b.pk for b in bindings]).update(
        unbound_at=now, unbound_by=by if isinstance(by, Membership) else None)
    for bound in touched.values():
        contact_set_unbound(contact=bound)
    contact_set_unbound(contact=contact)
    audit_record(workspace=workspace, actor=getattr(by, "user", by), action="binding.unbind", target=contact,
                 changes={"bindings": [b.pk for b in bindings], "merges_undone": sorted(merges)})


@transaction.atomic
def binding_settings_update(*, workspace, by, enabled: bool, success_message: str = "", code_text: str = "",
                            member_login_url: str = "") -> BindingSettings:
    success_message = (success_message or "").strip()
    code_text = (code_text or "").strip()
    member_login_url = (member_login_url or "").strip()
    if len(success_message) > 1000:
        raise ServiceError(_("At most 1,000 characters."), field="success_message")
    if len(code_text) > 200:
        raise ServiceError(_("At most 200 characters."), field="code_text")
    if code_text and "{code}" not in code_text:
        raise ServiceError(_("Put {code} where the 6-digit code goes."), field="code_text")
    if member_login_url:
        try:
            URLValidator(schemes=["http", "https"])(member_login_url)
        except ValidationError:
            raise ServiceError(_("Enter a web address (http or https)."), field="member_login_url") from None
    settings, _created = BindingSettings.objects.select_for_update().get_or_create(workspace=workspace)
    new = {"enabled": bool(enabled), "success_message": success_message, "code_text": code_text,
           "member_login_url": member_login_url}
    changes = {key: [getattr(settings, key), value] for key, value in new.items() if getattr(settings, key) != value}
    for key, value in new.items():
        setattr(settings, key, value)
    settings.save()
    if changes:
        audit_record(workspace=workspace, actor=getattr(by, "user", by), action="binding.settings",
                     target=workspace, changes=changes)
    return settings
