"""LINE code binding end to end: the browser gets a 6-digit code and a link that opens the LINE chat (in the sandbox,
the simulated phone) with the code typed in; the customer sends it; the signature-checked webhook binds."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tidings.binding.models import BindingToken
from tidings.contacts.models import Contact, TrackingEvent, Visitor
from tidings.timers.services import clock_advance

from .conftest import DEFAULT_SUCCESS, bindings, inbound_texts, received, says

pytestmark = pytest.mark.django_db(transaction=True)


def started(browser, workspace, visitor_id, **fields) -> dict:
    response = browser.start(workspace, "line_code", visitor_id, **fields)
    assert response.status_code == 200, response.content
    return response.json()


def test_sending_the_code_binds_the_browser_to_the_line_contact(browser, workspace, line_account, new_persona,
                                                               shopper):
    mei = new_persona()
    body = started(browser, workspace, shopper)
    assert body["method"] == "line_code" and len(body["code"]) == 6 and body["code"].isdigit()
    assert body["account"] == {"id": line_account.pk, "channel": "line", "name": "Acme LINE OA"}
    assert body["code"] in body["text"]
    # A sandbox account's link opens the simulated phone's LINE chat with the text typed in.
    url = urlsplit(body["url"])
    assert url.path == "/sandbox/open" and parse_qs(url.query) == {"channel": ["line"], "text": [body["text"]]}
    expires = datetime.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert datetime.timedelta(minutes=9) < expires - datetime.datetime.now(datetime.UTC) <= datetime.timedelta(minutes=15)
    assert browser.status(workspace, shopper)["bound"] is False

    says(workspace, mei, body["text"])

    visitor = Visitor.objects.get(workspace=workspace, visitor_id=shopper)
    assert visitor.contact_id == mei.contact_id
    contact = Contact.objects.get(pk=mei.contact_id)
    assert contact.bound_at is not None
    [binding] = bindings(workspace)
    assert (binding.contact_id, binding.channel, binding.method, binding.visitor_id) == (
        contact.pk, "line", "line_code", visitor.pk)
    assert binding.identity.external_id == mei.line_user_id
    # The cart event the browser had before anyone knew who it was is on the customer's timeline now.
    assert TrackingEvent.objects.get(visitor=visitor).contact_id == contact.pk
    # The customer's message is still a message, and they hear back once on LINE.
    assert inbound_texts([contact.pk]) == [body["text"]]
    assert received(mei) == [DEFAULT_SUCCESS]
    contact.refresh_from_db()
    assert contact.last_team_interaction_at is None  # an automatic notice, not the team talking
    assert browser.status(workspace, shopper) == {
        "bound": True, "channels": ["line"],
        "methods": [{"method": "line_code", "account": body["account"]}]}
    # The token is spent, and only its hash was ever stored.
    token = BindingToken.objects.get()
    assert token.consumed_at is not None and token.code_hash is None
    assert body["code"] not in token.token_hash


def test_the_success_message_uses_the_configured_text(browser, workspace, line_account, new_persona, shopper, admin):
    from tidings.binding.services import binding_settings_update

    binding_settings_update(workspace=workspace, by=admin, enabled=True, success_message="{name}，綁定成功！送你 50 元折價券",
                            code_text="綁定碼 {code}")
    mei = new_persona(name="陳美玲")
    body = started(browser, workspace, shopper)
    assert body["text"] == f"綁定碼 {body['code']}"
    says(workspace, mei, body["text"])
    assert received(mei) == ["陳美玲，綁定成功！送你 50 元折價券"]


def test_an_expired_code_binds_nothing(browser, workspace, line_account, new_persona, shopper):
    mei = new_persona()
    body = started(browser, workspace, shopper)
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=11))
    says(workspace, mei, body["text"])
    assert bindings(workspace) == []
    assert Visitor.objects.get(visitor_id=shopper).contact_id is None
    assert received(mei) == []
    assert inbound_texts([mei.contact_id]) == [body["text"]]  # just a message
    token = BindingToken.objects.get()
    assert token.attempts == 1 and token.code_hash is None  # its code is free to be drawn again


def test_a_code_works_once(browser, workspace, line_account, new_persona, shopper):
    mei, ming = new_persona(), new_persona(name="李志明")
    body = started(browser, workspace, shopper)
    says(workspace, mei, body["text"])
    says(workspace, ming, body["text"])  # someone else who saw the code
    says(workspace, mei, body["text"])  # or the same customer again
    [binding] = bindings(workspace)
    assert binding.contact_id == mei.contact_id
    assert received(ming) == [] and len(received(mei)) == 1


def test_a_wrong_or_forged_code_is_just_a_message(browser, workspace, line_account, new_persona, shopper):
    mei = new_persona()
    body = started(browser, workspace, shopper)
    wrong = f"{(int(body['code']) + 1) % 1_000_000:06d}"
    says(workspace, mei, f"My binding code is {wrong}")
    says(workspace, mei, "Order 123456789 please")  # longer numbers are not codes
    assert bindings(workspace) == []
    assert received(mei) == []
    assert inbound_texts([mei.contact_id]) == [f"My binding code is {wrong}", "Order 123456789 please"]


def test_a_code_from_another_workspace_binds_nothing(browser, workspace, other_workspace, line_account, new_persona,
                                                     shopper):
    from tidings.channels.services import account_create
    from tidings.sandbox.personas import persona_create

    account_create(workspace=other_workspace, actor=None, channel="line", name="Rival LINE")
    rival_customer = persona_create(workspace=other_workspace, name="Rival fan", phone="+85261110000")
    body = started(browser, workspace, shopper)
    says(other_workspace, rival_customer, body["text"])
    assert bindings(workspace) == [] and bindings(other_workspace) == []
    assert BindingToken.objects.get().consumed_at is None
    # The code still works where it belongs.
    says(workspace, new_persona(), body["text"])
    assert len(bindings(workspace)) == 1


def test_a_sender_guessing_codes_is_ignored_after_five_misses(browser, workspace, line_account, new_persona, shopper):
    guesser = new_persona(name="Guesser")
    body = started(browser, workspace, shopper)
    for n in range(5):
        says(workspace, guesser, f"{(int(body['code']) + 1 + n) % 1_000_000:06d}")
    says(workspace, guesser, body["text"])  # the right code, too late
    assert bindings(workspace) == []
    says(workspace, new_persona(), body["text"])  # the real customer is not locked out
    assert len(bindings(workspace)) == 1


def test_a_new_code_replaces_the_last_one_for_the_same_browser(browser, workspace, line_account, new_persona,
                                                               shopper):
    mei = new_persona()
    first = started(browser, workspace, shopper)
    second = started(browser, workspace, shopper)
    says(workspace, mei, first["text"])
    assert bindings(workspace) == []
    says(workspace, mei, second["text"])
    assert len(bindings(workspace)) == 1


def test_codes_are_unique_among_live_tokens(browser, workspace, line_account, monkeypatch):
    from tidings.binding import tokens

    draws = iter(["111111", "111111", "222222"])
    monkeypatch.setattr(tokens, "code_new", lambda: next(draws))
    first = started(browser, workspace, "visitor-aaaa-0001")
    second = started(browser, workspace, "visitor-bbbb-0002")
    assert (first["code"], second["code"]) == ("111111", "222222")
    # Once the first has expired, its code can be drawn again.
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=11))
    monkeypatch.setattr(tokens, "code_new", lambda: "111111")
    assert started(browser, workspace, "visitor-cccc-0003")["code"] == "111111"
