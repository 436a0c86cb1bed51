"""Unbinding: the bindings end, the merges binding caused are undone (both customers as they were, with every
identity, tag and event), a member id binding wrote is taken back, and the customer shows as not bound."""

import pytest

from tidings.binding.services import binding_unbind
from tidings.contacts.models import ChannelIdentity, Contact, ContactMerge, TrackingEvent, Visitor
from tidings.contacts.services import contact_create, tags_add
from tidings.contacts.tracking import events_record, visitor_identify
from tidings.core.errors import ServiceError
from tidings.core.roles import Role

from .conftest import bindings, says

pytestmark = pytest.mark.django_db(transaction=True)


def bind_by_code(browser, workspace, persona, visitor_id, **fields):
    body = browser.start(workspace, "line_code", visitor_id, **fields).json()
    says(workspace, persona, body["text"])
    return bindings(workspace)[-1]


def tags_of(contact_id) -> set[str]:
    return set(Contact.objects.get(pk=contact_id).tags.values_list("name", flat=True))


def test_a_logged_in_browser_binding_merges_and_unbinding_restores_both(browser, workspace, line_account,
                                                                        new_persona, admin):
    mei = new_persona()
    # On the shop, the member logged in (the script's init) and put tea in the cart; the shop tagged them.
    visitor = visitor_identify(workspace=workspace, visitor_id="visitor-logged-in-01", member_id="M-7007",
                               email="mei@example.test")
    member_contact = visitor.contact
    tags_add(workspace=workspace, contact_ids=[member_contact.pk], names=["vip"])
    events_record(workspace=workspace, source="web", events=[
        {"type": "add_to_cart", "visitor_id": visitor.visitor_id, "properties": {"sku": "oolong"}, "event_id": "e1"}])

    binding = bind_by_code(browser, workspace, mei, visitor.visitor_id)

    # One customer: the chat contact kept, the shop's contact merged into it with everything it had.
    [merge] = binding.merges.all()
    assert (merge.kept_id, merge.merged_id, merge.reason) == (mei.contact_id, member_contact.pk, "binding")
    assert merge.detail == "Binding: LINE code message"
    chat = Contact.objects.get(pk=mei.contact_id)
    assert (chat.member_id, chat.email, chat.bound_at is not None) == ("M-7007", "mei@example.test", True)
    assert "vip" in tags_of(chat.pk)
    assert TrackingEvent.objects.get(dedupe_key="e1").contact_id == chat.pk
    assert browser.status(workspace, visitor.visitor_id)["bound"] is True

    binding_unbind(workspace=workspace, contact=chat, by=admin)

    chat.refresh_from_db()
    member_contact.refresh_from_db()
    assert chat.bound_at is None and chat.member_id == "" and chat.email == "" and "vip" not in tags_of(chat.pk)
    assert member_contact.merged_into_id is None and member_contact.member_id == "M-7007"
    assert tags_of(member_contact.pk) == {"vip"}
    assert Visitor.objects.get(pk=visitor.pk).contact_id == member_contact.pk
    assert TrackingEvent.objects.get(dedupe_key="e1").contact_id == member_contact.pk
    assert ChannelIdentity.objects.get(external_id=mei.line_user_id).contact_id == chat.pk
    merge.refresh_from_db()
    binding.refresh_from_db()
    assert merge.undone_at is not None and binding.unbound_at is not None and binding.unbound_by == admin
    assert browser.status(workspace, visitor.visitor_id)["bound"] is False
    with pytest.raises(ServiceError):
        binding_unbind(workspace=workspace, contact=chat, by=admin)  # nothing left to unbind


def test_an_anonymous_browser_is_anonymous_again_after_unbinding(browser, workspace, line_account, new_persona,
                                                                 shopper, admin):
    mei = new_persona()
    binding = bind_by_code(browser, workspace, mei, shopper)
    assert binding.visitor_attached and not binding.merges.exists()
    assert TrackingEvent.objects.get(visitor__visitor_id=shopper).contact_id == mei.contact_id
    binding_unbind(workspace=workspace, contact=Contact.objects.get(pk=mei.contact_id), by=admin)
    assert Visitor.objects.get(visitor_id=shopper).contact_id is None
    assert TrackingEvent.objects.get(visitor__visitor_id=shopper).contact_id is None
    assert browser.status(workspace, shopper)["bound"] is False


def test_a_member_id_names_its_contact_which_is_merged_and_restored(browser, workspace, line_account, new_persona,
                                                                    shopper, admin):
    mei = new_persona()
    imported = contact_create(workspace=workspace, name="Mei (import)", member_id="M-8008", tags=["imported"])
    binding = bind_by_code(browser, workspace, mei, shopper, member_id="M-8008")
    [merge] = binding.merges.all()
    assert (merge.kept_id, merge.merged_id) == (mei.contact_id, imported.pk)
    assert Contact.objects.get(pk=mei.contact_id).member_id == "M-8008"
    binding_unbind(workspace=workspace, contact=Contact.objects.get(pk=mei.contact_id), by=admin)
    imported.refresh_from_db()
    assert imported.merged_into_id is None and imported.member_id == "M-8008" and tags_of(imported.pk) == {"imported"}
    assert Contact.objects.get(pk=mei.contact_id).member_id == ""


def test_a_member_id_nobody_has_is_written_and_taken_back(browser, workspace, line_account, new_persona, shopper,
                                                          admin):
    mei = new_persona()
    binding = bind_by_code(browser, workspace, mei, shopper, member_id="M-9009")
    assert binding.member_id_set and not binding.merges.exists()
    assert Contact.objects.get(pk=mei.contact_id).member_id == "M-9009"
    binding_unbind(workspace=workspace, contact=Contact.objects.get(pk=mei.contact_id), by=admin)
    assert Contact.objects.get(pk=mei.contact_id).member_id == ""
    assert not ContactMerge.objects.exists()


def test_two_different_member_ids_are_two_people_and_nothing_is_bound(browser, workspace, line_account, new_persona,
                                                                      shopper):
    mei = new_persona()
    bind_by_code(browser, workspace, mei, shopper, member_id="M-1111")
    count = len(bindings(workspace))
    # Another browser claims another member id for the same LINE user.
    body = browser.start(workspace, "line_code", "visitor-other-member-1", member_id="M-2222").json()
    says(workspace, mei, body["text"])
    assert len(bindings(workspace)) == count
    assert Contact.objects.get(pk=mei.contact_id).member_id == "M-1111"


def test_the_console_unbinds_from_the_profile(browser, workspace, line_account, new_persona, shopper, make_member,
                                              console_client):
    mei = new_persona()
    bind_by_code(browser, workspace, mei, shopper)
    url = f"/contacts/{mei.contact_id}/unbind"
    agent = console_client(make_member(workspace, Role.CS_AGENT))
    assert agent.post(url).status_code == 403
    marketer = console_client(make_member(workspace, Role.MARKETER))
    assert marketer.get(url).status_code == 405
    response = marketer.post(url, follow=True)
    assert response.redirect_chain[-1][0] == f"/contacts/{mei.contact_id}/"
    assert "Unbound." in response.content.decode()
    assert Contact.objects.get(pk=mei.contact_id).bound_at is None
    again = marketer.post(url, follow=True)
    assert "This customer is not bound." in again.content.decode()
