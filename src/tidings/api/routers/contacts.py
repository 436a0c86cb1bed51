"""Contacts (SPEC D1): list and search, create, read, edit, tag; merges and their undo.

A merged contact's id keeps working: reads and writes on it act on the contact it was merged into (the answer's
`id` says which). Bad input answers 422 naming the field: `phone`, `email`, `member_id`, `attributes.<key>`, `tags`.
"""

import datetime
from typing import Literal

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.contacts.models import Channel, Contact, MergeReason
from tidings.contacts.selectors import (
    contact_merges,
    contact_resolve,
    contact_tag_names,
    contacts_filter,
    contacts_with_details,
    merge_get,
)
from tidings.contacts.services import (
    contact_create,
    contact_merge_undo,
    contact_update,
    contacts_merge,
    tags_add,
    tags_remove,
)
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission

from ..errors import COMMON_ERRORS, ObjectNotFound
from ..pagination import PageParams, page_of
from ..permissions import requires

router = Router(tags=["contacts"])

ChannelName = Literal["line", "sms", "whatsapp", "messenger", "instagram"]
assert set(ChannelName.__args__) == set(Channel.values)


class AccountRef(Schema):
    id: int
    name: str


class IdentityOut(Schema):
    id: int
    channel: ChannelName
    account: AccountRef
    account_id: int
    external_id: str = Field(..., description="LINE user id, phone (SMS), WhatsApp id, PSID or IGSID")
    display_name: str
    picture_url: str
    subscribed: bool = Field(..., description="A LINE friend who has not blocked us; for SMS, not opted out")
    subscribed_at: datetime.datetime | None
    unsubscribed_at: datetime.datetime | None
    last_inbound_at: datetime.datetime | None = Field(..., description="When this person last wrote on it")
    created_at: datetime.datetime


class VisitorOut(Schema):
    visitor_id: str
    first_seen_at: datetime.datetime
    last_seen_at: datetime.datetime


class BindingOut(Schema):
    bound: bool = Field(..., description="A website visitor or member is bound to one of the chat identities")
    bound_at: datetime.datetime | None


class ContactOut(Schema):
    id: int
    name: str
    phone: str = Field(..., description="E.164")
    email: str
    member_id: str = Field(..., description="The shop's own customer id; unique in the workspace")
    avatar_url: str
    attributes: dict = Field(..., description="Custom attribute values by key (dates as YYYY-MM-DD)")
    tags: list[str]
    identities: list[IdentityOut]
    visitors: list[VisitorOut]
    binding: BindingOut
    bound: bool
    bound_at: datetime.datetime | None
    last_customer_interaction_at: datetime.datetime | None
    last_team_interaction_at: datetime.datetime | None
    last_marketing_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


ContactPage = page_of(ContactOut)


class ContactFilters(PageParams):
    q: str = Field("", max_length=200, description="Part of a name, phone or email; or a member id or tag name")
    tag: str = Field("", max_length=100, description="Only contacts with this tag")
    channel: ChannelName | None = Field(None, description="Only contacts with an identity on this channel")
    subscribed: bool | None = Field(None, description="With (true) or without (false) a subscribed identity "
                                                      "(on `channel` when given)")
    bound: bool | None = Field(None, description="Bound to a website visitor / member (true) or not (false)")


class ContactIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field("", max_length=200)
    phone: str | None = Field("", max_length=40, description="With or without country code (the workspace's "
                                                           "default region applies); stored as E.164")
    email: str | None = Field("", max_length=254)
    member_id: str | None = Field("", max_length=100)
    attributes: dict | None = Field(None, description="Custom attribute values by key")
    tags: list[str] | None = None


