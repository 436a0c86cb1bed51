"""Contact details, tags, notes, identification and typed custom attributes, through the services."""

import pytest

from tidings.contacts.models import Contact, ContactMerge, ContactTag, CustomAttribute, Tag
from tidings.contacts.selectors import contacts_filter, tags_list
from tidings.contacts.services import (
    attributes_validate,
    contact_create,
    contact_identify,
    contact_set_bound,
    contact_set_unbound,
    contact_update,
    contacts_merge,
    custom_attribute_create,
    custom_attribute_delete,
    custom_attribute_update,
    identity_set_subscribed,
    identity_upsert,
    note_add,
    tags_add,
    tags_remove,
)
from tidings.core.errors import ServiceError
from tidings.core.models import AuditEntry


def _refused(field, call, **kwargs):
    with pytest.raises(ServiceError) as refused:
        call(**kwargs)
    assert refused.value.field == field, refused.value.message
    return refused.value


# --- contacts ------------------------------------------------------------------------------------------------


def test_create_normalizes_phone_and_email(workspace):
    contact = contact_create(workspace=workspace, name="  Mei ", phone="6123 4567", email="Mei@Example.COM",
                             member_id="M-1")
    assert (contact.name, contact.phone, contact.email, contact.member_id) == (
        "Mei", "+85261234567", "Mei@example.com", "M-1")


@pytest.mark.parametrize(("field", "values"), [
    ("phone", {"phone": "12345"}),
    ("email", {"email": "not-an-email"}),
    ("attributes.birthday", {"attributes": {"birthday": "1990-01-01"}}),
])
def test_create_refuses_bad_input_naming_the_field(workspace, field, values):
    _refused(field, contact_create, workspace=workspace, **values)
    assert not Contact.objects.exists()


def test_member_id_is_unique_among_live_contacts(workspace, other_workspace):
    first = contact_create(workspace=workspace, member_id="M-1")
    _refused("member_id", contact_create, workspace=workspace, member_id="M-1")
    other = contact_create(workspace=workspace, name="Other")
    _refused("member_id", contact_update, workspace=workspace, contact=other, member_id="M-1")
    contact_create(workspace=other_workspace, member_id="M-1")  # another workspace's member ids are its own
    contact_update(workspace=workspace, contact=first, member_id="M-1", name="Same")  # unchanged is fine
    assert Contact.objects.filter(member_id="M-1").count() == 2


def test_update_merges_attributes_key_by_key_and_none_clears(workspace):
    custom_attribute_create(workspace=workspace, key="city", name="City", type="text")
    custom_attribute_create(workspace=workspace, key="visits", name="Visits", type="number")
    contact = contact_create(workspace=workspace, attributes={"city": "Taipei", "visits": 3})
    contact_update(workspace=workspace, contact=contact, attributes={"visits": "4"})
    assert Contact.objects.get(pk=contact.pk).attributes == {"city": "Taipei", "visits": 4}
    contact_update(workspace=workspace, contact=contact, attributes={"city": None})
    assert Contact.objects.get(pk=contact.pk).attributes == {"visits": 4}
    _refused("attributes.visits", contact_update, workspace=workspace, contact=contact,
             attributes={"visits": "many"})
    _refused("created_at", contact_update, workspace=workspace, contact=contact, created_at=None)


def test_binding_state(workspace):
    contact = contact_create(workspace=workspace, name="Mei")
    contact_set_bound(contact=contact)
    assert list(contacts_filter(workspace, bound=True)) == [contact]
    contact_set_unbound(contact=contact)
    assert list(contacts_filter(workspace, bound=True)) == []
    assert list(contacts_filter(workspace, bound=False)) == [contact]


def test_note_needs_text(workspace, admin):
    contact = contact_create(workspace=workspace)
    note = note_add(workspace=workspace, contact=contact, text=" Likes oolong ", author=admin)
    assert (note.text, note.author) == ("Likes oolong", admin)
    _refused("text", note_add, workspace=workspace, contact=contact, text="   ")


