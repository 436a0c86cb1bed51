"""Merging two contacts and undoing it: every identity, visitor, event, note, tag and filled detail goes back."""

import datetime

import pytest
from django.utils import timezone

from tidings.contacts.models import (
    ChannelIdentity,
    Contact,
    ContactMerge,
    ContactNote,
    ContactTag,
    MergeReason,
    TrackingEvent,
    Visitor,
)
from tidings.contacts.selectors import contact_resolve, contacts_filter
from tidings.contacts.services import (
    contact_create,
    contact_merge_undo,
    contact_update,
    contacts_merge,
    custom_attribute_create,
    identity_upsert,
    note_add,
    tags_add,
)
from tidings.core.errors import ServiceError
from tidings.core.models import AuditEntry

T0 = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def _tags(contact):
    return set(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))


def _rows(model, contact):
    return set(model.objects.filter(contact=contact).values_list("pk", flat=True))


@pytest.fixture
def pair(workspace, line_account, sms_account):
    """Two contacts of one person: a LINE friend (kept) and a web shopper with SMS, events, notes (merged)."""
    custom_attribute_create(workspace=workspace, key="tier", name="Tier", type="choice", choices=["gold", "silver"])
    custom_attribute_create(workspace=workspace, key="city", name="City", type="text")
    line, _ = identity_upsert(workspace=workspace, account=line_account, external_id="U" + "1" * 32,
                              display_name="Mei")
    kept = line.contact
    contact_update(workspace=workspace, contact=kept, attributes={"city": "Taipei"})
    Contact.objects.filter(pk=kept.pk).update(last_customer_interaction_at=T0,
                                              last_marketing_at=T0 + datetime.timedelta(days=5))
    tags_add(workspace=workspace, contact_ids=[kept.pk], names=["vip", "line"])
    merged = contact_create(workspace=workspace, name="Mei Lin", phone="+85261234567", email="mei@example.com",
                            member_id="M-1", attributes={"tier": "gold", "city": "Tainan"}, tags=["vip", "web"])
    Contact.objects.filter(pk=merged.pk).update(last_customer_interaction_at=T0 + datetime.timedelta(days=1),
                                                last_marketing_at=T0, bound_at=T0)
    sms, _ = identity_upsert(workspace=workspace, account=sms_account, external_id="+85261234567",
                             contact=Contact.objects.get(pk=merged.pk))
    visitor = Visitor.objects.create(workspace=workspace, visitor_id="v-1", contact=merged)
    events = [TrackingEvent.objects.create(workspace=workspace, contact=merged, visitor=visitor, type=t,
                                           source="web", occurred_at=T0) for t in ("view_product", "add_to_cart")]
    note = note_add(workspace=workspace, contact=merged, text="Prefers oolong")
    kept.refresh_from_db()
    merged.refresh_from_db()
    return {"kept": kept, "merged": merged, "line": line, "sms": sms, "visitor": visitor, "events": events,
            "note": note}


def test_merge_moves_everything_onto_the_kept_contact(workspace, admin, pair):
    kept, merged = pair["kept"], pair["merged"]
    merge = contacts_merge(workspace=workspace, kept=kept, merged=merged, reason=MergeReason.MANUAL,
                           detail="same person", by=admin)
    kept.refresh_from_db()
    merged.refresh_from_db()

    assert _rows(ChannelIdentity, kept) == {pair["line"].pk, pair["sms"].pk}
    assert _rows(Visitor, kept) == {pair["visitor"].pk}
    assert _rows(TrackingEvent, kept) == {e.pk for e in pair["events"]}
    assert _rows(ContactNote, kept) == {pair["note"].pk}
    assert _tags(kept) == {"vip", "line", "web"} and _tags(merged) == set()
    # empty details filled in, present ones kept
    assert (kept.name, kept.phone, kept.email, kept.member_id) == ("Mei", "+85261234567", "mei@example.com", "M-1")
    assert kept.attributes == {"city": "Taipei", "tier": "gold"}
    # interaction times: the later of the two
    assert kept.last_customer_interaction_at == T0 + datetime.timedelta(days=1)
    assert kept.last_marketing_at == T0 + datetime.timedelta(days=5)
    assert kept.bound_at == T0
    # the merged one is hidden; its id leads to the kept one
    assert merged.merged_into_id == kept.pk
    assert set(contacts_filter(workspace)) == {kept}
    assert contact_resolve(workspace, merged.pk) == kept
    assert merge.by == admin and merge.reason == "manual"
    assert set(merge.moved["fields"]) == {"phone", "email", "member_id"}
    entry = AuditEntry.objects.get(action="contact.merge")
    assert entry.actor == admin.user and entry.changes["merged_id"] == merged.pk


