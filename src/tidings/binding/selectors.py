"""Reads of binding: settings, a contact's bindings, what a browser may bind with, and whether it is bound."""

from django.db.models import Q, QuerySet

from tidings.channels.models import ChannelAccount
from tidings.contacts.models import Contact, Visitor
from tidings.contacts.selectors import contact_ids_merged_into
from tidings.core import clock

from .models import METHOD_CHANNEL, Binding, BindingMethod, BindingSettings, BindingToken

# The methods a browser starts itself (/bind/v1/start), in the order a widget offers them. LINE account link
# starts in the chat (the bot sends the login button), a tracked link in a message.
BROWSER_METHODS = (BindingMethod.LINE_CODE, BindingMethod.WHATSAPP_CODE, BindingMethod.MESSENGER_REF,
                   BindingMethod.INSTAGRAM_REF)


def binding_settings_get(workspace) -> BindingSettings:
    """The workspace's settings; the defaults (unsaved) until someone saves them."""
    found = BindingSettings.objects.filter(workspace=workspace).first()
    return found or BindingSettings(workspace=workspace)


def bindings_of(workspace, contact: Contact) -> QuerySet[Binding]:
    """Every binding of this contact and of contacts merged into it since, current ones first, newest first (the
    profile page and the API)."""
    return (Binding.objects.for_workspace(workspace).filter(contact_id__in=contact_ids_merged_into(contact))
            .select_related("identity__account", "visitor").order_by("unbound_at", "-bound_at", "-pk"))


def bindings_list(workspace) -> QuerySet[Binding]:
    """The workspace's bindings, newest first (the settings page's recent bindings)."""
    return (Binding.objects.for_workspace(workspace)
            .select_related("contact", "identity__account", "visitor").order_by("-bound_at", "-pk"))


def binding_accounts(workspace) -> dict[str, list[ChannelAccount]]:
    """Active accounts by channel (oldest first) for the channels binding works on."""
    channels = set(METHOD_CHANNEL.values())
    out: dict[str, list[ChannelAccount]] = {}
    for account in (ChannelAccount.objects.for_workspace(workspace).filter(channel__in=channels, is_active=True)
                    .order_by("id")):
        out.setdefault(account.channel, []).append(account)
    return out


def binding_methods(workspace) -> list[tuple[str, ChannelAccount]]:
    """(method, account) a browser may start now: one per connected active account of each method's channel."""
    accounts = binding_accounts(workspace)
    return [(method, account) for method in BROWSER_METHODS for account in accounts.get(METHOD_CHANNEL[method], [])]


def visitor_find(workspace, visitor_id: str) -> Visitor | None:
    return Visitor.objects.for_workspace(workspace).filter(visitor_id=visitor_id).select_related("contact").first()


def visitor_bound_channels(workspace, visitor: Visitor | None) -> list[str]:
    """The channels this browser is bound on: its own current bindings, and those of the contact it belongs to
    (a customer bound from another browser is bound here too once this browser is theirs)."""
    if visitor is None:
        return []
    current = Binding.objects.for_workspace(workspace).filter(unbound_at__isnull=True)
    who = Q(visitor=visitor)
    if visitor.contact_id:
        who |= Q(contact_id=visitor.contact_id)
    channels = current.filter(who).values_list("channel", flat=True)
    return sorted(set(channels))


def active_visitor_binding(workspace, visitor: Visitor, contact: Contact) -> Binding | None:
    """A current binding of this visitor to this contact (binding again changes nothing)."""
    return (Binding.objects.for_workspace(workspace)
            .filter(unbound_at__isnull=True, visitor=visitor, contact=contact).first())


def member_contact(workspace, member_id: str) -> Contact | None:
    """The live contact carrying this member id."""
    return (Contact.objects.for_workspace(workspace).filter(member_id=member_id, merged_into__isnull=True)
            .order_by("pk").first())


def tokens_active(workspace) -> QuerySet[BindingToken]:
    now = clock.now(workspace)
    return BindingToken.objects.for_workspace(workspace).filter(
        consumed_at__isnull=True, voided_at__isnull=True, expires_at__gt=now)