class ContactPatch(Schema):
    """Send only what changes; `attributes` merge key by key (null clears one)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    member_id: str | None = Field(None, max_length=100)
    attributes: dict | None = None


class TagsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(default_factory=list, description='Tag names, e.g. ["vip"]')


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    merged_id: int = Field(..., description="The contact folded into this one (it disappears from lists)")
    detail: str = Field("", max_length=300)


class ContactRef(Schema):
    id: int
    name: str


class MergeOut(Schema):
    id: int
    kept: ContactRef
    merged: ContactRef
    reason: MergeReason
    detail: str
    moved: dict = Field(..., description="What moved: identity, visitor, event, note and tag ids, filled fields")
    created_at: datetime.datetime
    undone_at: datetime.datetime | None


def contact_out(contact: Contact) -> dict:
    """One contact as the API shows it; expects `contacts_with_details` prefetches."""
    return {
        "id": contact.pk, "name": contact.name, "phone": contact.phone, "email": contact.email,
        "member_id": contact.member_id, "avatar_url": contact.avatar_url, "attributes": contact.attributes or {},
        "tags": contact_tag_names(contact),
        "identities": [{
            "id": i.pk, "channel": i.channel, "account": {"id": i.account_id, "name": i.account.name},
            "account_id": i.account_id, "external_id": i.external_id, "display_name": i.display_name,
            "picture_url": i.picture_url, "subscribed": i.subscribed, "subscribed_at": i.subscribed_at,
            "unsubscribed_at": i.unsubscribed_at, "last_inbound_at": i.last_inbound_at, "created_at": i.created_at,
        } for i in contact.identities.all()],
        "visitors": [{"visitor_id": v.visitor_id, "first_seen_at": v.first_seen_at, "last_seen_at": v.last_seen_at}
                     for v in contact.visitors.all()],
        "binding": {"bound": contact.bound_at is not None, "bound_at": contact.bound_at},
        "bound": contact.bound_at is not None, "bound_at": contact.bound_at,
        "last_customer_interaction_at": contact.last_customer_interaction_at,
        "last_team_interaction_at": contact.last_team_interaction_at,
        "last_marketing_at": contact.last_marketing_at,
        "created_at": contact.created_at, "updated_at": contact.updated_at,
    }


def _contact(workspace, contact_id: int) -> Contact:
    contact = contact_resolve(workspace, contact_id)
    if contact is None:
        raise ObjectNotFound()
    return contact


def _detail(workspace, contact_id: int) -> dict:
    return contact_out(contacts_with_details(Contact.objects.for_workspace(workspace).filter(pk=contact_id)).get())


def _merge_out(merge) -> dict:
    return {"id": merge.pk, "kept": {"id": merge.kept_id, "name": str(merge.kept)},
            "merged": {"id": merge.merged_id, "name": str(merge.merged)}, "reason": merge.reason,
            "detail": merge.detail, "moved": merge.moved, "created_at": merge.created_at,
            "undone_at": merge.undone_at}


@router.get("/contacts", response={200: ContactPage, **COMMON_ERRORS}, summary="List and search contacts")
@requires(Permission.CONTACTS_VIEW)
def list_contacts(request, filters: Query[ContactFilters]):
    contacts = contacts_filter(request.auth.workspace, q=filters.q, tag=filters.tag, channel=filters.channel or "",
                               subscribed=filters.subscribed, bound=filters.bound)
    rows = contacts_with_details(contacts)[filters.offset:filters.offset + filters.limit]
    return {"items": [contact_out(c) for c in rows], "count": contacts.count()}


@router.post("/contacts", response={201: ContactOut, **COMMON_ERRORS}, summary="Create a contact")
@requires(Permission.CONTACTS_EDIT)
def create_contact(request, payload: ContactIn):
    workspace = request.auth.workspace
    contact = contact_create(
        workspace=workspace, name=payload.name or "", phone=payload.phone or "", email=payload.email or "",
        member_id=payload.member_id or "", attributes=payload.attributes, tags=payload.tags,
        by=request.auth.membership,
    )
    return Status(201, _detail(workspace, contact.pk))


@router.get("/contacts/{contact_id}", response={200: ContactOut, **COMMON_ERRORS},
            summary="One contact: identities, tags, attributes, binding, interaction times")
@requires(Permission.CONTACTS_VIEW)
def get_contact(request, contact_id: int):
    workspace = request.auth.workspace
    return _detail(workspace, _contact(workspace, contact_id).pk)


@router.patch("/contacts/{contact_id}", response={200: ContactOut, **COMMON_ERRORS}, summary="Edit a contact")
@requires(Permission.CONTACTS_EDIT)
def patch_contact(request, contact_id: int, payload: ContactPatch):
    workspace = request.auth.workspace
    contact = _contact(workspace, contact_id)
    changes = {k: ("" if v is None and k != "attributes" else v)
               for k, v in payload.model_dump(exclude_unset=True).items()}
    contact_update(workspace=workspace, contact=contact, by=request.auth.membership, **changes)
    return _detail(workspace, contact.pk)


@router.post("/contacts/{contact_id}/tags", response={200: ContactOut, **COMMON_ERRORS},
             summary="Add tags to a contact (new tags are created)")
@requires(Permission.CONTACTS_EDIT)
def add_contact_tags(request, contact_id: int, payload: TagsIn):
    workspace = request.auth.workspace
    contact = _contact(workspace, contact_id)
    tags_add(workspace=workspace, contact_ids=[contact.pk], names=payload.tags, by=request.auth.membership)
    return _detail(workspace, contact.pk)


@router.delete("/contacts/{contact_id}/tags", response={200: ContactOut, **COMMON_ERRORS},
               summary="Remove tags from a contact")
@requires(Permission.CONTACTS_EDIT)
def remove_contact_tags(request, contact_id: int, payload: TagsIn | None = None,
                        tag: Query[list[str]] = None):
    """Tags in the body (`{"tags": ["vip"]}`) or, for clients that send no body with DELETE, `?tag=vip&tag=new`."""
    workspace = request.auth.workspace
    contact = _contact(workspace, contact_id)
    names = [*(payload.tags if payload else []), *(tag or [])]
    tags_remove(workspace=workspace, contact_ids=[contact.pk], names=names, by=request.auth.membership)
    return _detail(workspace, contact.pk)


@router.get("/contacts/{contact_id}/merges", response={200: list[MergeOut], **COMMON_ERRORS},
            summary="Merges this contact took part in, newest first")
@requires(Permission.CONTACTS_VIEW)
def list_contact_merges(request, contact_id: int):
    workspace = request.auth.workspace
    return [_merge_out(m) for m in contact_merges(workspace, _contact(workspace, contact_id))[:100]]


@router.post("/contacts/{contact_id}/merge", response={201: MergeOut, **COMMON_ERRORS},
             summary="Merge another contact into this one (reason: manual)")
@requires(Permission.CONTACTS_MERGE)
def merge_contact(request, contact_id: int, payload: MergeIn):
    workspace = request.auth.workspace
    kept = _contact(workspace, contact_id)
    merged = Contact.objects.for_workspace(workspace).filter(pk=payload.merged_id, merged_into__isnull=True).first()
    if merged is None:
        raise ServiceError(_("No such contact (or it is already merged)."), field="merged_id")
    try:
        merge = contacts_merge(workspace=workspace, kept=kept, merged=merged, reason=MergeReason.MANUAL,
                               detail=payload.detail, by=request.auth.membership)
    except ServiceError as exc:
        if exc.field == "merged":
            exc.field = "merged_id"
        raise
    return Status(201, _merge_out(merge))


@router.post("/contact-merges/{merge_id}/undo", response={200: MergeOut, **COMMON_ERRORS},
             summary="Undo a merge: both contacts as they were")
@requires(Permission.CONTACTS_MERGE)
def undo_contact_merge(request, merge_id: int):
    workspace = request.auth.workspace
    merge = merge_get(workspace, merge_id)
    if merge is None:
        raise ObjectNotFound()
    with transaction.atomic():
        contact_merge_undo(workspace=workspace, merge=merge, by=request.auth.membership)
    merge.refresh_from_db()
    return _merge_out(merge)
