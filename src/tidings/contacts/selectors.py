"""Reads of contacts: lookups, the filtered list, and a profile's data."""

import re

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from .models import (
    ChannelIdentity,
    Contact,
    ContactMerge,
    ContactNote,
    ContactTag,
    CustomAttribute,
    Tag,
    Visitor,
)


def contact_get(workspace, contact_id) -> Contact | None:
    """The contact with this id in this workspace, merged or not (None when there is none)."""
    return Contact.objects.for_workspace(workspace).filter(pk=contact_id).first()


def contact_resolve(workspace, contact_id) -> Contact | None:
    """The contact to show for an id: a merged contact's id leads to the contact it was merged into (following a
    chain of merges), so ids stored elsewhere before a merge keep working."""
    contact = contact_get(workspace, contact_id)
    seen = set()
    while contact is not None and contact.merged_into_id and contact.pk not in seen:
        seen.add(contact.pk)
        contact = Contact.objects.for_workspace(workspace).filter(pk=contact.merged_into_id).first()
    return contact


def contact_ids_merged_into(contact: Contact) -> list[int]:
    """This contact's id and the ids of every contact merged into it (directly or through a chain): their messages
    and conversations, which stay on the merged contact's id, belong to this profile."""
    ids, frontier = [contact.pk], [contact.pk]
    while frontier:
        frontier = list(Contact.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        frontier = [pk for pk in frontier if pk not in ids]
        ids += frontier
    return ids


def contact_identity(contact: Contact, channel: str, account=None) -> ChannelIdentity | None:
    """The identity a message to this contact on this channel goes to (the most recently active one)."""
    identities = contact.identities.filter(channel=channel)
    if account is not None:
        identities = identities.filter(account=account)
    return identities.order_by("-subscribed", "-updated_at").select_related("account").first()


def identities_by_phone(workspace, phone: str, channel: str) -> QuerySet[ChannelIdentity]:
    return ChannelIdentity.objects.for_workspace(workspace).filter(channel=channel, contact__phone=phone)


def contacts_filter(workspace, *, q: str = "", channel: str = "", tag: str = "", subscribed: bool | None = None,
                    bound: bool | None = None) -> QuerySet[Contact]:
    """Live (not merged) contacts, newest first.

    q: name, phone or email containing it (case-insensitive; PostgreSQL serves these from trigram indexes), or a
       member id or tag name equal to it. channel: has an identity on that channel. subscribed: has (True) / has
       no (False) subscribed identity - on `channel` when one is given. bound: bound_at set or not.
    """
    contacts = Contact.objects.for_workspace(workspace).filter(merged_into__isnull=True)
    q = (q or "").strip()
    if q:
        tagged = ContactTag.objects.filter(tag__workspace=workspace, tag__name=q).values("contact_id")
        # Phones are stored as +digits: "6123 4567" or "6123-4567" must find +85261234567 (as the console list does).
        digits = re.sub(r"[\s\-().]", "", q)
        phone = Q(phone__icontains=digits) if re.fullmatch(r"\+?\d+", digits) else Q(phone__icontains=q)
        contacts = contacts.filter(Q(name__icontains=q) | phone | Q(email__icontains=q)
                                   | Q(member_id=q) | Q(pk__in=tagged))
    if tag:
        contacts = contacts.filter(pk__in=ContactTag.objects.filter(tag__workspace=workspace, tag__name=tag)
                                   .values("contact_id"))
    identities = ChannelIdentity.objects.filter(contact=OuterRef("pk"))
    if channel:
        identities = identities.filter(channel=channel)
        contacts = contacts.filter(Exists(identities))
    if subscribed is not None:
        has_subscribed = Exists(identities.filter(subscribed=True))
        contacts = contacts.filter(has_subscribed if subscribed else ~has_subscribed)
    if bound is not None:
        contacts = contacts.filter(bound_at__isnull=not bound)
    return contacts.order_by("-created_at", "-pk")


def contacts_with_details(queryset: QuerySet[Contact]) -> QuerySet[Contact]:
    """Prefetch what a list row or the API shows (identities with accounts, tags, visitors) in a few queries."""
    return queryset.prefetch_related(
        Prefetch("identities", queryset=ChannelIdentity.objects.select_related("account").order_by("created_at", "pk")),
        Prefetch("contact_tags", queryset=ContactTag.objects.select_related("tag").order_by("tag__name")),
        Prefetch("visitors", queryset=Visitor.objects.order_by("-last_seen_at")),
    )


def contact_tag_names(contact: Contact) -> list[str]:
    return [ct.tag.name for ct in contact.contact_tags.all()]


def tags_list(workspace, *, q: str = "") -> QuerySet[Tag]:
    """The workspace's tags by name, each with `contact_count` (live contacts)."""
    from django.db.models import Count

    tags = Tag.objects.for_workspace(workspace)
    if q:
        tags = tags.filter(name__icontains=q.strip())
    return tags.annotate(contact_count=Count("contact_tags", filter=Q(contact_tags__contact__merged_into__isnull=True))
                         ).order_by("name")


def custom_attributes_list(workspace) -> QuerySet[CustomAttribute]:
    return CustomAttribute.objects.for_workspace(workspace).order_by("name", "pk")


def custom_attribute_get(workspace, custom_attribute_id) -> CustomAttribute | None:
    return CustomAttribute.objects.for_workspace(workspace).filter(pk=custom_attribute_id).first()


def contact_merges(workspace, contact: Contact) -> QuerySet[ContactMerge]:
    """Merges this contact took part in, newest first (for the profile's history and the Admin's undo)."""
    return (ContactMerge.objects.for_workspace(workspace).filter(Q(kept=contact) | Q(merged=contact))
            .select_related("kept", "merged", "by__user", "undone_by__user").order_by("-created_at", "-pk"))


def merge_get(workspace, merge_id) -> ContactMerge | None:
    return ContactMerge.objects.for_workspace(workspace).filter(pk=merge_id).select_related("kept", "merged").first()


def contact_profile(workspace, contact: Contact) -> dict:
    """Everything a profile page or the API shows about one contact, apart from events (tracking.contact_events),
    messages (messaging) and bindings (binding.bindings_of), which their own apps read.

    attributes: one row per definition, {"key", "name", "type", "choices", "value"} (value None when unset),
    plus any stored value whose definition is gone is omitted.
    """
    contact = contacts_with_details(Contact.objects.filter(pk=contact.pk, workspace=workspace)).get()
    definitions = list(custom_attributes_list(workspace))
    values = contact.attributes or {}
    return {
        "contact": contact,
        "identities": list(contact.identities.all()),
        "tags": contact_tag_names(contact),
        "attributes": [{"key": d.key, "name": d.name, "type": d.type, "choices": d.choices,
                        "value": values.get(d.key)} for d in definitions],
        "notes": list(ContactNote.objects.filter(contact=contact).select_related("author__user")
                      .order_by("-created_at", "-pk")[:100]),
        "visitors": list(contact.visitors.all()),
        "bound": contact.bound_at is not None,
        "bound_at": contact.bound_at,
        "merges": list(contact_merges(workspace, contact)[:50]),
        "merged_ids": contact_ids_merged_into(contact)[1:],
        "interactions": {
            "last_customer_interaction_at": contact.last_customer_interaction_at,
            "last_team_interaction_at": contact.last_team_interaction_at,
            "last_marketing_at": contact.last_marketing_at,
        },
    }
