"""Merging two contacts into one, and undoing it exactly (SPEC D1).

`contacts_merge` folds `merged` into `kept`: identities, visitors, tracking events, notes and tags move to `kept`;
`kept`'s empty details and attributes are filled from `merged`; interaction times take the later of the two;
`merged.merged_into = kept` hides it. Everything that changed is written to `ContactMerge.moved`:

    {"identities": [ids], "visitors": [ids], "events": [ids], "notes": [ids],
     "tags": [every tag id `merged` had], "tags_added": [tag ids `kept` did not have],
     "fields": {"email": "a@b.c", ...}, "attributes": {"birthday": "1990-01-02", ...},
     "times": {"last_customer_interaction_at": {"before": iso | null, "after": iso}, ...}}

`contact_merge_undo` moves exactly those rows back and clears exactly those values (a value edited on `kept` since
the merge is left as edited). Undo is last-in-first-out: while a later merge that involves either contact is in
force it is refused with a message naming that merge, so no row is ever pulled out of a later merge's record.
Kept in a module of its own only for length; `services` re-exports both functions.
"""

import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Membership, Workspace
from tidings.core.services import audit_record

from .models import ChannelIdentity, Contact, ContactMerge, ContactNote, ContactTag, MergeReason, TrackingEvent, Visitor

FILLED_FIELDS = ("name", "phone", "email", "member_id", "avatar_url")
LATER_TIMES = ("last_customer_interaction_at", "last_team_interaction_at", "last_marketing_at")
ROWS = {"identities": ChannelIdentity, "visitors": Visitor, "events": TrackingEvent, "notes": ContactNote}


def _who(by) -> tuple[Membership | None, object]:
    """(membership for ContactMerge.by, user for the audit log) from a Membership, a User or None."""
    if isinstance(by, Membership):
        return by, by.user
    return None, by


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _locked(workspace: Workspace, *contacts: Contact) -> list[Contact]:
    for contact in contacts:
        if contact.workspace_id != workspace.pk:
            raise NotFound()
    rows = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=[c.pk for c in contacts])}
    return [rows[c.pk] for c in contacts]


def _label(contact: Contact) -> str:
    return str(contact)


@transaction.atomic
def contacts_merge(*, workspace: Workspace, kept: Contact, merged: Contact, reason: str, detail: str = "",
                   by=None) -> ContactMerge:
    """Fold `merged` into `kept` (see the module docstring); returns the record an Admin can undo."""
    if reason not in MergeReason.values:
        raise ServiceError(_("Unknown merge reason."), field="reason")
    if kept.pk == merged.pk:
        raise ServiceError(_("A contact cannot be merged into itself."), field="merged")
    kept, merged = _locked(workspace, kept, merged)
    if kept.merged_into_id or merged.merged_into_id:
        raise ServiceError(_("One of these contacts was already merged into another."), field="merged")
    if kept.member_id and merged.member_id and kept.member_id != merged.member_id:
        raise ServiceError(_("These contacts have different member ids (%(a)s, %(b)s): they are different people.")
                           % {"a": kept.member_id, "b": merged.member_id}, field="member_id",
                           code="member_id_conflict")
    moved: dict = {}
    for key, model in ROWS.items():
        rows = model.objects.filter(contact=merged)
        moved[key] = list(rows.values_list("pk", flat=True))
        rows.update(contact=kept)

    merged_tags = list(ContactTag.objects.filter(contact=merged).values_list("tag_id", flat=True))
    kept_tags = set(ContactTag.objects.filter(contact=kept).values_list("tag_id", flat=True))
    added = [t for t in merged_tags if t not in kept_tags]
    at = clock.now(workspace)
    ContactTag.objects.bulk_create([ContactTag(workspace=workspace, contact=kept, tag_id=t, created_at=at)
                                    for t in added])
    ContactTag.objects.filter(contact=merged).delete()
    moved["tags"], moved["tags_added"] = merged_tags, added

    moved["fields"] = {}
    for field in FILLED_FIELDS:
        if getattr(merged, field) and not getattr(kept, field):
            moved["fields"][field] = getattr(merged, field)
            setattr(kept, field, getattr(merged, field))
    moved["attributes"] = {k: v for k, v in (merged.attributes or {}).items() if k not in (kept.attributes or {})}
    kept.attributes = {**(kept.attributes or {}), **moved["attributes"]}
    moved["times"] = {}
    for field in LATER_TIMES:
        mine, theirs = getattr(kept, field), getattr(merged, field)
        if theirs and (mine is None or theirs > mine):
            moved["times"][field] = {"before": _iso(mine), "after": _iso(theirs)}
            setattr(kept, field, theirs)
    if merged.bound_at and not kept.bound_at:
        moved["times"]["bound_at"] = {"before": None, "after": _iso(merged.bound_at)}
        kept.bound_at = merged.bound_at
    kept.save()
    merged.merged_into = kept
    merged.save(update_fields=["merged_into", "updated_at"])

    membership, user = _who(by)
    record = ContactMerge.objects.create(workspace=workspace, kept=kept, merged=merged, reason=reason,
                                         detail=(detail or "")[:300], moved=moved, by=membership, created_at=at)
    audit_record(workspace=workspace, actor=user, action="contact.merge", target=kept, changes={
        "merge_id": record.pk, "merged_id": merged.pk, "merged": _label(merged), "reason": reason, "detail": detail,
        **{key: len(moved[key]) for key in ROWS}, "tags_added": len(added), "fields": sorted(moved["fields"]),
        "attributes": sorted(moved["attributes"]),
    })
    return record


