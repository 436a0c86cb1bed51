"""Binding tests: a browser (a plain client, no cookies, as the shop's page calls us from another origin), the
sandbox personas who act on their phones, and helpers to read what happened."""

import itertools
import json

import pytest
from django.test import Client

from tidings.binding.models import Binding
from tidings.contacts.tracking import events_record, visitor_touch
from tidings.messaging.models import Direction, Message
from tidings.sandbox.models import SandboxDelivery
from tidings.sandbox.personas import persona_act, persona_create

_phones = itertools.count(1)
_visitors = itertools.count(1)


def hk_phone() -> str:
    return f"+8526223{next(_phones):04d}"


def new_visitor_id() -> str:
    return f"visitor-{next(_visitors):06d}-browser"


# The default binding-success message, in the shop's default language (Traditional Chinese).
DEFAULT_SUCCESS = "您的帳號已完成綁定，我們之後會在這裡通知您最新消息！"


class Browser:
    """The shop's page calling /bind/v1/ from another origin: JSON, no cookies, no CSRF token; an English browser."""

    def __init__(self):
        self.client = Client(enforce_csrf_checks=True)

    def post(self, path: str, body: dict, **headers):
        return self.client.post(path, data=json.dumps(body), content_type="application/json",
                                headers={"Origin": "https://shop.example.test", "Accept-Language": "en", **headers})

    def get(self, path: str, params: dict):
        return self.client.get(path, params, headers={"Origin": "https://shop.example.test", "Accept-Language": "en"})

    def start(self, workspace, method: str, visitor_id: str, **fields):
        return self.post("/bind/v1/start", {"workspace": workspace.slug, "visitor_id": visitor_id,
                                            "method": method, **fields})

    def status(self, workspace, visitor_id: str) -> dict:
        response = self.get("/bind/v1/status", {"workspace": workspace.slug, "visitor_id": visitor_id})
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def browser():
    return Browser()


@pytest.fixture
def new_persona(workspace, line_account):
    def make(name="陳美玲", **flags):
        flags.setdefault("phone", hk_phone())
        return persona_create(workspace=workspace, name=name, **flags)

    return make


@pytest.fixture
def shopper(workspace):
    """An anonymous browser on the shop that put tea in its cart."""
    visitor_id = new_visitor_id()
    visitor_touch(workspace=workspace, visitor_id=visitor_id)
    events_record(workspace=workspace, source="web", events=[
        {"type": "add_to_cart", "visitor_id": visitor_id, "properties": {"sku": "oolong", "quantity": 1},
         "event_id": f"{visitor_id}-1"}])
    return visitor_id


def says(workspace, persona, text: str, channel: str = "line"):
    """The persona sends `text` on its phone: a real signed webhook reaches Tidings."""
    result = persona_act(workspace=workspace, persona=persona, action="send", channel=channel, text=text)
    assert result.webhook_status == 200
    return result


def received(persona, channel: str = "line") -> list[str]:
    """What the persona's phone shows from the business, as texts."""
    deliveries = SandboxDelivery.objects.filter(persona=persona, channel=channel).exclude(kind="user").order_by("id")
    texts = []
    for delivery in deliveries:
        payload = delivery.payload or {}
        if channel == "whatsapp":
            texts.append((payload.get("text") or {}).get("body") or json.dumps(payload, ensure_ascii=False))
        elif channel in ("messenger", "instagram"):
            texts.append((payload.get("message") or {}).get("text") or json.dumps(payload, ensure_ascii=False))
        else:
            texts.append(payload.get("text") or json.dumps(payload, ensure_ascii=False))
    return texts


def bindings(workspace):
    return list(Binding.objects.for_workspace(workspace).order_by("id"))


def inbound_texts(contact_ids, channel="line") -> list[str]:
    return [m.content.get("text") for m in Message.objects.filter(
        contact_id__in=contact_ids, direction=Direction.INBOUND, channel=channel).order_by("id")]
