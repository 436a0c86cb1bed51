"""Visitors and events: identification, attaching anonymous history, merges, validation and dedupe."""

import datetime

import pytest
from django.utils import timezone

from tidings.contacts.models import ChannelIdentity, Contact, ContactMerge, TrackingEvent, Visitor
from tidings.contacts.services import contact_create
from tidings.contacts.tracking import (
    MAX_PROPERTIES_BYTES,
    EventsInvalid,
    contact_events,
    event_upsert,
    events_collect,
    events_record,
    visitor_attach_contact,
    visitor_by_cart_token,
    visitor_detach_contact,
    visitor_identify,
    visitor_touch,
)
from tidings.core.errors import ServiceError

VID = "v-0123456789abcdef"


def _view(event_id="", **extra):
    return {"type": "view_product", "properties": {"id": "P1", "name": "Oolong"}, "event_id": event_id, **extra}


def test_visitor_touch_creates_once_and_refuses_bad_ids(workspace):
    first = visitor_touch(workspace=workspace, visitor_id=VID)
    again = visitor_touch(workspace=workspace, visitor_id=VID)
    assert first.pk == again.pk and Visitor.objects.count() == 1
    for bad in ("short", "has space in it", "x" * 65, None, "<script>alert(1)"):
        with pytest.raises(ServiceError) as exc:
            visitor_touch(workspace=workspace, visitor_id=bad)
        assert exc.value.field == "visitor_id"


def test_the_same_visitor_id_in_two_workspaces_is_two_visitors(workspace, other_workspace):
    a = visitor_touch(workspace=workspace, visitor_id=VID)
    b = visitor_touch(workspace=other_workspace, visitor_id=VID)
    assert a.pk != b.pk


def test_identify_gives_anonymous_events_to_the_contact(workspace):
    result = events_collect(workspace=workspace, visitor_id=VID, events=[_view("e1"), _view("e2")])
    assert result.stored == 2
    assert TrackingEvent.objects.filter(contact__isnull=True).count() == 2

    visitor = visitor_identify(workspace=workspace, visitor_id=VID, member_id="M-7", email="mei@example.test",
                               name="Mei")
    contact = visitor.contact
    assert (contact.member_id, contact.email, contact.name) == ("M-7", "mei@example.test", "Mei")
    assert [e.properties["id"] for e in contact_events(workspace, contact)] == ["P1", "P1"]
    # Later events of that browser go straight to the contact.
    events_collect(workspace=workspace, visitor_id=VID, events=[{"type": "add_to_cart", "event_id": "e3"}])
    assert contact_events(workspace, contact)[0].type == "add_to_cart"


def test_identify_finds_the_existing_member_instead_of_creating_one(workspace):
    member = contact_create(workspace=workspace, name="Mei", member_id="M-7")
    visitor = visitor_identify(workspace=workspace, visitor_id=VID, member_id="M-7")
    assert visitor.contact_id == member.pk
    assert Contact.objects.count() == 1


def test_a_bound_visitor_logging_in_merges_its_chat_contact_with_the_member(workspace, line_account):
    # The visitor bound through LINE first (its contact has the LINE identity), then logged in as a member.
    line_contact = Contact.objects.create(workspace=workspace, name="LINE Mei")
    ChannelIdentity.objects.create(workspace=workspace, contact=line_contact, channel="line", account=line_account,
                                   external_id="U" + "a" * 32)
    visitor = visitor_touch(workspace=workspace, visitor_id=VID)
    visitor_attach_contact(workspace=workspace, visitor=visitor, contact=line_contact, reason="binding")
    member = contact_create(workspace=workspace, name="Mei Chan", member_id="M-7", email="mei@example.test")
    events_record(workspace=workspace, events=[_view(contact_id=member.pk)], source="api")

    visitor = visitor_identify(workspace=workspace, visitor_id=VID, member_id="M-7")

    # The contact reachable on LINE is kept (messages stay with it); the member's details and events join it.
    merge = ContactMerge.objects.get()
    assert (merge.kept_id, merge.merged_id, merge.reason) == (line_contact.pk, member.pk, "member_id")
    line_contact.refresh_from_db()
    assert line_contact.member_id == "M-7" and line_contact.email == "mei@example.test"
    assert visitor.contact_id == line_contact.pk
    assert [e.type for e in contact_events(workspace, line_contact)] == ["view_product"]


def test_two_members_on_one_browser_are_not_merged(workspace):
    visitor_identify(workspace=workspace, visitor_id=VID, member_id="M-1")
    visitor = visitor_identify(workspace=workspace, visitor_id=VID, member_id="M-2")
    assert visitor.contact.member_id == "M-2"
    assert not ContactMerge.objects.exists()
    assert Contact.objects.filter(merged_into__isnull=True).count() == 2


