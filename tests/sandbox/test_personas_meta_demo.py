"""The demo on Meta's channels: sandbox WhatsApp, Messenger and Instagram accounts, approved WhatsApp templates (one
with five buttons), personas inside and outside their windows on each app, and history made the real way."""

import pytest

from tidings.channels.models import ChannelAccount
from tidings.contacts.models import ChannelIdentity
from tidings.demo.loader import demo_load
from tidings.message_templates.models import WhatsAppTemplate
from tidings.messaging.models import Message
from tidings.sandbox.models import Persona, SandboxTemplate
from tidings.sandbox.personas_meta import persona_meta_state

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_has_meta_accounts_templates_and_personas_in_every_window_state():
    workspace = demo_load()
    channels = set(ChannelAccount.objects.filter(workspace=workspace, mode="sandbox").values_list("channel", flat=True))
    assert {"whatsapp", "messenger", "instagram"} <= channels

    templates = WhatsAppTemplate.objects.filter(workspace=workspace)
    assert templates.count() >= 3 and {t.status for t in templates} == {"APPROVED"}
    assert max(len(t.buttons) for t in templates) == 5
    assert SandboxTemplate.objects.filter(account__workspace=workspace, status="APPROVED").count() == templates.count()

    states = [persona_meta_state(p) for p in Persona.objects.filter(workspace=workspace)]
    for channel in ("whatsapp", "messenger", "instagram"):
        on = [s[channel] for s in states if s[channel]]
        assert any(s["in_window"] for s in on) and any(not s["in_window"] for s in on), channel
    assert any(not p.line_user_id and p.whatsapp_id for p in Persona.objects.filter(workspace=workspace))

    # In-window personas wrote by webhook; out-of-window WhatsApp personas were sent templates, never free text.
    for channel in ("whatsapp", "messenger", "instagram"):
        assert Message.objects.filter(workspace=workspace, channel=channel, direction="in").exists(), channel
    outbound = Message.objects.filter(workspace=workspace, channel="whatsapp", direction="out")
    assert outbound.filter(content__type="template", content__name="weekly_offers").exists()
    shut = [p for p in Persona.objects.filter(workspace=workspace).exclude(whatsapp_id="")
            if not persona_meta_state(p)["whatsapp"]["in_window"]]
    assert shut and not outbound.filter(contact__in=[p.contact for p in shut]).exclude(
        content__type="template").exists()
    for persona in shut:
        assert ChannelIdentity.objects.filter(contact=persona.contact, channel="whatsapp").exists()

    before = (Persona.objects.filter(workspace=workspace).count(), templates.count(),
              Message.objects.filter(workspace=workspace).count())
    demo_load()
    assert before == (Persona.objects.filter(workspace=workspace).count(), templates.count(),
                      Message.objects.filter(workspace=workspace).count())
