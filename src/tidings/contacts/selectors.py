from django.db.models import QuerySet

from .models import ChannelIdentity, Contact


def contact_get(workspace, contact_id) -> Contact | None:
    return Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()


def contact_identity(contact: Contact, channel: str, account=None) -> ChannelIdentity | None:
    """The identity a message to this contact on this channel goes to (the most recently active one)."""
    identities = contact.identities.filter(channel=channel)
    if account is not None:
        identities = identities.filter(account=account)
    return identities.order_by("-subscribed", "-updated_at").select_related("account").first()


def identities_by_phone(workspace, phone: str, channel: str) -> QuerySet[ChannelIdentity]:
    return ChannelIdentity.objects.for_workspace(workspace).filter(channel=channel, contact__phone=phone)