def test_browser_email_fills_a_known_contact_but_never_merges(workspace):
    other = contact_create(workspace=workspace, name="Someone", email="taken@example.test")
    first = visitor_identify(workspace=workspace, visitor_id=VID, member_id="M-1")
    visitor = visitor_identify(workspace=workspace, visitor_id=VID, email="taken@example.test", name="Mei")
    assert visitor.contact_id == first.contact_id
    assert visitor.contact.name == "Mei"  # it had no name
    assert not ContactMerge.objects.exists()
    other.refresh_from_db()
    assert other.merged_into_id is None


def test_attach_to_a_visitor_with_another_contact_merges_them(workspace):
    a = contact_create(workspace=workspace, name="A", email="a@example.test")
    b = contact_create(workspace=workspace, name="B", phone="+85261234567")
    visitor = visitor_touch(workspace=workspace, visitor_id=VID)
    assert visitor_attach_contact(workspace=workspace, visitor=visitor, contact=a, reason="binding") == a
    kept = visitor_attach_contact(workspace=workspace, visitor=visitor, contact=b, reason="binding",
                                  detail="LINE code")
    assert kept == a  # neither has a chat identity: the older one stays
    b.refresh_from_db()
    assert b.merged_into_id == a.pk
    assert ContactMerge.objects.get().detail == "LINE code"


def test_events_record_rejects_the_whole_batch_naming_every_bad_field(workspace):
    contact = contact_create(workspace=workspace, name="Mei")
    with pytest.raises(EventsInvalid) as exc:
        events_record(workspace=workspace, source="api", events=[
            _view(contact_id=contact.pk),
            {"type": "page_view", "contact_id": contact.pk},
            {"type": "purchase", "contact_id": 999_999},
            {"type": "purchase", "member_id": "nobody"},
            {"type": "checkout"},
            {"type": "checkout", "visitor_id": VID, "properties": ["not", "an", "object"]},
            {"type": "checkout", "visitor_id": VID, "occurred_at": "yesterday"},
            {"type": "checkout", "visitor_id": VID, "occurred_at": "1970-01-01T00:00:00Z"},
            {"type": "checkout", "visitor_id": VID, "properties": {"blob": "x" * MAX_PROPERTIES_BYTES}},
        ])
    fields = [field for field, _message in exc.value.errors]
    assert fields == ["events.1.type", "events.4.contact_id", "events.5.properties", "events.6.occurred_at",
                      "events.7.occurred_at", "events.8.properties", "events.2.contact_id", "events.3.member_id"]
    assert "view_product" in dict(exc.value.errors)["events.1.type"]
    assert not TrackingEvent.objects.exists() and not Visitor.objects.exists()


def test_events_record_limits_a_batch_to_100(workspace):
    with pytest.raises(EventsInvalid) as exc:
        events_record(workspace=workspace, source="api", events=[_view(visitor_id=VID)] * 101)
    assert exc.value.field == "events"


def test_future_events_are_refused_but_a_little_clock_drift_is_not(workspace):
    soon = (timezone.now() + datetime.timedelta(hours=2)).isoformat()
    later = (timezone.now() + datetime.timedelta(days=3)).isoformat()
    with pytest.raises(EventsInvalid) as exc:
        events_record(workspace=workspace, source="api", events=[_view(visitor_id=VID, occurred_at=later)])
    assert exc.value.field == "events.0.occurred_at"
    [event] = events_record(workspace=workspace, source="api", events=[_view(visitor_id=VID, occurred_at=soon)])
    assert event.occurred_at > timezone.now()


def test_dedupe_per_source_and_key(workspace):
    contact = contact_create(workspace=workspace, name="Mei")
    batch = [_view("k1", contact_id=contact.pk), _view("k1", contact_id=contact.pk), _view("k2", contact_id=contact.pk)]
    assert len(events_record(workspace=workspace, source="api", events=batch)) == 2
    assert len(events_record(workspace=workspace, source="api", events=batch)) == 0
    # The same key from another sender is another event.
    assert len(events_record(workspace=workspace, source="web", events=batch)) == 2
    # Events without a key are never deduplicated.
    assert len(events_record(workspace=workspace, source="api", events=[_view(contact_id=contact.pk)] * 2)) == 2
    assert TrackingEvent.objects.count() == 6


def test_member_id_and_merged_contact_ids_resolve_to_the_live_contact(workspace):
    from tidings.contacts.services import contacts_merge

    kept = contact_create(workspace=workspace, name="Kept", member_id="M-1")
    gone = contact_create(workspace=workspace, name="Gone")
    contacts_merge(workspace=workspace, kept=kept, merged=gone, reason="manual")
    events = events_record(workspace=workspace, source="api", events=[
        _view(contact_id=gone.pk), _view(member_id="M-1")])
    assert {e.contact_id for e in events} == {kept.pk}


