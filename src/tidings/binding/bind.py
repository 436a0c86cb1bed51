"""The act of binding, shared by every flow: redeem a token once, bind its visitor / member to a contact, tell
the customer; or refuse, log why and change nothing.

A token is redeemed only from a signature-checked webhook (codes, refs, account links) or a signed tracked-link
`_tid`; the platform user id always comes from the webhook, never from a browser.
"""

import dataclasses
import logging

from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from tidings.contacts.models import ChannelIdentity, Contact, ContactMerge, MergeReason, Visitor
from tidings.contacts.services import contact_set_bound, contact_update, contacts_merge
from tidings.contacts.tracking import visitor_attach_contact
from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.messaging.models import Purpose
from tidings.messaging.services import message_send

from .models import METHOD_CHANNEL, Binding, BindingMethod, BindingToken
from .selectors import active_visitor_binding, binding_settings_get, member_contact

logger = logging.getLogger("tidings.binding")

MAX_ATTEMPTS = 5  # refused uses of one token before it is voided
# Refusals after which a token is spent for good: it can never bind anyway.
VOIDING = frozenset({"member_conflict"})
SUCCESS_SOURCE = "binding"


class Refused(Exception):
    """Why a token did not bind: unknown (forged), used, void, expired, other_workspace, wrong_channel,
    wrong_user, member_conflict, disabled, too_many_attempts, link_failed."""

    def __init__(self, reason: str, token: BindingToken | None = None, *, count: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.token = token
        self.count = count  # counts as a refused use of the token (attempts)


@dataclasses.dataclass
class BindingOutcome:
    binding: Binding | None = None
    created: bool = False  # False when the visitor was already bound to this contact
    refused: str | None = None

    @property
    def bound(self) -> bool:
        return self.binding is not None


def method_label(method: str) -> str:
    """The method's English name, stored as the merge detail (a record, not a screen string)."""
    with translation.override("en"):
        return str(BindingMethod(method).label)


def _release(token: BindingToken, **changes) -> None:
    """Stop a token being live: consumed or voided, and its code free to be drawn again."""
    BindingToken.objects.filter(pk=token.pk).update(code_hash=None, **changes)


def refusal_note(refusal: Refused, *, where: str, **context) -> None:
    """Log a refusal and count it against the token (voided after MAX_ATTEMPTS or when it can never bind).

    Runs outside the refused attempt's savepoint, so the count survives the rollback of the attempt itself."""
    token = refusal.token
    if token is not None and refusal.reason == "expired":
        _release(token)
    if token is not None and (refusal.count or refusal.reason in VOIDING):
        attempts = token.attempts + 1
        changes = {"attempts": attempts}
        if attempts >= MAX_ATTEMPTS or refusal.reason in VOIDING:
            BindingToken.objects.filter(pk=token.pk, voided_at__isnull=True).update(
                voided_at=clock.now(token.workspace), code_hash=None)
        BindingToken.objects.filter(pk=token.pk).update(**changes)
    logger.warning("Binding refused (%s) at %s: token=%s %s", refusal.reason, where,
                   token.pk if token is not None else None,
                   " ".join(f"{key}={value}" for key, value in sorted(context.items())))


def token_redeemable(token: BindingToken | None, *, account, now) -> BindingToken:
    """The token locked for redeeming on `account`, or Refused. A token found is always another workspace's or
    this one's: another workspace's is refused without a word about it."""
    if token is None:
        raise Refused("unknown")
    if token.workspace_id != account.workspace_id:
        raise Refused("other_workspace", token, count=True)
    token = BindingToken.objects.select_for_update(of=("self",)).select_related("workspace", "visitor").get(pk=token.pk)
    if token.consumed_at is not None:
        raise Refused("used", token, count=True)
    if token.voided_at is not None:
        raise Refused("void", token, count=True)
    if token.expires_at <= now:
        raise Refused("expired", token, count=True)  # refusal_note frees its code
    if token.account_id != account.pk or METHOD_CHANNEL.get(token.method) != account.channel:
        raise Refused("wrong_channel", token, count=True)
    if not binding_settings_get(account.workspace).enabled:
        raise Refused("disabled", token)
    return token


def token_consume(token: BindingToken, *, now) -> None:
    """Spend the token: exactly one redeemer wins (the row is locked, and the update checks it is still live)."""
    spent = BindingToken.objects.filter(pk=token.pk, consumed_at__isnull=True, voided_at__isnull=True).update(
        consumed_at=now, code_hash=None)
    if spent != 1:
        raise Refused("used", token)
    token.consumed_at = now


def _merge_watermark(workspace) -> int:
    return ContactMerge.objects.for_workspace(workspace).order_by("-pk").values_list("pk", flat=True).first() or 0


def _member_conflict(contact: Contact, visitor: Visitor | None, member_id: str) -> bool:
    """Two different member ids among the chat contact, the browser's contact and the token: different people."""
    ids = {contact.member_id, member_id}
    if visitor is not None and visitor.contact_id:
        ids.add(Contact.objects.filter(pk=visitor.contact_id).values_list("member_id", flat=True).first() or "")
    return len({i for i in ids if i}) > 1


def bind(*, workspace, contact: Contact, identity: ChannelIdentity | None, channel: str, method: str,
         visitor: Visitor | None, member_id: str = "", token: BindingToken | None = None, at=None,
         reason: str = MergeReason.BINDING) -> BindingOutcome:
    """Make the visitor and member one customer with `contact` (the chat identity's); run inside a transaction.

    The visitor is attached through `visitor_attach_contact` (a merge when the browser already had a contact); a
    member id names its contact, merged in (reason binding), or is written onto the contact when no one has it.
    Every merge is kept on the Binding so unbinding can undo it. Raises Refused("member_conflict") before any
    write when two different member ids meet. `reason` is the merges' reason (a verified phone merges as "phone").
    """
    at = at or clock.now(workspace)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if visitor is not None:
        visitor = Visitor.objects.select_for_update().get(pk=visitor.pk)
        existing = active_visitor_binding(workspace, visitor, contact)
        if existing is not None and (not member_id or contact.member_id == member_id):
            return BindingOutcome(binding=existing, created=False)
    if _member_conflict(contact, visitor, member_id):
        raise Refused("member_conflict", token)
    detail = f"Binding: {method_label(method)}"  # stored in English, like every record
    merges, attached, member_set = [], False, False
    if visitor is not None and visitor.contact_id != contact.pk:
        attached = visitor.contact_id is None
        watermark = _merge_watermark(workspace)
        contact = visitor_attach_contact(workspace=workspace, visitor=visitor, contact=contact, reason=reason,
                                         detail=detail)
        # The merge it made, if the browser already was someone: the contact it kept is the one returned.
        merges += list(ContactMerge.objects.for_workspace(workspace).filter(pk__gt=watermark, kept=contact,
                                                                            undone_at__isnull=True))
        contact.refresh_from_db()
    if member_id and contact.member_id != member_id:
        other = member_contact(workspace, member_id)
        if other is not None and other.pk != contact.pk:
            merges.append(contacts_merge(workspace=workspace, kept=contact, merged=other, reason=reason,
                                         detail=detail))
        else:
            contact_update(workspace=workspace, contact=contact, member_id=member_id)
            member_set = True
        contact.refresh_from_db()
    contact_set_bound(contact=contact, at=at)
    if identity is not None:
        identity = ChannelIdentity.objects.filter(pk=identity.pk).first()
    binding = Binding.objects.create(
        workspace=workspace, contact=contact, identity=identity, channel=channel, visitor=visitor,
        member_id=member_id, method=method, token=token, member_id_set=member_set, visitor_attached=attached,
        bound_at=at,
    )
    if merges:
        binding.merges.set(merges)
    logger.info("Bound %s: contact=%s identity=%s visitor=%s member=%s merges=%s", method, contact.pk,
                identity.pk if identity else None, visitor.pk if visitor else None, bool(member_id),
                [m.pk for m in merges])
    return BindingOutcome(binding=binding, created=True)


def success_text(workspace, contact: Contact) -> str:
    settings = binding_settings_get(workspace)
    text = settings.success_message.strip()
    if not text:
        # A message to the customer, sent from a webhook task: in the shop's language, not whichever the worker
        # happens to have active.
        with translation.override(django_settings.LANGUAGE_CODE):
            return _("Your account is now linked. We'll keep you posted here!")
    return text.replace("{name}", contact.name or "").strip()


def success_send(*, workspace, binding: Binding) -> None:
    """The configured binding-success message, on the channel and account that was bound; a send the channel
    refuses (a WhatsApp window closed, no account) is logged, and the binding stands. Purpose notification: an
    automatic notice is neither the team's interaction nor marketing, so it moves no interaction time."""
    identity = binding.identity
    if identity is None:
        return
    try:
        message_send(workspace=workspace, contact=binding.contact, channel=identity.channel, account=identity.account,
                     contents=[{"type": "text", "text": success_text(workspace, binding.contact)}],
                     purpose=Purpose.NOTIFICATION, source=SUCCESS_SOURCE)
    except ServiceError as exc:
        logger.warning("Binding %s: success message not sent: %s", binding.pk, exc.message)
    except Exception:  # noqa: BLE001 - the binding is made; a failed notice must not undo it
        logger.exception("Binding %s: success message failed", binding.pk)


def redeem(*, token: BindingToken | None, account, identity: ChannelIdentity, where: str, **context) -> BindingOutcome:
    """Redeem a token found in a webhook from `identity` on `account`: bind and send the success message, or
    refuse (logged, counted, nothing bound). Never raises: a webhook event must not fail over a bad token."""
    workspace = account.workspace
    now = clock.now(workspace)
    identity = ChannelIdentity.objects.select_related("contact", "account").get(pk=identity.pk)  # fresh contact
    try:
        with transaction.atomic():
            token = token_redeemable(token, account=account, now=now)
            if token.identity_id and token.identity_id != identity.pk:
                raise Refused("wrong_user", token, count=True)
            token_consume(token, now=now)
            outcome = bind(workspace=workspace, contact=identity.contact, identity=identity, channel=account.channel,
                           method=token.method, visitor=token.visitor, member_id=token.member_id, token=token, at=now)
    except Refused as refusal:
        refusal_note(refusal, where=where, account=account.pk, identity=identity.pk, **context)
        return BindingOutcome(refused=refusal.reason)
    if outcome.created:
        success_send(workspace=workspace, binding=outcome.binding)
    return outcome


def sender_key(account, identity) -> str:
    return f"binding:code-misses:{account.pk}:{identity.pk}"


def sender_misses(account, identity) -> int:
    return cache.get(sender_key(account, identity), 0)


def sender_miss(account, identity, *, window: int) -> None:
    key = sender_key(account, identity)
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)
