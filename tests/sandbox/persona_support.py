"""Fixtures for persona and simulated-phone tests: both sandbox accounts connected, and a persona maker that goes
through `persona_create` (so a LINE friend follows by a real signed webhook).

Test modules import them: `from .persona_support import *  # noqa: F403`.
"""

import itertools

import pytest

from tidings.channels.models import WebhookEvent
from tidings.messaging.models import Message
from tidings.sandbox.personas import persona_create

_phones = itertools.count(1)

__all__ = ["accounts", "new_persona", "inbound", "webhook_types", "hk_phone"]


def hk_phone() -> str:
    return f"+8526123{next(_phones):04d}"


@pytest.fixture
def accounts(line_account, sms_account):
    return {"line": line_account, "sms": sms_account}


@pytest.fixture
def new_persona(workspace, accounts):
    def make(name="陳美玲", **flags):
        flags.setdefault("phone", hk_phone())
        return persona_create(workspace=workspace, name=name, **flags)

    return make


def inbound(persona, channel="line"):
    """Tidings' inbound messages from this persona's contact on a channel, oldest first."""
    return list(Message.objects.filter(contact=persona.contact, direction="in", channel=channel).order_by("id"))


def webhook_types(account):
    return list(WebhookEvent.objects.filter(account=account).order_by("id").values_list("event_type", flat=True))
