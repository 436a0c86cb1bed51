"""Fixtures for the notification shortcut: sandbox LINE and SMS accounts, a prepaid balance, a setting, personas
made through `persona_create` (friends follow by LINE's signed webhook), and helpers to read what happened."""

import datetime
import itertools

import pytest

from tidings.billing.services import balance_top_up
from tidings.notify.models import Notification
from tidings.notify.selectors import notification_steps
from tidings.notify.services import notifications_send, setting_create
from tidings.sandbox.models import SandboxRequest
from tidings.sandbox.personas import persona_create
from tidings.timers.services import clock_advance

_phones = itertools.count(1)

PNP = "/bot/pnp/push"
PUSH = "/v2/bot/message/push"
CONTENT = {
    "line_push": "Hi {name}, order {order_id} has shipped: {tracking_url}",
    "line_pnp": "Order {order_id} has shipped: {tracking_url}",
    "sms": "Acme: order {order_id} shipped {tracking_url}",
}
VALUES = {"name": "Mei", "order_id": "A1001", "tracking_url": "https://acme.example/t/A1001"}


def tw_phone() -> str:
    return f"+8869123{next(_phones):05d}"[:13]


@pytest.fixture
def accounts(line_account, sms_account):
    return {"line": line_account, "sms": sms_account}


@pytest.fixture
def funded(workspace):
    """A prepaid balance, so SMS is not refused."""
    balance_top_up(workspace=workspace, actor=None, amount=100, note="test credit")
    return workspace


@pytest.fixture
def setting(workspace, accounts):
    return setting_create(workspace=workspace, actor=None, data={
        "name": "Shipped", "scenario": "shipped", "methods": ["line_push", "line_pnp", "sms"],
        "sms_wait_minutes": 30, "content": dict(CONTENT)})


@pytest.fixture
def persona(workspace, accounts):
    def make(name="陳美玲", **flags):
        flags.setdefault("phone", tw_phone())
        return persona_create(workspace=workspace, name=name, **flags)

    return make


@pytest.fixture
def notify(workspace):
    """Send one notification through the intake service (as the API does) and return it."""

    def send(setting, phone, values=None, reference="order-1") -> Notification:
        status, body = notifications_send(workspace=workspace, setting_id=setting.pk, items=[
            {"phone": phone, "values": dict(VALUES if values is None else values), "reference": reference}])
        assert status == 201, body
        return Notification.objects.get(pk=body["items"][0]["id"])

    return send


def steps_of(notification) -> list[tuple[str, str]]:
    notification.refresh_from_db()
    return [(s.method, s.status) for s in notification_steps(notification)]


def requests_to(path, phone_or_user=None) -> list:
    return list(SandboxRequest.objects.filter(path=path).order_by("id"))


def later(workspace, **delta):
    clock_advance(workspace=workspace, by=datetime.timedelta(**delta))
