"""The customer side panel of a conversation (console/views/inbox_compose.py): summary, channels, tags, attributes
and notes, edited in place by members who may edit contacts; read-only for the others."""

import itertools

import pytest
from django.urls import reverse

from tidings.contacts.attributes import custom_attribute_create
from tidings.contacts.models import ContactNote
from tidings.contacts.selectors import contact_tag_names
from tidings.contacts.services import identity_upsert, tags_add
from tidings.core.roles import Role
from tidings.inbox.services import conversation_ensure

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def conversation_on(account, *, name="陳美玲"):
    identity, _created = identity_upsert(workspace=account.workspace, account=account,
                                         external_id=f"8526{next(_ids):07d}", display_name=name)
    conversation, _created = conversation_ensure(identity=identity)
    return conversation


def url(name, conversation):
    return reverse(f"console:{name}", kwargs={"conversation_id": conversation.pk})


@pytest.fixture
def agent(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Amy")


@pytest.fixture
def client(agent, console_client):
    return console_client(agent)


@pytest.fixture
def conversation(line_account):
    return conversation_on(line_account)


def test_the_panel_sums_up_the_customer(client, conversation, workspace):
    contact = conversation.contact
    contact.phone, contact.email = "+85261234567", "mei@example.test"
    contact.save()
    tags_add(workspace=workspace, contact_ids=[contact.pk], names=["VIP"])
    html = client.get(url("inbox_panel", conversation)).content.decode()
    assert "陳美玲" in html and "+85261234567" in html and "mei@example.test" in html
    assert 'data-tag="VIP"' in html and 'data-bound="no"' in html
    assert "Acme LINE OA" in html and "This conversation" in html
    assert "data-add-tag" in html and "data-note-form" in html  # an agent edits tags and notes
    assert "data-contact-page" not in html  # …but has no contact pages


def test_a_cs_manager_gets_a_link_to_the_contact_page(workspace, make_member, console_client, conversation):
    html = console_client(make_member(workspace, Role.CS_MANAGER)).get(url("inbox_panel", conversation))
    assert reverse("console:contact", kwargs={"contact_id": conversation.contact_id}) in html.content.decode()


def test_tags_are_added_and_removed(client, conversation, workspace):
    tags_add(workspace=workspace, contact_ids=[conversation.contact_id], names=["Returning"])
    response = client.post(url("inbox_panel_tags", conversation), {"action": "add", "tags": "VIP，Tea lover"})
    assert set(contact_tag_names(conversation.contact)) == {"Returning", "VIP", "Tea lover"}
    html = response.content.decode()
    assert 'data-tag="VIP"' in html and '<option value="Returning">' in html  # suggestions for the next one
    client.post(url("inbox_panel_tags", conversation), {"action": "remove", "tags": "Returning"})
    assert set(contact_tag_names(conversation.contact)) == {"VIP", "Tea lover"}
    empty = client.post(url("inbox_panel_tags", conversation), {"action": "add", "tags": " "})
    assert "Type a tag name." in empty.content.decode()


def test_notes_are_added_newest_first_with_author_and_time(client, conversation, agent):
    client.post(url("inbox_panel_notes", conversation), {"text": "Prefers calls after 6pm"})
    response = client.post(url("inbox_panel_notes", conversation), {"text": "Asked about oolong"})
    notes = list(ContactNote.objects.filter(contact=conversation.contact).order_by("-created_at", "-pk"))
    assert [n.text for n in notes] == ["Asked about oolong", "Prefers calls after 6pm"]
    assert notes[0].author == agent
    html = response.content.decode()
    assert html.index("Asked about oolong") < html.index("Prefers calls after 6pm") and "Amy ·" in html
    refused = client.post(url("inbox_panel_notes", conversation), {"text": "  "})
    assert "Write the note first." in refused.content.decode()
    assert ContactNote.objects.count() == 2


def test_attributes_are_edited_in_place(client, conversation, workspace):
    custom_attribute_create(workspace=workspace, key="level", name="Membership level", type="choice",
                            choices=["Gold", "Silver"])
    custom_attribute_create(workspace=workspace, key="birthday", name="Birthday", type="date")
    attribute_url = url("inbox_panel_attribute", conversation)
    editor = client.get(attribute_url, {"key": "level", "edit": "1"}).content.decode()
    assert '<option value="Gold">' in editor and "data-attribute-form" in editor
    saved = client.post(attribute_url, {"key": "level", "value": "Gold"}).content.decode()
    assert "Gold" in saved and "data-attribute-form" not in saved
    refused = client.post(attribute_url, {"key": "birthday", "value": "31/02"}).content.decode()
    assert "data-attribute-form" in refused and 'role="alert"' in refused
    conversation.contact.refresh_from_db()
    assert conversation.contact.attributes == {"level": "Gold"}
    client.post(attribute_url, {"key": "level", "clear": "1"})
    conversation.contact.refresh_from_db()
    assert conversation.contact.attributes == {}
    assert client.get(attribute_url, {"key": "nope"}).status_code == 404


def test_details_are_edited_but_a_whatsapp_number_stays(client, conversation, whatsapp_account):
    details = url("inbox_panel_details", conversation)
    assert 'name="phone"' in client.get(details, {"edit": "1"}).content.decode()
    client.post(details, {"name": "Mei Chan", "email": "mei@example.test", "phone": "+852 6123 4567",
                          "member_id": "M-7"})
    contact = conversation.contact
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.phone, contact.member_id) == (
        "Mei Chan", "mei@example.test", "+85261234567", "M-7")

    on_whatsapp = conversation_on(whatsapp_account, name="Ken")
    number = on_whatsapp.contact.phone
    form = client.get(url("inbox_panel_details", on_whatsapp), {"edit": "1"}).content.decode()
    assert 'name="phone"' in form and "disabled" in form
    client.post(url("inbox_panel_details", on_whatsapp), {"name": "Ken Lee", "phone": "+85290000000"})
    on_whatsapp.contact.refresh_from_db()
    assert (on_whatsapp.contact.name, on_whatsapp.contact.phone) == ("Ken Lee", number)