# --- tags ----------------------------------------------------------------------------------------------------


def test_tags_bulk_add_and_remove_count_pairs(workspace, other_workspace):
    a, b = contact_create(workspace=workspace), contact_create(workspace=workspace)
    foreign = contact_create(workspace=other_workspace)
    assert tags_add(workspace=workspace, contact_ids=[a.pk, b.pk, foreign.pk], names=["vip", " vip", "new"]) == 4
    assert tags_add(workspace=workspace, contact_ids=[a.pk], names=["vip"]) == 0
    assert not ContactTag.objects.filter(contact=foreign).exists()
    assert {t.name: t.contact_count for t in tags_list(workspace)} == {"new": 2, "vip": 2}
    assert list(contacts_filter(workspace, tag="vip").order_by("pk")) == [a, b]
    assert list(contacts_filter(workspace, q="new").order_by("pk")) == [a, b]  # a tag name is searchable
    assert tags_remove(workspace=workspace, contact_ids=[a.pk, b.pk], names=["vip"]) == 2
    assert Tag.objects.filter(workspace=workspace, name="vip").exists()  # the tag itself stays
    _refused("tags", tags_add, workspace=workspace, contact_ids=[a.pk], names=["x" * 101])


# --- filters -------------------------------------------------------------------------------------------------


def test_filter_by_search_channel_and_subscription(workspace, line_account, sms_account):
    friend, _ = identity_upsert(workspace=workspace, account=line_account, external_id="U" + "a" * 32,
                                display_name="Mei Lin")
    identity_set_subscribed(identity=friend, subscribed=True)
    texter, _ = identity_upsert(workspace=workspace, account=sms_account, external_id="+85261234567")
    member = contact_create(workspace=workspace, name="Ann", email="ann@shop.test", member_id="SHOP-9")
    mei, sms = friend.contact, texter.contact

    assert list(contacts_filter(workspace, q="mei")) == [mei]
    assert list(contacts_filter(workspace, q="6123")) == [sms]
    assert list(contacts_filter(workspace, q="6123 4567")) == [sms]  # typed as people write numbers
    assert list(contacts_filter(workspace, q="+852 6123-4567")) == [sms]
    assert list(contacts_filter(workspace, q="SHOP.TEST")) == [member]
    assert list(contacts_filter(workspace, q="SHOP-9")) == [member]
    assert list(contacts_filter(workspace, channel="line")) == [mei]
    assert list(contacts_filter(workspace, subscribed=True)) == [mei]
    assert set(contacts_filter(workspace, subscribed=False)) == {sms, member}
    assert list(contacts_filter(workspace, channel="sms", subscribed=False)) == [sms]


# --- identification ------------------------------------------------------------------------------------------


def test_identify_creates_once_and_then_finds(workspace):
    assert contact_identify(workspace=workspace) is None
    created = contact_identify(workspace=workspace, member_id="M-1", email="mei@example.com", name="Mei")
    assert (created.member_id, created.email, created.name) == ("M-1", "mei@example.com", "Mei")
    assert contact_identify(workspace=workspace, member_id="M-1") == created
    assert contact_identify(workspace=workspace, email="MEI@example.com") == created
    assert Contact.objects.count() == 1


def test_identify_prefers_member_id_then_verified_phone_then_email(workspace):
    by_email = contact_create(workspace=workspace, email="mei@example.com")
    by_phone = contact_create(workspace=workspace, phone="+85261234567")
    by_member = contact_create(workspace=workspace, member_id="M-1")
    assert contact_identify(workspace=workspace, phone="+85261234567", email="mei@example.com",
                            phone_verified=True) == by_phone
    # an unverified phone does not identify anyone: the email does (and the phone is noted on it)
    assert contact_identify(workspace=workspace, phone="+85261234567", email="mei@example.com") == by_email
    assert contact_identify(workspace=workspace, member_id="M-1", email="mei@example.com") == by_member


