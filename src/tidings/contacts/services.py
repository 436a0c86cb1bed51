"""Writes to contacts: details, identities, tags, notes, binding state, identification and merges (SPEC D1).

Typed custom attributes live in `attributes.py` and are re-exported here; merging and un-merging in `merging.py`.
Every function is keyword-only with `workspace` first (the few identity helpers take the identity or contact,
which carries its workspace) and runs in one transaction.
"""

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.id_sets import ids_q
from tidings.core.models import Workspace

from .attributes import (  # noqa: F401  (re-exported: callers import every contacts write from here)
    attributes_validate,
    custom_attribute_create,
    custom_attribute_delete,
    custom_attribute_update,
)
from .models import ChannelIdentity, Contact, ContactNote, ContactTag, MergeReason, Tag
from .tags import tag_delete, tag_rename  # noqa: F401  (re-exported, as above)

NAME_MAX = 200
MEMBER_ID_MAX = 100
TAG_MAX = 100
NOTE_MAX = 5000
BULK = 1000  # rows per bulk statement

# --- validation ----------------------------------------------------------------------------------------------


def phone_normalize(*, workspace: Workspace, phone: str, field: str = "phone") -> str:
    """E.164 for a number typed with or without its country code (the workspace's default region applies)."""
    try:
        parsed = phonenumbers.parse(phone, workspace.default_phone_region)
    except phonenumbers.NumberParseException:
        raise ServiceError(_("Enter a valid phone number, e.g. +852 6123 4567."), field=field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ServiceError(_("Enter a valid phone number, e.g. +852 6123 4567."), field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email_normalize(email: str, *, field: str = "email") -> str:
    """A valid address, stripped, its domain lower-cased (the local part is the owner's business)."""
    email = (email or "").strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid email address."), field=field) from None
    local, _at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _text(value, *, field: str, limit: int) -> str:
    value = ("" if value is None else str(value)).strip()
    if len(value) > limit:
        raise ServiceError(_("At most %(n)d characters.") % {"n": limit}, field=field)
    return value


def _member_id_free(workspace: Workspace, member_id: str, *, exclude_pk=None) -> None:
    """Member ids are unique per workspace among contacts that are not merged into another."""
    taken = Contact.objects.for_workspace(workspace).filter(member_id=member_id, merged_into__isnull=True)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ServiceError(_("Another contact already has this member id."), field="member_id", code="member_id_taken")


def _lock_member_ids(workspace: Workspace) -> None:
    """Serialize member id assignments in one workspace (the uniqueness rule has no database constraint, since
    merged contacts keep theirs)."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()


def _own(workspace: Workspace, contact: Contact) -> Contact:
    if contact.workspace_id != workspace.pk:
        raise NotFound()
    return contact


# --- contacts ------------------------------------------------------------------------------------------------


@transaction.atomic
def contact_create(*, workspace: Workspace, name: str = "", phone: str = "", email: str = "", member_id: str = "",
                   attributes: dict | None = None, tags=None, by=None) -> Contact:
    name = _text(name, field="name", limit=NAME_MAX)
    phone = phone_normalize(workspace=workspace, phone=phone) if (phone or "").strip() else ""
    email = email_normalize(email)
    member_id = _text(member_id, field="member_id", limit=MEMBER_ID_MAX)
    values = {k: v for k, v in attributes_validate(workspace=workspace, values=attributes or {}).items()
              if v is not None}
    if member_id:
        _lock_member_ids(workspace)
        _member_id_free(workspace, member_id)
    contact = Contact.objects.create(workspace=workspace, name=name, phone=phone, email=email, member_id=member_id,
                                     attributes=values, created_at=clock.now(workspace))
    if tags:
        tags_add(workspace=workspace, contact_ids=[contact.pk], names=tags, by=by)
    return contact


CONTACT_EDITABLE = ("name", "phone", "email", "member_id", "attributes")


@transaction.atomic
def contact_update(*, workspace: Workspace, contact: Contact, by=None, **changes) -> Contact:
    """Change details; `attributes` merge key by key (a None value clears that attribute)."""
    _own(workspace, contact)
    unknown = set(changes) - set(CONTACT_EDITABLE)
    if unknown:
        raise ServiceError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)),
                           field=sorted(unknown)[0])
    if contact.merged_into_id:
        raise ServiceError(_("This contact was merged into another; edit that one."), field="contact")
    values = {}
    if "name" in changes:
        values["name"] = _text(changes["name"], field="name", limit=NAME_MAX)
    if "phone" in changes:
        phone = (changes["phone"] or "").strip()
        values["phone"] = phone_normalize(workspace=workspace, phone=phone) if phone else ""
    if "email" in changes:
        values["email"] = email_normalize(changes["email"])
    if "member_id" in changes:
        values["member_id"] = _text(changes["member_id"], field="member_id", limit=MEMBER_ID_MAX)
        if values["member_id"] and values["member_id"] != contact.member_id:
            _lock_member_ids(workspace)
            _member_id_free(workspace, values["member_id"], exclude_pk=contact.pk)
    if changes.get("attributes") is not None:
        if not isinstance(changes["attributes"], dict):
            raise ServiceError(_("Attributes must be an object of key: value."), field="attributes")
        merged = dict(contact.attributes or {})
        for key, value in attributes_validate(workspace=workspace, values=changes["attributes"]).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        values["attributes"] = merged
    changed = [field for field, value in values.items() if getattr(contact, field) != value]
    for field in changed:
        setattr(contact, field, values[field])
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


def contact_set_phone(*, contact: Contact, phone: str) -> Contact:
    """Save a verified phone (E.164) on the contact, e.g. from a LINE notification delivered to a friend (N2)."""
    phone = phone_normalize(workspace=contact.workspace, phone=phone)
    if contact.phone != phone:
        contact.phone = phone
        contact.save(update_fields=["phone", "updated_at"])
    return contact


def contact_set_bound(*, contact: Contact, at=None) -> Contact:
    """The binding app bound a visitor / member to one of this contact's chat identities (D2)."""
    at = at or clock.now(contact.workspace)
    Contact.objects.filter(pk=contact.pk).update(bound_at=at, updated_at=timezone.now())
    contact.bound_at = at
    return contact


def contact_set_unbound(*, contact: Contact) -> Contact:
    Contact.objects.filter(pk=contact.pk).update(bound_at=None, updated_at=timezone.now())
    contact.bound_at = None
    return contact


# --- identification ------------------------------------------------------------------------------------------


def _root(contact: Contact | None) -> Contact | None:
    """Follow merges to the contact that is shown now."""
    seen = set()
    while contact is not None and contact.merged_into_id and contact.pk not in seen:
        seen.add(contact.pk)
        contact = contact.merged_into
    return contact


def _find(workspace: Workspace, **lookup) -> Contact | None:
    """The live contact a key names; a merged contact with that key leads to the one it was merged into."""
    base = Contact.objects.for_workspace(workspace).filter(**lookup)
    live = base.filter(merged_into__isnull=True).order_by("created_at", "pk").first()
    return live or _root(base.order_by("-pk").first())


@transaction.atomic
def contact_identify(*, workspace: Workspace, member_id: str = "", phone: str = "", email: str = "", name: str = "",
                     phone_verified: bool = False) -> Contact | None:
    """The contact these keys name: member id first, then a verified phone, then email; created when none matches
    and a key is given. A member id and a verified phone naming two different contacts are one person: the phone's
    contact is merged into the member's (reason phone), unless it carries another member id (then they are
    different people and nothing is merged). Missing details are filled in on the contact found."""
    member_id = _text(member_id, field="member_id", limit=MEMBER_ID_MAX)
    phone = phone_normalize(workspace=workspace, phone=phone) if (phone or "").strip() else ""
    email = email_normalize(email)
    name = _text(name, field="name", limit=NAME_MAX)
    if not (member_id or phone or email):
        return None
    if member_id:
        _lock_member_ids(workspace)
    by_member = _find(workspace, member_id=member_id) if member_id else None
    by_phone = _find(workspace, phone=phone) if phone and phone_verified else None
    if by_member and by_phone and by_member.pk != by_phone.pk:
        if not by_phone.member_id or by_phone.member_id == member_id:
            from .merging import contacts_merge

            contacts_merge(workspace=workspace, kept=by_member, merged=by_phone, reason=MergeReason.PHONE,
                           detail=phone)
            by_member.refresh_from_db()
        by_phone = None
    contact = by_member or by_phone or (_find(workspace, email__iexact=email) if email else None)
    if contact is None:
        return Contact.objects.create(workspace=workspace, member_id=member_id, phone=phone, email=email, name=name,
                                      created_at=clock.now(workspace))
    fill = {"name": name, "phone": phone, "email": email}
    if member_id and not contact.member_id:
        fill["member_id"] = member_id  # no live contact has it: by_member was None
    changed = [field for field, value in fill.items() if value and not getattr(contact, field)]
    for field in changed:
        setattr(contact, field, fill[field])
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


# --- identities ----------------------------------------------------------------------------------------------


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


INTERACTION_FIELDS = {
    "customer": "last_customer_interaction_at",
    "team": "last_team_interaction_at",
    "marketing": "last_marketing_at",
}


def contacts_touch(*, contact_ids, kind: str, at=None) -> None:
    """Move an interaction time forward (never back) for many contacts at once."""
    field = INTERACTION_FIELDS[kind]
    at = at or timezone.now()
    older = Q(**{f"{field}__lt": at}) | Q(**{f"{field}__isnull": True})
    Contact.objects.filter(older, ids_q("pk", contact_ids)).update(**{field: at})  # a broadcast: thousands


# --- tags ----------------------------------------------------------------------------------------------------


def tag_names_clean(names, *, field: str = "tags") -> list[str]:
    """Stripped, de-duplicated (order kept) tag names; an over-long one is refused."""
    if isinstance(names, str):
        names = [names]
    out = []
    for raw in names or []:
        name = ("" if raw is None else str(raw)).strip()
        if not name:
            continue
        if len(name) > TAG_MAX:
            raise ServiceError(_("A tag may be at most %(n)d characters.") % {"n": TAG_MAX}, field=field)
        if name not in out:
            out.append(name)
    return out


def _live_ids(workspace: Workspace, contact_ids) -> list[int]:
    ids = list({int(pk) for pk in contact_ids})
    found = []
    for start in range(0, len(ids), BULK):
        found += Contact.objects.for_workspace(workspace).filter(
            pk__in=ids[start:start + BULK], merged_into__isnull=True).values_list("pk", flat=True)
    return found


@transaction.atomic
def tags_add(*, workspace: Workspace, contact_ids, names, by=None) -> int:
    """Tag many contacts with one or more tags (created when new); returns how many (contact, tag) pairs were new.
    Ids of other workspaces' or merged contacts are ignored."""
    names = tag_names_clean(names)
    ids = _live_ids(workspace, contact_ids)
    if not names or not ids:
        return 0
    Tag.objects.bulk_create([Tag(workspace=workspace, name=n) for n in names], ignore_conflicts=True)
    tag_ids = list(Tag.objects.for_workspace(workspace).filter(name__in=names).values_list("pk", flat=True))
    at = clock.now(workspace)
    added = 0
    for start in range(0, len(ids), BULK):
        chunk = ids[start:start + BULK]
        have = set(ContactTag.objects.filter(contact_id__in=chunk, tag_id__in=tag_ids)
                   .values_list("contact_id", "tag_id"))
        rows = [ContactTag(workspace=workspace, contact_id=c, tag_id=t, created_at=at)
                for c in chunk for t in tag_ids if (c, t) not in have]
        ContactTag.objects.bulk_create(rows, ignore_conflicts=True)
        added += len(rows)
    return added


@transaction.atomic
def tags_remove(*, workspace: Workspace, contact_ids, names, by=None) -> int:
    """Untag many contacts; returns how many (contact, tag) pairs were removed. Tags themselves are kept."""
    names = tag_names_clean(names)
    ids = _live_ids(workspace, contact_ids)
    if not names or not ids:
        return 0
    tag_ids = list(Tag.objects.for_workspace(workspace).filter(name__in=names).values_list("pk", flat=True))
    removed = 0
    for start in range(0, len(ids), BULK):
        removed += ContactTag.objects.filter(contact_id__in=ids[start:start + BULK], tag_id__in=tag_ids).delete()[0]
    return removed


# --- notes ---------------------------------------------------------------------------------------------------


@transaction.atomic
def note_add(*, workspace: Workspace, contact: Contact, text: str, author=None) -> ContactNote:
    _own(workspace, contact)
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Write the note first."), field="text")
    if len(text) > NOTE_MAX:
        raise ServiceError(_("At most %(n)d characters.") % {"n": NOTE_MAX}, field="text")
    contact = _root(contact)
    return ContactNote.objects.create(workspace=workspace, contact=contact, text=text, author=author,
                                      created_at=clock.now(workspace))


# Merging lives in merging.py (it is long); re-exported so every contacts write is imported from here.
from .merging import contact_merge_undo, contacts_merge  # noqa: E402,F401
