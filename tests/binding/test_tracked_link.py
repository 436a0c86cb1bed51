"""Binding from a tracked link: a URL button in a message we sent redirects with a signed `_tid`; the shop page's
script posts it to /bind/v1/tracked, which binds that browser to the contact who received the message."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tidings.contacts.models import Contact, Visitor
from tidings.messaging.services import message_send
from tidings.sandbox.personas import persona_act
from tidings.timers.services import clock_advance

from .conftest import bindings, received

pytestmark = pytest.mark.django_db(transaction=True)

CARD = {"type": "buttons", "text": "Oolong is back in stock", "actions": [
    {"type": "uri", "label": "Buy oolong", "uri": "https://shop.example.test/oolong"}]}


def tap(workspace, persona) -> str:
    """Send the persona a card and let them tap its button; returns the `_tid` their browser lands with."""
    [message] = message_send(workspace=workspace, contact=persona.contact, channel="line", contents=[CARD],
                             purpose="broadcast", source="test")
    result = persona_act(workspace=workspace, persona=persona, action="tap", channel="line", message_id=message.pk,
                         button="Buy oolong")
    location = urlsplit(result.link["location"])
    assert (location.netloc, location.path) == ("shop.example.test", "/oolong")
    return parse_qs(location.query)["_tid"][0]


def post_tid(browser, workspace, visitor_id, tid):
    return browser.post("/bind/v1/tracked", {"workspace": workspace.slug, "visitor_id": visitor_id, "tid": tid})


def test_a_tracked_link_binds_the_browser_to_the_recipient(browser, workspace, line_account, new_persona, shopper):
    mei = new_persona()
    tid = tap(workspace, mei)
    response = post_tid(browser, workspace, shopper, tid)
    assert response.status_code == 200, response.content
    assert response.json() == {"bound": True, "channels": ["line"]}
    [binding] = bindings(workspace)
    assert (binding.method, binding.contact_id, binding.identity.external_id) == (
        "tracked_link", mei.contact_id, mei.line_user_id)
    assert Visitor.objects.get(visitor_id=shopper).contact_id == mei.contact_id
    assert Contact.objects.get(pk=mei.contact_id).bound_at is not None
    # The customer only tapped a link: no "you are linked" message follows the card.
    assert len(received(mei)) == 1

    # The tid works once: a forwarded link does not bind a second browser.
    again = post_tid(browser, workspace, "visitor-friend-000001", tid)
    assert again.status_code == 422 and again.json()["details"] == [
        {"field": "tid", "message": "This link has expired or is not valid."}]
    assert len(bindings(workspace)) == 1


def test_expired_forged_and_cross_workspace_tids_are_refused(browser, workspace, other_workspace, line_account,
                                                              new_persona, shopper):
    mei = new_persona()
    tid = tap(workspace, mei)
    forged = tid[:-3] + ("AAA" if not tid.endswith("AAA") else "BBB")
    assert post_tid(browser, workspace, shopper, forged).status_code == 422
    assert post_tid(browser, other_workspace, shopper, tid).status_code == 422
    assert post_tid(browser, workspace, shopper, "").status_code == 422
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=11))
    assert post_tid(browser, workspace, shopper, tid).status_code == 422
    assert bindings(workspace) == [] and bindings(other_workspace) == []
    assert Visitor.objects.get(visitor_id=shopper).contact_id is None