def test_identify_merges_the_member_and_the_verified_phone(workspace):
    by_phone = contact_create(workspace=workspace, phone="+85261234567", name="Mei (SMS)", tags=["sms"])
    by_member = contact_create(workspace=workspace, member_id="M-1")
    found = contact_identify(workspace=workspace, member_id="M-1", phone="6123 4567", phone_verified=True)
    assert found == by_member
    assert (found.phone, found.name) == ("+85261234567", "Mei (SMS)")
    assert set(found.tags.values_list("name", flat=True)) == {"sms"}
    merge = ContactMerge.objects.get()
    assert (merge.kept, merge.merged, merge.reason, merge.detail) == (by_member, by_phone, "phone", "+85261234567")
    assert Contact.objects.get(pk=by_phone.pk).merged_into == by_member


def test_identify_does_not_merge_two_members(workspace):
    contact_create(workspace=workspace, phone="+85261234567", member_id="M-2")
    by_member = contact_create(workspace=workspace, member_id="M-1")
    found = contact_identify(workspace=workspace, member_id="M-1", phone="+85261234567", phone_verified=True)
    assert found == by_member and found.phone == "+85261234567"
    assert not ContactMerge.objects.exists()


def test_identify_fills_the_member_id_on_a_contact_found_by_phone(workspace):
    by_phone = contact_create(workspace=workspace, phone="+85261234567")
    found = contact_identify(workspace=workspace, member_id="M-7", phone="+85261234567", phone_verified=True)
    assert found == by_phone and Contact.objects.get(pk=by_phone.pk).member_id == "M-7"


# --- custom attributes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "choices", "given", "stored"), [
    ("text", None, "  hello ", "hello"),
    ("text", None, 42, "42"),
    ("number", None, "1,200", 1200),
    ("number", None, 2.5, 2.5),
    ("number", None, "2.50", 2.5),
    ("date", None, "1990-02-03", "1990-02-03"),
    ("date", None, "1990/02/03", "1990-02-03"),
    ("boolean", None, "yes", True),
    ("boolean", None, False, False),
    ("boolean", None, "否", False),
    ("choice", ["gold", "silver"], "gold", "gold"),
    ("choice", ["gold", "silver"], "", None),
])
def test_attribute_values_are_stored_in_their_json_form(workspace, kind, choices, given, stored):
    custom_attribute_create(workspace=workspace, key="a", name="A", type=kind, choices=choices)
    assert attributes_validate(workspace=workspace, values={"a": given}) == {"a": stored}


@pytest.mark.parametrize(("kind", "choices", "given"), [
    ("text", None, ["list"]),
    ("number", None, "many"),
    ("number", None, True),
    ("date", None, "31/31/1990"),
    ("date", None, 19900203),
    ("boolean", None, "maybe"),
    ("choice", ["gold", "silver"], "bronze"),
])
def test_wrong_types_are_refused_on_the_attribute_field(workspace, kind, choices, given):
    custom_attribute_create(workspace=workspace, key="a", name="A", type=kind, choices=choices)
    _refused("attributes.a", attributes_validate, workspace=workspace, values={"a": given})


def test_definition_rules(workspace, admin):
    _refused("key", custom_attribute_create, workspace=workspace, key="Birth Day", name="B", type="date")
    _refused("type", custom_attribute_create, workspace=workspace, key="b", name="B", type="colour")
    _refused("choices", custom_attribute_create, workspace=workspace, key="b", name="B", type="choice", choices=[])
    tier = custom_attribute_create(workspace=workspace, key="tier", name="Tier", type="choice",
                                   choices=["gold", "silver"], by=admin)
    _refused("key", custom_attribute_create, workspace=workspace, key="tier", name="Again", type="text")
    _refused("key", custom_attribute_update, workspace=workspace, attribute=tier, key="level")
    # the type may change while no contact has a value
    custom_attribute_update(workspace=workspace, attribute=tier, type="text")
    custom_attribute_update(workspace=workspace, attribute=tier, type="choice", choices=["gold", "silver", "bronze"])
    contact = contact_create(workspace=workspace, attributes={"tier": "gold"})
    _refused("type", custom_attribute_update, workspace=workspace, attribute=tier, type="number")
    _refused("choices", custom_attribute_update, workspace=workspace, attribute=tier, choices=["silver"])
    custom_attribute_update(workspace=workspace, attribute=tier, choices=["gold", "silver"], name="Level")
    assert CustomAttribute.objects.get(pk=tier.pk).choices == ["gold", "silver"]
    assert Contact.objects.get(pk=contact.pk).attributes == {"tier": "gold"}
    assert AuditEntry.objects.filter(action="custom_attribute.update", actor=admin.user).count() == 0
    assert AuditEntry.objects.filter(action="custom_attribute.create", actor=admin.user).count() == 1