def test_a_role_that_cannot_edit_contacts_reads_only(workspace, make_member, console_client, conversation):
    sales = make_member(workspace, Role.SALES_PERSON)
    conversation.assignee = sales  # a salesperson sees the conversations assigned to them
    conversation.save(update_fields=["assignee"])
    client = console_client(sales)
    html = client.get(url("inbox_panel", conversation)).content.decode()
    assert "data-readonly" in html and "陳美玲" in html
    assert "data-add-tag" not in html and "data-note-form" not in html and "data-edit-details" not in html
    assert client.post(url("inbox_panel_tags", conversation), {"action": "add", "tags": "VIP"}).status_code == 403
    assert client.post(url("inbox_panel_notes", conversation), {"text": "hi"}).status_code == 403
    assert client.post(url("inbox_panel_details", conversation), {"name": "X"}).status_code == 403
    custom_attribute_create(workspace=workspace, key="level", name="Level", type="text")
    assert client.post(url("inbox_panel_attribute", conversation), {"key": "level", "value": "Gold"}).status_code == 403
    conversation.contact.refresh_from_db()
    assert (contact_tag_names(conversation.contact), conversation.contact.attributes) == ([], {})
    assert not ContactNote.objects.exists()


def test_another_workspaces_or_an_invisible_conversation_is_404(client, workspace, other_workspace, make_member,
                                                               console_client, line_account):
    from tests.inbox.cross_workspace_factories import make_conversation

    foreign = make_conversation(other_workspace)
    assert client.get(url("inbox_panel", foreign)).status_code == 404
    assert client.post(url("inbox_panel_tags", foreign), {"tags": "VIP"}).status_code == 404
    theirs = conversation_on(line_account)
    theirs.assignee = make_member(workspace, Role.CS_AGENT)
    theirs.save(update_fields=["assignee"])
    assert client.post(url("inbox_panel_notes", theirs), {"text": "hi"}).status_code == 404
    assert not ContactNote.objects.exists()
    marketer = console_client(make_member(workspace, Role.MARKETER))  # edits contacts, but has no inbox
    assert marketer.get(url("inbox_panel", theirs)).status_code == 403