def test_undo_restores_both_contacts_exactly(workspace, admin, pair):
    kept, merged = pair["kept"], pair["merged"]
    before = {c.pk: Contact.objects.filter(pk=c.pk).values().get() for c in (kept, merged)}
    merge = contacts_merge(workspace=workspace, kept=kept, merged=merged, reason=MergeReason.MANUAL, by=admin)

    contact_merge_undo(workspace=workspace, merge=merge, by=admin)

    for pk, row in before.items():
        after = Contact.objects.filter(pk=pk).values().get()
        row.pop("updated_at"), after.pop("updated_at")
        assert after == row
    assert _rows(ChannelIdentity, kept) == {pair["line"].pk}
    assert _rows(ChannelIdentity, merged) == {pair["sms"].pk}
    assert _rows(Visitor, merged) == {pair["visitor"].pk}
    assert _rows(TrackingEvent, merged) == {e.pk for e in pair["events"]}
    assert _rows(ContactNote, merged) == {pair["note"].pk}
    assert _tags(kept) == {"vip", "line"} and _tags(merged) == {"vip", "web"}
    merge.refresh_from_db()
    assert merge.undone_at is not None and merge.undone_by == admin
    assert set(contacts_filter(workspace)) == {kept, merged}
    assert AuditEntry.objects.filter(action="contact.merge_undo", actor=admin.user).count() == 1


def test_undo_keeps_what_was_edited_and_added_after_the_merge(workspace, admin, pair, sms_account):
    kept, merged = pair["kept"], pair["merged"]
    merge = contacts_merge(workspace=workspace, kept=kept, merged=merged, reason=MergeReason.MANUAL)
    kept.refresh_from_db()
    contact_update(workspace=workspace, contact=kept, email="new@example.com")
    note = note_add(workspace=workspace, contact=kept, text="Called after the merge")
    later = timezone.now()
    Contact.objects.filter(pk=kept.pk).update(last_customer_interaction_at=later)

    contact_merge_undo(workspace=workspace, merge=merge, by=admin)

    kept.refresh_from_db()
    assert kept.email == "new@example.com"  # edited since: not the merged value any more
    assert kept.phone == "" and kept.member_id == ""  # filled by the merge: cleared
    assert kept.last_customer_interaction_at == later
    assert note.pk in _rows(ContactNote, kept)


def test_a_later_merge_must_be_undone_first(workspace, admin, pair):
    kept, merged = pair["kept"], pair["merged"]
    first = contacts_merge(workspace=workspace, kept=kept, merged=merged, reason=MergeReason.MANUAL)
    third = contact_create(workspace=workspace, name="Someone", tags=["web"])
    second = contacts_merge(workspace=workspace, kept=third, merged=Contact.objects.get(pk=kept.pk),
                            reason=MergeReason.MANUAL)

    with pytest.raises(ServiceError, match="Undo the later merge") as refused:
        contact_merge_undo(workspace=workspace, merge=first, by=admin)
    assert refused.value.field == "merge"

    contact_merge_undo(workspace=workspace, merge=second, by=admin)
    contact_merge_undo(workspace=workspace, merge=first, by=admin)
    assert _rows(ChannelIdentity, kept) == {pair["line"].pk}
    assert _rows(ChannelIdentity, merged) == {pair["sms"].pk}
    assert _tags(third) == {"web"} and _tags(merged) == {"vip", "web"} and _tags(kept) == {"vip", "line"}
    with pytest.raises(ServiceError, match="already undone"):
        contact_merge_undo(workspace=workspace, merge=first, by=admin)


def test_merging_refuses_different_member_ids_and_merged_contacts(workspace, pair):
    other = contact_create(workspace=workspace, member_id="M-2")
    with pytest.raises(ServiceError) as refused:
        contacts_merge(workspace=workspace, kept=other, merged=pair["merged"], reason=MergeReason.MANUAL)
    assert refused.value.field == "member_id" and refused.value.code == "member_id_conflict"
    assert ContactMerge.objects.count() == 0 and Contact.objects.get(pk=pair["merged"].pk).merged_into is None

    contacts_merge(workspace=workspace, kept=pair["kept"], merged=pair["merged"], reason=MergeReason.MANUAL)
    with pytest.raises(ServiceError, match="already merged"):
        contacts_merge(workspace=workspace, kept=other, merged=Contact.objects.get(pk=pair["merged"].pk),
                       reason=MergeReason.MANUAL)
    with pytest.raises(ServiceError):
        contacts_merge(workspace=workspace, kept=other, merged=other, reason=MergeReason.MANUAL)


def test_another_workspaces_contact_cannot_be_merged(workspace, other_workspace, pair):
    foreign = contact_create(workspace=other_workspace, name="Elsewhere")
    with pytest.raises(ServiceError) as refused:
        contacts_merge(workspace=workspace, kept=pair["kept"], merged=foreign, reason=MergeReason.MANUAL)
    assert refused.value.code == "not_found"
    assert Contact.objects.get(pk=foreign.pk).merged_into is None


def test_the_member_id_of_a_merged_contact_still_names_the_kept_one(workspace, pair):
    from tidings.contacts.services import contact_identify

    kept = pair["kept"]
    merge = contacts_merge(workspace=workspace, kept=kept, merged=pair["merged"], reason=MergeReason.MANUAL)
    assert contact_identify(workspace=workspace, member_id="M-1") == kept
    # a new contact cannot take the member id while the merge stands
    with pytest.raises(ServiceError) as refused:
        contact_create(workspace=workspace, member_id="M-1")
    assert refused.value.field == "member_id"
    assert merge.pk