def test_api_visitor_with_member_id_joins_that_contact(workspace):
    member = contact_create(workspace=workspace, name="Mei", member_id="M-1")
    events_collect(workspace=workspace, visitor_id=VID, events=[_view("w1")])
    events_record(workspace=workspace, source="api", events=[_view(member_id="M-1", visitor_id=VID)])
    assert Visitor.objects.get().contact_id == member.pk
    assert TrackingEvent.objects.filter(contact=member).count() == 2


def test_collect_keeps_good_events_and_names_bad_ones(workspace):
    result = events_collect(workspace=workspace, visitor_id=VID, identify={"phone": "not a phone"}, events=[
        _view("g1"), {"type": "wishlist", "event_id": "b1"}, "junk", _view("g2")])
    assert result.stored == 2
    assert [field for field, _m in result.errors] == ["identify.phone", "events.1.type", "events.2"]


def test_collect_ignores_a_contact_id_from_the_browser(workspace):
    victim = contact_create(workspace=workspace, name="Victim")
    events_collect(workspace=workspace, visitor_id=VID, events=[_view("x1", contact_id=victim.pk)])
    assert not TrackingEvent.objects.filter(contact=victim).exists()


def test_collect_corrects_a_wrong_browser_clock(workspace):
    now = timezone.now()
    skewed = now - datetime.timedelta(hours=1)  # the phone is an hour behind
    events_collect(workspace=workspace, visitor_id=VID, sent_at=skewed.isoformat(),
                   events=[_view("c1", occurred_at=(skewed - datetime.timedelta(seconds=5)).isoformat())])
    event = TrackingEvent.objects.get()
    assert abs((event.occurred_at - (now - datetime.timedelta(seconds=5))).total_seconds()) < 3


def test_event_upsert_refreshes_one_event_per_key(workspace):
    visitor = visitor_touch(workspace=workspace, visitor_id=VID)
    first = event_upsert(workspace=workspace, source="shopify", dedupe_key="checkout:1", type="checkout",
                         properties={"value": "10"}, visitor=visitor)
    contact = contact_create(workspace=workspace, name="Mei")
    again = event_upsert(workspace=workspace, source="shopify", dedupe_key="checkout:1", type="checkout",
                         properties={"value": "12"}, contact=contact)
    assert again.pk == first.pk
    again.refresh_from_db()
    assert again.properties == {"value": "12"} and again.contact_id == contact.pk and again.visitor_id == visitor.pk
    assert again.occurred_at == first.occurred_at


def test_visitor_by_cart_token(workspace):
    events_collect(workspace=workspace, visitor_id=VID,
                   events=[{"type": "add_to_cart", "event_id": "a1", "properties": {"cart_token": "c-123"}}])
    assert visitor_by_cart_token(workspace, "c-123").visitor_id == VID
    assert visitor_by_cart_token(workspace, "c-999") is None


def test_contact_events_are_the_contacts_own_newest_first(workspace, other_workspace):
    mei = contact_create(workspace=workspace, name="Mei")
    other = contact_create(workspace=workspace, name="Other")
    old = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    events_record(workspace=workspace, source="api", events=[
        {"type": "view_product", "contact_id": mei.pk, "occurred_at": old},
        {"type": "purchase", "contact_id": mei.pk},
        {"type": "checkout", "contact_id": other.pk}])
    assert [e.type for e in contact_events(workspace, mei)] == ["purchase", "view_product"]
    assert contact_events(workspace, mei, limit=1)[0].type == "purchase"
    assert contact_events(other_workspace, mei) == []



def test_detach_makes_the_browser_anonymous_again(workspace):
    contact = contact_create(workspace=workspace, name="Mei", member_id="M-1")
    events_collect(workspace=workspace, visitor_id=VID, events=[_view("w1")])
    events_record(workspace=workspace, source="api", events=[_view(member_id="M-1", visitor_id=VID)])
    visitor = Visitor.objects.get()
    assert visitor.contact_id == contact.pk and TrackingEvent.objects.filter(contact=contact).count() == 2

    visitor_detach_contact(workspace=workspace, visitor=visitor)
    visitor.refresh_from_db()
    assert visitor.contact_id is None
    # The script's event leaves the timeline; the one the shop's server named the contact for stays.
    assert [e.source for e in contact_events(workspace, contact)] == ["api"]
    events_collect(workspace=workspace, visitor_id=VID, events=[_view("w2")])
    assert TrackingEvent.objects.get(dedupe_key="w2").contact_id is None