def _blocking_merge(merge: ContactMerge) -> ContactMerge | None:
    """A later merge still in force that involves one of this merge's contacts."""
    ids = [merge.kept_id, merge.merged_id]
    later = ContactMerge.objects.filter(workspace_id=merge.workspace_id, undone_at__isnull=True, pk__gt=merge.pk)
    return (later.filter(kept_id__in=ids) | later.filter(merged_id__in=ids)).order_by("-pk").first()


@transaction.atomic
def contact_merge_undo(*, workspace: Workspace, merge: ContactMerge, by) -> None:
    """Un-merge: both contacts as they were before `merge`, but for what changed on `kept` since."""
    if merge.workspace_id != workspace.pk:
        raise NotFound()
    merge = ContactMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at:
        raise ServiceError(_("This merge was already undone."), field="merge")
    blocking = _blocking_merge(merge)
    if blocking is not None:
        raise ServiceError(
            _("Undo the later merge of “%(merged)s” into “%(kept)s” first.")
            % {"merged": _label(blocking.merged), "kept": _label(blocking.kept)}, field="merge", code="merge_blocked")
    kept, merged = _locked(workspace, merge.kept, merge.merged)
    if merged.merged_into_id != kept.pk:
        raise ServiceError(_("This contact is no longer merged into that one."), field="merge")
    moved = merge.moved or {}

    for key, model in ROWS.items():
        model.objects.filter(pk__in=moved.get(key, []), contact=kept).update(contact=merged)
    ContactTag.objects.filter(contact=kept, tag_id__in=moved.get("tags_added", [])).delete()
    at = clock.now(workspace)
    ContactTag.objects.bulk_create([ContactTag(workspace=workspace, contact=merged, tag_id=t, created_at=at)
                                    for t in moved.get("tags", [])], ignore_conflicts=True)

    for field, value in moved.get("fields", {}).items():
        if getattr(kept, field) == value:
            setattr(kept, field, "")
    attributes = dict(kept.attributes or {})
    for key, value in moved.get("attributes", {}).items():
        if key in attributes and attributes[key] == value:
            del attributes[key]
    kept.attributes = attributes
    for field, change in moved.get("times", {}).items():
        if _iso(getattr(kept, field)) == change["after"]:
            before = change["before"]
            setattr(kept, field, datetime.datetime.fromisoformat(before) if before else None)
    if merged.member_id and Contact.objects.for_workspace(workspace).filter(
            member_id=merged.member_id, merged_into__isnull=True).exclude(pk=kept.pk).exists():
        raise ServiceError(_("Another contact has taken member id %(id)s since the merge; change it first.")
                           % {"id": merged.member_id}, field="member_id")
    if merged.member_id and kept.member_id == merged.member_id:
        raise ServiceError(_("Both contacts would have member id %(id)s; change it on “%(kept)s” first.")
                           % {"id": merged.member_id, "kept": _label(kept)}, field="member_id")
    kept.save()
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])

    membership, user = _who(by)
    merge.undone_at, merge.undone_by = at, membership
    merge.save(update_fields=["undone_at", "undone_by"])
    audit_record(workspace=workspace, actor=user, action="contact.merge_undo", target=kept, changes={
        "merge_id": merge.pk, "merged_id": merged.pk, "merged": _label(merged),
    })
