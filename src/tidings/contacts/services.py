"""Writes to contacts and identities. The Social CDP issue adds tags, attributes, merging and binding."""

import phonenumbers
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError
from tidings.core.models import Workspace

from .models import ChannelIdentity, Contact


def phone_normalize(*, workspace: Workspace, phone: str, field: str = "phone") -> str:
    """E.164 for a number typed with or without its country code (the workspace's default region applies)."""
    try:
        parsed = phonenumbers.parse(phone, workspace.default_phone_region)
    except phonenumbers.NumberParseException:
        raise ServiceError(_("Enter a valid phone number, e.g. +852 6123 4567."), field=field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ServiceError(_("Enter a valid phone number, e.g. +852 6123 4567."), field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def contact_create(*, workspace: Workspace, name: str = "", phone: str = "", email: str = "") -> Contact:
    if phone:
        phone = phone_normalize(workspace=workspace, phone=phone)
    return Contact.objects.create(workspace=workspace, name=name.strip(), phone=phone, email=email.strip())


def _phone_of(channel: str, external_id: str) -> str:
    """SMS addresses are E.164 numbers; a WhatsApp id is the number without its "+"."""
    if channel == "sms":
        return external_id
    if channel == "whatsapp" and external_id.isdigit():
        return f"+{external_id}"
    return ""


def identity_note_inbound(*, identity: ChannelIdentity, at) -> None:
    """The person wrote to us at `at`: their customer-service window runs from the latest such moment."""
    if identity.last_inbound_at is None or identity.last_inbound_at < at:
        ChannelIdentity.objects.filter(pk=identity.pk).update(last_inbound_at=at)
        identity.last_inbound_at = at


def identity_upsert(
    *,
    workspace: Workspace,
    account,
    external_id: str,
    display_name: str = "",
    picture_url: str = "",
    contact: Contact | None = None,
) -> tuple[ChannelIdentity, bool]:
    """The identity for (account, external_id), created with a new contact when first seen; returns (identity, created)."""
    identity = ChannelIdentity.objects.filter(account=account, external_id=external_id).first()
    if identity is None:
        try:
            with transaction.atomic():
                contact = contact or Contact.objects.create(
                    workspace=workspace, name=display_name, avatar_url=picture_url,
                    phone=_phone_of(account.channel, external_id),
                )
                identity = ChannelIdentity.objects.create(
                    workspace=workspace, contact=contact, channel=account.channel, account=account,
                    external_id=external_id, display_name=display_name, picture_url=picture_url,
                )
                return identity, True
        except IntegrityError:  # created concurrently by another webhook
            identity = ChannelIdentity.objects.get(account=account, external_id=external_id)
    changed = []
    if display_name and identity.display_name != display_name:
        identity.display_name = display_name
        changed.append("display_name")
    if picture_url and identity.picture_url != picture_url:
        identity.picture_url = picture_url
        changed.append("picture_url")
    if changed:
        identity.save(update_fields=[*changed, "updated_at"])
        contact = identity.contact
        if not contact.name and display_name:
            contact.name = display_name
            contact.save(update_fields=["name", "updated_at"])
    return identity, False


def identity_set_subscribed(*, identity: ChannelIdentity, subscribed: bool, at=None) -> ChannelIdentity:
    at = at or timezone.now()
    if identity.subscribed != subscribed:
        identity.subscribed = subscribed
        if subscribed:
            identity.subscribed_at = at
        else:
            identity.unsubscribed_at = at
        identity.save(update_fields=["subscribed", "subscribed_at", "unsubscribed_at", "updated_at"])
    return identity


def contact_set_phone(*, contact: Contact, phone: str) -> Contact:
    """Save a verified phone (E.164) on the contact, e.g. from a LINE notification delivered to a friend (N2)."""
    phone = phone_normalize(workspace=contact.workspace, phone=phone)
    if contact.phone != phone:
        contact.phone = phone
        contact.save(update_fields=["phone", "updated_at"])
    return contact


INTERACTION_FIELDS = {
    "customer": "last_customer_interaction_at",
    "team": "last_team_interaction_at",
    "marketing": "last_marketing_at",
}


def contacts_touch(*, contact_ids, kind: str, at=None) -> None:
    """Move an interaction time forward (never back) for many contacts at once."""
    field = INTERACTION_FIELDS[kind]
    at = at or timezone.now()
    from django.db.models import Q

    Contact.objects.filter(Q(**{f"{field}__lt": at}) | Q(**{f"{field}__isnull": True}), pk__in=list(contact_ids)).update(
        **{field: at}
    )
