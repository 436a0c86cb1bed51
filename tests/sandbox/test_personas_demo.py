"""The demo's sandbox channels and personas: every LINE state present, history made the real way, idempotent."""

import pytest

from tidings.channels.models import ChannelAccount, WebhookEvent
from tidings.contacts.models import ChannelIdentity, Contact
from tidings.demo.loader import demo_load
from tidings.messaging.models import Message
from tidings.sandbox.models import Persona, SandboxDelivery

pytestmark = pytest.mark.django_db(transaction=True)


def _counts(workspace):
    return {
        "accounts": ChannelAccount.objects.filter(workspace=workspace).count(),
        "personas": Persona.objects.filter(workspace=workspace).count(),
        "contacts": Contact.objects.filter(workspace=workspace).count(),
        "identities": ChannelIdentity.objects.filter(workspace=workspace).count(),
        "messages": Message.objects.filter(workspace=workspace).count(),
        "webhooks": WebhookEvent.objects.filter(workspace=workspace).count(),
        "deliveries": SandboxDelivery.objects.filter(workspace=workspace).count(),
    }


def test_demo_personas_cover_every_state_and_load_once():
    workspace = demo_load()
    accounts = ChannelAccount.objects.filter(workspace=workspace)
    assert sorted((a.channel, a.mode) for a in accounts) == [
        ("instagram", "sandbox"), ("line", "sandbox"), ("messenger", "sandbox"), ("sms", "sandbox"),
        ("whatsapp", "sandbox")]
    personas = list(Persona.objects.filter(workspace=workspace))
    assert 18 <= len(personas) <= 25
    states = {
        "friend": [p for p in personas if p.line_friend and not p.line_blocked],
        "not friend": [p for p in personas if p.line_user_id and not p.line_friend],
        "blocked": [p for p in personas if p.line_blocked],
        "no LINE": [p for p in personas if not p.line_user_id],
        "PNP consent": [p for p in personas if p.pnp_consent],
        "no PNP consent": [p for p in personas if p.line_user_id and not p.pnp_consent],
    }
    assert all(len(group) >= 2 for group in states.values()), {k: len(v) for k, v in states.items()}
    assert {p.phone[:4] for p in personas} == {"+852", "+886"}
    assert any(p.name.isascii() for p in personas) and any(not p.name.isascii() for p in personas)

    # Tidings learned the LINE friends by their follow webhooks; the blocked ones by follow then unfollow.
    line = accounts.get(channel="line")
    for persona in states["friend"]:
        assert ChannelIdentity.objects.get(account=line, external_id=persona.line_user_id).subscribed
    for persona in states["blocked"]:
        assert not ChannelIdentity.objects.get(account=line, external_id=persona.line_user_id).subscribed
    # Chat history both ways, each through the real path.
    assert Message.objects.filter(workspace=workspace, direction="in", channel="line").count() >= 2
    assert Message.objects.filter(workspace=workspace, direction="in", channel="sms").count() >= 1
    outbound = Message.objects.filter(workspace=workspace, direction="out")
    assert outbound.filter(channel="line", content__type="carousel").exists()
    assert outbound.filter(channel="sms").exists()
    assert SandboxDelivery.objects.filter(workspace=workspace, kind="push").exists()

    before = _counts(workspace)
    demo_load()
    assert _counts(workspace) == before
