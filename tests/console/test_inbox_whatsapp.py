"""New WhatsApp conversation from the inbox (SPEC I2): phone required with a country code (Hong Kong +852 by default),
name optional; a new or closed conversation is followed at once; one followed by someone else asks "take it over?"
first; only CS roles may start one."""

import re

import pytest
from django.urls import reverse

from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.inbox.models import ActivityKind, Conversation, ConversationState
from tidings.inbox.services import conversation_close, conversation_follow, whatsapp_conversation_start

URL = reverse("console:inbox_whatsapp_start")


@pytest.fixture
def amy(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Amy")


@pytest.fixture
def ben(workspace, make_member):
    return make_member(workspace, Role.CS_AGENT, name="Ben")


def test_the_dialog_defaults_to_hong_kong_and_offers_the_common_codes(workspace, whatsapp_account, amy,
                                                                      console_client):
    body = console_client(amy).get(reverse("console:inbox")).content.decode()
    assert "data-wa-open" in body
    selected = re.search(r'<option value="(\w+)" selected>([^<]+)</option>', body[body.index('name="region"'):])
    assert selected.groups() == ("HK", "+852 Hong Kong")
    for label in ("+886 Taiwan", "+853 Macau", "+86 Mainland China", "+65 Singapore", "+60 Malaysia",
                  "+1 United States", "+44 United Kingdom"):
        assert label in body


def test_a_new_number_opens_a_conversation_the_member_follows(workspace, whatsapp_account, amy, console_client):
    response = console_client(amy).post(URL, {"region": "HK", "phone": "6123 4567", "name": ""},
                                        HTTP_HX_REQUEST="true")
    conversation = Conversation.objects.get(channel="whatsapp")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("console:inbox_conversation", args=[conversation.pk])
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, amy)
    assert conversation.contact.phone == "+85261234567"
    assert conversation.contact.name == "+85261234567"  # the name defaults to the number
    page = console_client(amy).get(response["HX-Redirect"]).content.decode()
    assert "You follow it" in page and "Amy started this conversation" in page
    assert "WhatsApp lets a business start a conversation with an approved template only" in page


def test_the_country_code_applies_unless_the_number_has_its_own(workspace, whatsapp_account, amy, console_client):
    client = console_client(amy)
    client.post(URL, {"region": "TW", "phone": "0912 345 678", "name": "林小姐"})
    client.post(URL, {"region": "TW", "phone": "+44 7400 123456"})
    assert set(Conversation.objects.values_list("contact__phone", flat=True)) == {"+886912345678", "+447400123456"}
    assert Conversation.objects.get(contact__phone="+886912345678").contact.name == "林小姐"


@pytest.mark.parametrize("phone, error", [("", "Enter the customer's WhatsApp phone number."),
                                          ("12", "Enter a valid phone number")])
def test_a_missing_or_invalid_number_is_refused_on_the_field(workspace, whatsapp_account, amy, console_client,
                                                             phone, error):
    response = console_client(amy).post(URL, {"region": "HK", "phone": phone}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "data-phone-error" in body and error in body.replace("&#x27;", "'")
    assert not Conversation.objects.exists()


def test_followed_by_someone_else_asks_first_then_takes_over(workspace, whatsapp_account, amy, ben, console_client):
    conversation = whatsapp_conversation_start(workspace=workspace, membership=amy, phone="+85261234567")
    client = console_client(ben)
    asked = client.post(URL, {"region": "HK", "phone": "61234567", "name": "Mei"}, HTTP_HX_REQUEST="true")
    body = asked.content.decode()
    assert "Amy follows this conversation. Take it over?" in body and "data-wa-takeover" in body
    assert 'name="takeover" value="1"' in body and 'name="phone" value="61234567"' in body
    conversation.refresh_from_db()
    assert conversation.assignee == amy

    taken = client.post(URL, {"region": "HK", "phone": "61234567", "name": "Mei", "takeover": "1"},
                        HTTP_HX_REQUEST="true")
    assert taken["HX-Redirect"] == reverse("console:inbox_conversation", args=[conversation.pk])
    conversation.refresh_from_db()
    assert conversation.assignee == ben
    taken_over = conversation.activities.get(kind=ActivityKind.TAKEN_OVER)
    assert (taken_over.previous_assignee, taken_over.actor) == (amy, ben)
    assert AuditEntry.objects.filter(action="conversation.take_over", target_id=str(conversation.pk)).exists()


def test_a_closed_conversation_is_followed_at_once(workspace, whatsapp_account, amy, ben, console_client):
    conversation = whatsapp_conversation_start(workspace=workspace, membership=amy, phone="+85261234567")
    conversation_close(conversation=conversation, membership=amy)
    response = console_client(ben).post(URL, {"region": "HK", "phone": "61234567"})
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.state, conversation.assignee) == (ConversationState.IN_PROGRESS, ben)


def test_without_javascript_the_form_is_a_page_of_its_own(workspace, whatsapp_account, amy, ben, console_client):
    conversation = whatsapp_conversation_start(workspace=workspace, membership=amy, phone="+85261234567")
    conversation_follow(conversation=conversation, membership=amy)
    client = console_client(ben)
    assert 'name="phone"' in client.get(URL).content.decode()
    asked = client.post(URL, {"region": "HK", "phone": "61234567"})
    assert asked.status_code == 200 and "Take it over?" in asked.content.decode()


def test_no_whatsapp_number_yet_says_so(workspace, amy, console_client):
    body = console_client(amy).get(reverse("console:inbox")).content.decode()
    assert "data-wa-not-ready" in body and "Ask an Admin to connect one" in body


@pytest.mark.parametrize("role", [Role.SALES_MANAGER, Role.SALES_PERSON, Role.MARKETER])
def test_only_customer_service_roles_start_whatsapp_conversations(workspace, whatsapp_account, make_member,
                                                                  console_client, role):
    client = console_client(make_member(workspace, role))
    assert "data-wa-open" not in client.get(reverse("console:inbox")).content.decode()
    assert client.post(URL, {"region": "HK", "phone": "61234567"}).status_code == 403
    assert not Conversation.objects.exists()
