"""Messenger (m.me?ref=), Instagram (ig.me/m/…?ref=) and WhatsApp (wa.me?text= with a code) binding, end to end
through the fake Graph API's signed webhooks, opened on the simulated phone."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tidings.binding.models import BindingToken
from tidings.contacts.models import Contact, Visitor
from tidings.sandbox.fake_graph.common import graph_webhook_send
from tidings.sandbox.fake_graph.messenger_webhooks import mg_referral, mg_webhook_body
from tidings.sandbox.phone.deeplinks import deeplink_open_ref
from tidings.timers.services import clock_advance

from .conftest import DEFAULT_SUCCESS, bindings, received, says

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def meta_accounts(messenger_account, instagram_account, whatsapp_account):
    return {"messenger": messenger_account, "instagram": instagram_account, "whatsapp": whatsapp_account}


@pytest.fixture
def fan(new_persona, meta_accounts):
    """A customer on all three Meta apps who has not written to the shop yet."""
    return new_persona(line=False, friend=False, messenger={}, instagram={}, whatsapp={})


def ref_of(url: str) -> str:
    [ref] = parse_qs(urlsplit(url).query)["ref"]
    return ref


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_a_ref_link_on_a_new_thread_binds_through_get_started(browser, workspace, meta_accounts, fan, shopper,
                                                             channel):
    body = browser.start(workspace, f"{channel}_ref", shopper).json()
    assert body["method"] == f"{channel}_ref" and "code" not in body
    assert body["account"]["id"] == meta_accounts[channel].pk
    ref = ref_of(body["url"])
    assert ref.startswith("bind.") and len(ref) >= 27  # 128 random bits after the prefix

    assert deeplink_open_ref(persona=fan, channel=channel, ref=ref) == 200  # Get Started with the referral

    [binding] = bindings(workspace)
    assert (binding.channel, binding.method, binding.contact_id) == (channel, f"{channel}_ref", fan.contact_id)
    assert Visitor.objects.get(visitor_id=shopper).contact_id == fan.contact_id
    # Opening the thread opened the 24-hour window, so the success message goes out as a normal reply.
    assert received(fan, channel) == [DEFAULT_SUCCESS]
    assert browser.status(workspace, shopper)["channels"] == [channel]


def test_a_ref_link_on_an_existing_thread_binds_through_the_referral_event(browser, workspace, meta_accounts, fan,
                                                                         shopper):
    says(workspace, fan, "Do you ship to Kowloon?", channel="messenger")
    ref = ref_of(browser.start(workspace, "messenger_ref", shopper).json()["url"])
    assert deeplink_open_ref(persona=fan, channel="messenger", ref=ref) == 200
    [binding] = bindings(workspace)
    assert binding.contact_id == fan.contact_id
    assert received(fan, "messenger") == [DEFAULT_SUCCESS]


def test_refs_are_refused_when_expired_reused_forged_on_the_wrong_app_or_another_workspace(
        browser, workspace, other_workspace, meta_accounts, fan, new_persona, shopper):
    from tidings.channels.services import account_create

    ref = ref_of(browser.start(workspace, "messenger_ref", shopper).json()["url"])
    # Another workspace's Page: the same ref arrives in a signed webhook to that Page.
    rival_page = account_create(workspace=other_workspace, actor=None, channel="messenger", name="Rival Page")
    graph_webhook_send(rival_page, mg_webhook_body(rival_page, [mg_referral(rival_page, fan, ref)]))
    # The shop's Instagram account is the wrong app for a Messenger ref.
    assert deeplink_open_ref(persona=fan, channel="instagram", ref=ref) == 200
    # A ref that was never issued.
    assert deeplink_open_ref(persona=fan, channel="messenger", ref="bind.AAAAAAAAAAAAAAAAAAAAAA") == 200
    assert bindings(workspace) == [] and bindings(other_workspace) == []
    assert BindingToken.objects.get().attempts == 2  # the rival Page and Instagram

    later = ref_of(browser.start(workspace, "messenger_ref", shopper).json()["url"])
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=11))
    assert deeplink_open_ref(persona=fan, channel="messenger", ref=later) == 200
    assert bindings(workspace) == []

    fresh = ref_of(browser.start(workspace, "messenger_ref", shopper).json()["url"])
    assert deeplink_open_ref(persona=fan, channel="messenger", ref=fresh) == 200
    other = new_persona(name="Forwarded to", line=False, friend=False, messenger={})
    assert deeplink_open_ref(persona=other, channel="messenger", ref=fresh) == 200  # reused
    [binding] = bindings(workspace)
    assert binding.contact_id == fan.contact_id
    assert received(other, "messenger") == []


def test_whatsapp_code_binds(browser, workspace, meta_accounts, fan, shopper):
    body = browser.start(workspace, "whatsapp_code", shopper, member_id="M-1001").json()
    url = urlsplit(body["url"])
    assert parse_qs(url.query) == {"channel": ["whatsapp"], "text": [body["text"]]}
    says(workspace, fan, body["text"], channel="whatsapp")
    [binding] = bindings(workspace)
    assert (binding.channel, binding.member_id) == ("whatsapp", "M-1001")
    assert Contact.objects.get(pk=fan.contact_id).member_id == "M-1001"
    assert received(fan, "whatsapp") == [DEFAULT_SUCCESS]


def test_a_line_code_sent_on_whatsapp_is_refused(browser, workspace, line_account, meta_accounts, fan, shopper):
    body = browser.start(workspace, "line_code", shopper).json()
    says(workspace, fan, body["text"], channel="whatsapp")
    assert bindings(workspace) == []
    token = BindingToken.objects.get()
    assert token.attempts == 1 and token.consumed_at is None