def test_deleting_a_definition_removes_its_values(workspace, other_workspace):
    custom_attribute_create(workspace=workspace, key="city", name="City", type="text")
    tier = custom_attribute_create(workspace=workspace, key="tea-tier", name="Tier", type="text")
    custom_attribute_create(workspace=other_workspace, key="tea-tier", name="Tier", type="text")
    mine = contact_create(workspace=workspace, attributes={"tea-tier": "gold", "city": "Taipei"})
    theirs = contact_create(workspace=other_workspace, attributes={"tea-tier": "gold"})
    assert custom_attribute_delete(workspace=workspace, attribute=tier) == 1
    assert Contact.objects.get(pk=mine.pk).attributes == {"city": "Taipei"}
    assert Contact.objects.get(pk=theirs.pk).attributes == {"tea-tier": "gold"}
    _refused("attributes.tea-tier", contact_update, workspace=workspace, contact=mine, attributes={"tea-tier": "x"})


def test_merged_contacts_are_hidden_from_filters_and_tag_counts(workspace):
    kept = contact_create(workspace=workspace, name="Kept")
    merged = contact_create(workspace=workspace, name="Kept too", tags=["vip"])
    contacts_merge(workspace=workspace, kept=kept, merged=merged, reason="manual")
    assert list(contacts_filter(workspace, q="kept")) == [kept]
    assert {t.name: t.contact_count for t in tags_list(workspace)} == {"vip": 1}
    assert list(contacts_filter(workspace, tag="vip")) == [kept]


# --- interaction times (kept by the message pipeline) --------------------------------------------------------


def test_sends_move_the_team_and_marketing_times(workspace, line_account, django_capture_on_commit_callbacks):
    from tidings.messaging.services import message_send, message_send_bulk
    from tidings.sandbox.personas import persona_create

    persona = persona_create(workspace=workspace, name="Mei", phone="+85261234500", line=True)
    contact = Contact.objects.get(pk=persona.contact_id)
    identity = contact.identities.get(channel="line")
    text = [{"type": "text", "text": "Hello"}]

    with django_capture_on_commit_callbacks(execute=True):  # delivery runs after commit
        message_send(workspace=workspace, contact=contact, channel="line", contents=text, purpose="test")
    contact.refresh_from_db()
    assert (contact.last_team_interaction_at, contact.last_marketing_at) == (None, None)  # a test send is neither

    with django_capture_on_commit_callbacks(execute=True):  # delivery runs after commit
        message_send(workspace=workspace, contact=contact, channel="line", contents=text, purpose="chat")
    contact.refresh_from_db()
    assert contact.last_team_interaction_at is not None and contact.last_marketing_at is None
    team = contact.last_team_interaction_at

    with django_capture_on_commit_callbacks(execute=True):  # delivery runs after commit
        message_send(workspace=workspace, contact=contact, channel="line", contents=text, purpose="journey")
    contact.refresh_from_db()
    assert contact.last_marketing_at is not None and contact.last_team_interaction_at == team
    journey = contact.last_marketing_at

    with django_capture_on_commit_callbacks(execute=True):  # delivery runs after commit
        message_send_bulk(workspace=workspace, identities=[identity], channel="line", contents=text,
                          purpose="broadcast")
    contact.refresh_from_db()
    assert contact.last_marketing_at > journey and contact.last_team_interaction_at == team
