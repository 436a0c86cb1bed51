"""The contact list, the profile with its in-place edits, and the tags page: what each role may see and do, search
and filters, bulk tagging, and every edit changing the data (in three languages)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tidings.contacts.models import Contact, ContactNote, CustomAttribute, TrackingEvent
from tidings.contacts.services import (
    contact_create,
    contact_set_bound,
    contacts_merge,
    custom_attribute_create,
    identity_set_subscribed,
    identity_upsert,
)
from tidings.core.permissions import MATRIX, Permission
from tidings.core.roles import Role
from tidings.messaging.models import Message

pytestmark = pytest.mark.django_db

LIST = reverse("console:contacts")
TAGS = reverse("console:tags")
BULK = reverse("console:contacts_bulk_tags")
HTMX = {"HTTP_HX_REQUEST": "true"}


def profile_url(contact, name="console:contact"):
    return reverse(name, kwargs={"contact_id": contact.pk})


@pytest.fixture
def mei(workspace, line_account, whatsapp_account):
    """A contact on LINE (subscribed) and WhatsApp (never wrote), tagged, with a note, an event and messages."""
    contact = contact_create(workspace=workspace, name="陳美玲 Mei", phone="+85261234501", email="mei@example.test",
                             member_id="M-001", tags=["vip", "tea lover"])
    line, _ = identity_upsert(workspace=workspace, account=line_account, external_id="U-mei", display_name="Mei LINE",
                              contact=contact)
    identity_set_subscribed(identity=line, subscribed=True)
    identity_upsert(workspace=workspace, account=whatsapp_account, external_id="85261234501", contact=contact)
    Message.objects.create(workspace=workspace, contact=contact, account=line_account, channel="line",
                           direction="in", status="received", content={"type": "text", "text": "有冇新品？"})
    Message.objects.create(workspace=workspace, contact=contact, account=line_account, channel="line",
                           direction="out", status="delivered", content={"type": "text", "text": "本週新品：凍檸茶"})
    TrackingEvent.objects.create(workspace=workspace, contact=contact, type="add_to_cart", source="web",
                                 occurred_at=timezone.now(), properties={"items": [
                                     {"id": "P1", "name": "凍檸茶禮盒", "price": "128.00", "quantity": 2}]})
    return contact


@pytest.fixture
def ken(workspace, sms_account):
    contact = contact_create(workspace=workspace, name="Ken Wong", phone="+85291234567", email="ken@example.test")
    identity_upsert(workspace=workspace, account=sms_account, external_id="+85291234567", contact=contact)
    return contact


@pytest.fixture
def client_for(workspace, make_member, console_client):
    return lambda role, **kw: console_client(make_member(workspace, role, **kw))


# --- who sees what -------------------------------------------------------------------------------------------

PAGES = [("list", Permission.CONTACTS_VIEW), ("profile", Permission.CONTACTS_VIEW), ("tags", Permission.CONTACTS_VIEW)]


@pytest.mark.parametrize("page, permission", PAGES)
@pytest.mark.parametrize("role", list(Role))
def test_pages_follow_the_permission_matrix(page, permission, role, mei, client_for):
    url = {"list": LIST, "tags": TAGS, "profile": profile_url(mei)}[page]
    response = client_for(role).get(url)
    assert response.status_code == (200 if role in MATRIX[permission] else 403)


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans", "en"])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.MARKETER, Role.CS_MANAGER])
def test_pages_render_in_each_language_for_permitted_roles(language, role, mei, client_for):
    client = client_for(role, language=language)
    for url in (LIST, TAGS, profile_url(mei)):
        page = client.get(url).content.decode()
        assert f'<html lang="{language}">' in page
        assert "陳美玲 Mei" in page or "vip" in page


def test_sidebar_contacts_item_leads_to_the_list(client_for):
    page = client_for(Role.MARKETER).get(reverse("console:home")).content.decode()
    assert f'href="{LIST}" data-nav="contacts"' in page


@pytest.mark.parametrize("role, status", [(Role.SALES_PERSON, 403), (Role.CS_MANAGER, 302), (Role.CS_AGENT, 302)])
def test_bulk_tagging_needs_contacts_edit(role, status, mei, client_for):
    # CS roles edit contacts (from the inbox side panel too); sales roles do not.
    response = client_for(role).post(BULK, {"contact_ids": [mei.pk], "tags": "new", "action": "add"})
    assert response.status_code == status
    assert mei.tags.filter(name="new").exists() == (status == 302)


def test_cs_manager_reads_profiles_but_cannot_undo_merges(workspace, mei, ken, client_for):
    merge = contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="manual")
    client = client_for(Role.CS_MANAGER)
    assert "data-undo-merge" not in client.get(profile_url(mei)).content.decode()
    url = reverse("console:contact_merge_undo", kwargs={"contact_id": mei.pk, "merge_id": merge.pk})
    assert client.post(url).status_code == 403
    assert Contact.objects.get(pk=ken.pk).merged_into_id == mei.pk


# --- the list ------------------------------------------------------------------------------------------------


def _names(response) -> list[str]:
    page = response.content.decode()
    return [c.name for c in Contact.objects.all() if f'data-contact="{c.pk}"' in page]


@pytest.mark.parametrize("q, expected", [
    ("美玲", ["陳美玲 Mei"]), ("ken w", ["Ken Wong"]),           # any part of the name, any case
    ("6123", ["陳美玲 Mei"]), ("91234567", ["Ken Wong"]),         # part of the phone
    ("6123 4501", ["陳美玲 Mei"]), ("+852-9123", ["Ken Wong"]),   # typed with spaces or dashes
    ("KEN@EXAMPLE", ["Ken Wong"]),                                # part of the email
    ("M-001", ["陳美玲 Mei"]), ("vip", ["陳美玲 Mei"]),            # member id, a tag's exact name
    ("nobody", []),
])
def test_search(q, expected, mei, ken, client_for):
    assert sorted(_names(client_for(Role.MARKETER).get(LIST, {"q": q}))) == expected


@pytest.mark.parametrize("params, expected", [
    ({"channel": "line"}, ["陳美玲 Mei"]), ({"channel": "sms"}, ["Ken Wong"]), ({"channel": "messenger"}, []),
    ({"tag": "tea lover"}, ["陳美玲 Mei"]),
    ({"subscribed": "yes"}, ["陳美玲 Mei"]), ({"subscribed": "no"}, ["Ken Wong"]),
    ({"bound": "yes"}, ["Ken Wong"]), ({"bound": "no"}, ["陳美玲 Mei"]),
    ({"channel": "nonsense", "subscribed": "maybe"}, ["Ken Wong", "陳美玲 Mei"]),  # unknown values are ignored
])
def test_filters(params, expected, mei, ken, client_for):
    contact_set_bound(contact=ken)
    assert sorted(_names(client_for(Role.MARKETER).get(LIST, params))) == expected


def test_a_contact_matching_several_ways_is_listed_once_newest_first(workspace, client_for):
    from tidings.core import clock

    older = contact_create(workspace=workspace, name="Alex Lam")
    Contact.objects.filter(pk=older.pk).update(created_at=clock.now(workspace) - datetime.timedelta(days=2))
    middle = contact_create(workspace=workspace, name="Sam", email="alex@example.test")
    Contact.objects.filter(pk=middle.pk).update(created_at=clock.now(workspace) - datetime.timedelta(days=1))
    newest = contact_create(workspace=workspace, name="Alex Wong", email="alex.wong@example.test", tags=["alex"])
    page = client_for(Role.MARKETER).get(LIST, {"q": "alex"}).content.decode()
    positions = [page.index(f'data-contact="{c.pk}"') for c in (newest, middle, older)]
    assert positions == sorted(positions) and page.count(f'data-contact="{newest.pk}"') == 1
    assert "3 contacts" in page


def test_a_broad_search_pages_newest_first_past_the_cap(workspace, client_for, monkeypatch):
    from tidings.console import contact_selectors
    from tidings.core import clock

    monkeypatch.setattr(contact_selectors, "COUNT_CAP", 5)
    monkeypatch.setattr(contact_selectors, "PAGE_SIZE", 3)
    now = clock.now(workspace)
    for n in range(8):  # Guest 7 is the newest; half also match by email
        c = contact_create(workspace=workspace, name=f"Guest {n}", email=f"guest{n}@example.test" if n % 2 else "")
        Contact.objects.filter(pk=c.pk).update(created_at=now - datetime.timedelta(hours=10 - n))
    client = client_for(Role.MARKETER)
    first = client.get(LIST, {"q": "guest"}).content.decode()
    assert "5+ contacts" in first and "Page 1 of 2+" in first
    assert [n for n in range(8) if f">Guest {n}<" in first] == [5, 6, 7]
    second = client.get(LIST, {"q": "guest", "page": 2}).content.decode()
    assert [n for n in range(8) if f">Guest {n}<" in second] == [3, 4]


def test_rows_show_channels_tags_binding_and_last_interaction(workspace, mei, client_for):
    Contact.objects.filter(pk=mei.pk).update(last_customer_interaction_at=datetime.datetime(
        2025, 3, 1, 4, 5, tzinfo=datetime.UTC))
    page = client_for(Role.MARKETER).get(LIST).content.decode()
    row = page[page.index(f'data-contact="{mei.pk}"'):]
    row = row[: row.index("</tr>")]
    assert 'data-channel="line"' in row and 'data-channel="whatsapp"' in row
    assert "ch-whatsapp ch-off" in row  # on WhatsApp but not subscribed
    assert ">vip<" in row and ">tea lover<" in row and "+85261234501" in row and "mei@example.test" in row
    assert "2025-03-01 12:05" in row  # shown in the workspace's zone (Asia/Taipei by default)


def test_merged_contacts_are_not_listed(workspace, mei, ken, client_for):
    contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="manual")
    assert _names(client_for(Role.MARKETER).get(LIST)) == ["陳美玲 Mei"]


def test_count_and_pages(workspace, client_for):
    for n in range(55):
        contact_create(workspace=workspace, name=f"Guest {n:02d}")
    client = client_for(Role.MARKETER)
    first = client.get(LIST).content.decode()
    assert "55 contacts" in first and "Page 1 of 2" in first and first.count("data-contact=") == 50
    second = client.get(LIST, {"page": 2}).content.decode()
    assert second.count("data-contact=") == 5 and "Guest 00" in second


def test_count_is_capped_on_huge_lists(workspace, client_for, monkeypatch):
    from tidings.console import contact_selectors

    monkeypatch.setattr(contact_selectors, "COUNT_CAP", 60)
    for n in range(70):
        contact_create(workspace=workspace, name=f"Guest {n:02d}")
    page = client_for(Role.MARKETER).get(LIST).content.decode()
    assert "60+ contacts" in page and "Page 1 of 2+" in page
    last = client_for(Role.MARKETER).get(LIST, {"page": 2}).content.decode()
    assert "Only the first 60 matches are listed" in last


def test_empty_states_say_what_to_do(client_for):
    client = client_for(Role.ADMIN)
    assert "No contacts yet" in client.get(LIST).content.decode()
    page = client.get(LIST, {"q": "zzz"}).content.decode()
    assert "No contacts match" in page and "Clear search and filters" in page


def test_export_link_carries_the_filters_and_import_link_shows_for_importers(mei, client_for):
    export = reverse("console:contact_export")
    page = client_for(Role.MARKETER).get(LIST, {"q": "mei", "channel": "line"}).content.decode()
    assert f'href="{export}?q=mei&amp;channel=line" data-export' in page
    assert "data-import" in page
    # Supervisors export but do not import (seed 003).
    supervisor = client_for(Role.SUPERVISOR).get(LIST).content.decode()
    assert "data-export" in supervisor and "data-import" not in supervisor


# --- bulk tags -----------------------------------------------------------------------------------------------


def test_bulk_add_and_remove_on_ticked_contacts(mei, ken, client_for):
    client = client_for(Role.MARKETER)
    response = client.post(BULK, {"contact_ids": [mei.pk, ken.pk], "tags": "autumn, 秋季", "action": "add",
                                  "next": f"{LIST}?q=e"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?q=e"
    assert set(ken.tags.values_list("name", flat=True)) == {"autumn", "秋季"}
    client.post(BULK, {"contact_ids": [ken.pk], "tags": "autumn", "action": "remove"})
    assert set(ken.tags.values_list("name", flat=True)) == {"秋季"}
    assert "autumn" in set(mei.tags.values_list("name", flat=True))
    assert "Tag autumn removed from 1 contacts." in client.get(LIST).content.decode()


def test_bulk_on_all_matching_uses_the_filters(workspace, mei, ken, client_for):
    client_for(Role.MARKETER).post(BULK, {"scope": "all", "channel": "sms", "tags": "sms-only", "action": "add"})
    assert list(Contact.objects.filter(tags__name="sms-only")) == [ken]


def test_bulk_needs_a_tag_and_a_contact(mei, client_for):
    client = client_for(Role.MARKETER)
    client.post(BULK, {"contact_ids": [mei.pk], "tags": " ", "action": "add"})
    assert "Type a tag" in client.get(LIST).content.decode()
    client.post(BULK, {"tags": "x", "action": "add"})
    assert "Tick at least one contact first." in client.get(LIST).content.decode()


def test_bulk_cannot_touch_another_workspace(other_workspace, mei, client_for):
    foreign = contact_create(workspace=other_workspace, name="Rival")
    client_for(Role.MARKETER).post(BULK, {"contact_ids": [foreign.pk, mei.pk], "tags": "x", "action": "add"})
    assert not foreign.tags.exists() and mei.tags.filter(name="x").exists()


# --- the tags page ---------------------------------------------------------------------------------------------


def test_tags_page_counts_live_contacts_and_links_to_the_list(workspace, mei, ken, client_for):
    contact_create(workspace=workspace, name="Other VIP", tags=["vip"])
    page = client_for(Role.MARKETER).get(TAGS).content.decode()
    row = page[page.index('data-tag="vip"'):]
    assert '<td data-count>2</td>' in row[: row.index("</tr>")]
    assert f'href="{LIST}?tag=tea%20lover"' in page
    assert "No tags match" in client_for(Role.MARKETER).get(TAGS, {"q": "zzz"}).content.decode()


def test_tags_page_empty_state(client_for):
    assert "No tags yet" in client_for(Role.MARKETER).get(TAGS).content.decode()


# --- the profile ---------------------------------------------------------------------------------------------


def test_profile_shows_everything_about_the_contact(workspace, mei, client_for):
    ContactNote.objects.create(workspace=workspace, contact=mei, text="Prefers less sugar")
    page = client_for(Role.MARKETER).get(profile_url(mei)).content.decode()
    for text in ("陳美玲 Mei", "+85261234501", "mei@example.test", "M-001",    # header
                 "Mei LINE", "Acme LINE OA", "U-mei", "Subscribed since", "Acme WhatsApp",  # identities
                 'data-window="closed"',                                     # WhatsApp window (never wrote)
                 'data-tag="vip"', "Prefers less sugar",                     # tags, notes
                 "凍檸茶禮盒", "128.00", "× 2", 'data-event="add_to_cart"',   # website events
                 "有冇新品？", "本週新品：凍檸茶", 'data-status="delivered"',   # messages
                 "Customer's last interaction", "Not bound"):
        assert text in page, text


def test_profile_of_a_merged_contact_leads_to_the_kept_one(workspace, mei, ken, client_for):
    merge = contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="phone", detail="+85291234567")
    client = client_for(Role.ADMIN)
    response = client.get(profile_url(ken))
    assert response.status_code == 302 and response["Location"] == profile_url(mei)
    page = client.get(profile_url(mei)).content.decode()
    assert f'data-merge="{merge.pk}"' in page and "Ken Wong was merged into this contact" in page
    assert "Verified phone number" in page and "data-undo-merge" in page


def test_admin_undoes_a_merge(workspace, mei, ken, client_for):
    merge = contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="manual")
    url = reverse("console:contact_merge_undo", kwargs={"contact_id": mei.pk, "merge_id": merge.pk})
    client = client_for(Role.ADMIN)
    response = client.post(url)
    assert response.status_code == 302
    ken.refresh_from_db()
    assert ken.merged_into_id is None and ken.identities.filter(channel="sms").exists()
    page = client.get(profile_url(mei)).content.decode()
    assert "Merge undone" in page and "Undone on" in page and "data-undo-merge" not in page
    assert client.post(url).status_code == 302  # twice: refused with a message, nothing changes
    assert "already undone" in client.get(profile_url(mei)).content.decode()


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.MARKETER])
def test_only_admins_undo_merges(role, workspace, mei, ken, client_for):
    merge = contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="manual")
    url = reverse("console:contact_merge_undo", kwargs={"contact_id": mei.pk, "merge_id": merge.pk})
    assert client_for(role).post(url).status_code == 403


def test_undo_needs_the_merge_of_this_contact(workspace, mei, ken, client_for):
    merge = contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="manual")
    other = contact_create(workspace=workspace, name="Other")
    url = reverse("console:contact_merge_undo", kwargs={"contact_id": other.pk, "merge_id": merge.pk})
    assert client_for(Role.ADMIN).post(url).status_code == 404


def test_edit_details_in_place(mei, client_for):
    client = client_for(Role.MARKETER)
    form = client.get(profile_url(mei, "console:contact_details"), {"edit": "1"}, **HTMX).content.decode()
    assert "data-details-form" in form and 'value="M-001"' in form and "<html" not in form
    response = client.post(profile_url(mei, "console:contact_details"), {
        "name": "Mei Chan", "phone": "6123 4599", "email": "mei.chan@example.test", "member_id": "M-002"}, **HTMX)
    page = response.content.decode()
    assert 'data-card="details"' in page and "Mei Chan" in page and "data-details-form" not in page
    mei.refresh_from_db()
    assert (mei.name, mei.phone, mei.email, mei.member_id) == ("Mei Chan", "+85261234599", "mei.chan@example.test",
                                                               "M-002")


def test_a_bad_phone_is_shown_on_the_field_and_nothing_changes(mei, client_for):
    response = client_for(Role.MARKETER).post(profile_url(mei, "console:contact_details"), {
        "name": "Changed", "phone": "12", "email": mei.email, "member_id": mei.member_id}, **HTMX)
    page = response.content.decode()
    assert "data-details-form" in page and 'id="id_phone-error"' in page and "valid phone number" in page
    mei.refresh_from_db()
    assert mei.name == "陳美玲 Mei" and mei.phone == "+85261234501"


def test_a_taken_member_id_is_refused(workspace, mei, ken, client_for):
    page = client_for(Role.MARKETER).post(profile_url(ken, "console:contact_details"), {
        "name": "Ken Wong", "phone": ken.phone, "email": ken.email, "member_id": "M-001"}, **HTMX).content.decode()
    assert 'id="id_member_id-error"' in page
    assert Contact.objects.get(pk=ken.pk).member_id == ""


def test_details_without_javascript(mei, client_for):
    client = client_for(Role.MARKETER)
    response = client.get(profile_url(mei, "console:contact_details"), {"edit": "1"})
    assert response.status_code == 302 and response["Location"] == profile_url(mei) + "?edit=details"
    assert "data-details-form" in client.get(response["Location"]).content.decode()
    response = client.post(profile_url(mei, "console:contact_details"), {
        "name": "Mei", "phone": "", "email": "", "member_id": ""})
    assert response.status_code == 302
    mei.refresh_from_db()
    assert (mei.name, mei.phone, mei.email, mei.member_id) == ("Mei", "", "", "")


def test_add_and_remove_a_tag_in_place(mei, client_for):
    client = client_for(Role.CS_MANAGER)
    page = client.post(profile_url(mei, "console:contact_tags"), {"action": "add", "tags": "回購客"},
                       **HTMX).content.decode()
    assert 'data-card="tags"' in page and 'data-tag="回購客"' in page and "<html" not in page
    page = client.post(profile_url(mei, "console:contact_tags"), {"action": "remove", "tags": "vip"},
                       **HTMX).content.decode()
    assert 'data-tag="vip"' not in page
    assert set(mei.tags.values_list("name", flat=True)) == {"tea lover", "回購客"}


def test_a_too_long_tag_is_refused_in_place(mei, client_for):
    page = client_for(Role.MARKETER).post(profile_url(mei, "console:contact_tags"),
                                          {"action": "add", "tags": "x" * 150}, **HTMX).content.decode()
    assert 'role="alert"' in page
    assert mei.tags.count() == 2


@pytest.fixture
def attributes(workspace):
    return {
        "birthday": custom_attribute_create(workspace=workspace, key="birthday", name="Birthday", type="date"),
        "points": custom_attribute_create(workspace=workspace, key="points", name="Points", type="number"),
        "newsletter": custom_attribute_create(workspace=workspace, key="newsletter", name="Newsletter",
                                              type="boolean"),
        "level": custom_attribute_create(workspace=workspace, key="level", name="Level", type="choice",
                                         choices=["Silver", "Gold"]),
        "drink": custom_attribute_create(workspace=workspace, key="drink", name="Favourite drink", type="text"),
    }


@pytest.mark.parametrize("key, posted, stored, shown", [
    ("birthday", {"value": "1990-04-01"}, "1990-04-01", "1990-04-01"),
    ("points", {"value": "1200"}, 1200, "1200"),
    ("newsletter", {"value": "true"}, True, "Yes"),
    ("newsletter", {}, False, "No"),  # an unticked checkbox posts nothing
    ("level", {"value": "Gold"}, "Gold", "Gold"),
    ("drink", {"value": "凍檸茶"}, "凍檸茶", "凍檸茶"),
])
def test_edit_an_attribute_in_place(key, posted, stored, shown, attributes, mei, client_for):
    client = client_for(Role.MARKETER)
    url = profile_url(mei, "console:contact_attribute")
    editor = client.get(url, {"key": key, "edit": "1"}, **HTMX).content.decode()
    kind = {"birthday": 'type="date"', "points": 'type="number"', "newsletter": 'type="checkbox"',
            "level": "<select", "drink": 'type="text"'}[key]
    assert kind in editor and "data-attribute-form" in editor
    page = client.post(url, {"key": key, **posted}, **HTMX).content.decode()
    assert f'data-attribute="{key}"' in page and "data-attribute-form" not in page and shown in page
    mei.refresh_from_db()
    assert mei.attributes[key] == stored


def test_a_wrong_attribute_value_stays_in_the_editor(attributes, mei, client_for):
    url = profile_url(mei, "console:contact_attribute")
    page = client_for(Role.MARKETER).post(url, {"key": "level", "value": "Platinum"}, **HTMX).content.decode()
    assert "data-attribute-form" in page and 'class="field-error"' in page
    mei.refresh_from_db()
    assert "level" not in mei.attributes


def test_clear_an_attribute(workspace, attributes, mei, client_for):
    from tidings.contacts.services import contact_update

    contact_update(workspace=workspace, contact=mei, attributes={"points": 5})
    client_for(Role.MARKETER).post(profile_url(mei, "console:contact_attribute"),
                                   {"key": "points", "value": "5", "clear": "1"}, **HTMX)
    mei.refresh_from_db()
    assert "points" not in mei.attributes


def test_unknown_attribute_key_is_404(attributes, mei, client_for):
    url = profile_url(mei, "console:contact_attribute")
    assert client_for(Role.MARKETER).post(url, {"key": "nope", "value": "1"}, **HTMX).status_code == 404


def test_attribute_editor_without_javascript(attributes, mei, client_for):
    client = client_for(Role.MARKETER)
    url = profile_url(mei, "console:contact_attribute")
    response = client.get(url, {"key": "points", "edit": "1"})
    assert response["Location"] == profile_url(mei) + "?edit=points#attributes"
    page = client.get(profile_url(mei), {"edit": "points"}).content.decode()
    assert page.count("data-attribute-form") == 1
    assert client.post(url, {"key": "points", "value": "7"}).status_code == 302
    mei.refresh_from_db()
    assert mei.attributes["points"] == 7


def test_add_a_note(mei, client_for, workspace, make_member, console_client):
    member = make_member(workspace, Role.CS_MANAGER, name="Chloe")
    page = console_client(member).post(profile_url(mei, "console:contact_notes"), {"text": "Called about order"},
                                       **HTMX).content.decode()
    assert 'data-card="notes"' in page and "Called about order" in page and "Chloe" in page
    note = ContactNote.objects.get(contact=mei)
    assert note.author == member
    empty = console_client(member).post(profile_url(mei, "console:contact_notes"), {"text": "  "},
                                        **HTMX).content.decode()
    assert "Write the note first." in empty and ContactNote.objects.count() == 1


def test_viewers_without_edit_rights_get_no_editors(workspace, make_member, console_client, attributes, mei):
    # Sales roles cannot open profiles at all; every role that can also edits, so check the edit endpoints' guard
    # with a sales member instead.
    sales = console_client(make_member(workspace, Role.SALES_PERSON))
    for name in ("console:contact_details", "console:contact_tags", "console:contact_notes",
                 "console:contact_attribute"):
        assert sales.post(profile_url(mei, name), {"key": "points", "value": "1", "tags": "x", "text": "x"},
                          **HTMX).status_code == 403
    assert mei.notes.count() == 0 and not mei.tags.filter(name="x").exists()


def test_attributes_card_points_to_definitions(mei, client_for):
    page = client_for(Role.MARKETER).get(profile_url(mei)).content.decode()
    assert "No custom attributes are defined yet." in page and reverse("console:custom_attributes") in page
    assert reverse("console:custom_attributes") not in client_for(Role.CS_MANAGER).get(
        profile_url(mei)).content.decode()


def test_profile_shows_messages_of_merged_contacts_too(workspace, mei, ken, sms_account, client_for):
    Message.objects.create(workspace=workspace, contact=ken, account=sms_account, channel="sms", direction="out",
                           status="sent", content={"type": "text", "text": "Your order shipped"})
    contacts_merge(workspace=workspace, kept=mei, merged=ken, reason="manual")
    assert "Your order shipped" in client_for(Role.MARKETER).get(profile_url(mei)).content.decode()


def test_bound_contact_shows_its_bindings_and_unbind(workspace, mei, client_for):
    from tidings.binding.models import Binding

    binding = Binding.objects.create(workspace=workspace, contact=mei, channel="line", method="line_code",
                                     identity=mei.identities.get(channel="line"), member_id="M-001")
    contact_set_bound(contact=mei)
    page = client_for(Role.MARKETER).get(profile_url(mei)).content.decode()
    assert 'data-bound="yes"' in page and "data-unbind" in page
    assert f'data-binding="{binding.pk}"' in page and "LINE code message" in page
    unbind = reverse("console:contact_unbind", kwargs={"contact_id": mei.pk})
    assert f'action="{unbind}"' in page
    # CS managers see the binding but may not unbind.
    assert "data-unbind" not in client_for(Role.CS_MANAGER).get(profile_url(mei)).content.decode()


def test_custom_attribute_values_of_deleted_definitions_are_not_shown(workspace, attributes, mei, client_for):
    from tidings.contacts.services import contact_update, custom_attribute_delete

    contact_update(workspace=workspace, contact=mei, attributes={"drink": "Oolong"})
    custom_attribute_delete(workspace=workspace, attribute=CustomAttribute.objects.get(key="drink"))
    assert "Oolong" not in client_for(Role.MARKETER).get(profile_url(mei)).content.decode()


# --- the demo ------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_demo_fills_the_contact_pages(console_client):
    from tidings.contacts.models import ContactMerge
    from tidings.core.models import Membership
    from tidings.demo.loader import demo_load

    workspace = demo_load()
    admin = Membership.objects.get(workspace=workspace, user__email="admin@demo.test")
    admin.user.language = "en"
    admin.user.save(update_fields=["language"])
    client = console_client(admin)
    merge = ContactMerge.objects.get(workspace=workspace)
    page = client.get(profile_url(merge.kept)).content.decode()
    for text in ("VIP", "金卡 Gold", "1990-04-12", "常客，喜歡少甜", "港式凍檸茶禮盒", "data-undo-merge",
                 "Mei Chan was merged into this contact"):
        assert text in page, text
    listing = client.get(LIST, {"tag": "VIP"}).content.decode()
    assert listing.count("data-contact=") == 2
    assert "生日 Birthday" in client.get(reverse("console:custom_attributes")).content.decode()
    before = (Contact.objects.count(), ContactNote.objects.count(), TrackingEvent.objects.count())
    demo_load()
    assert (Contact.objects.count(), ContactNote.objects.count(), TrackingEvent.objects.count()) == before
