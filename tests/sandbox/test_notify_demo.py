"""The demo's notification settings: there from the first load, loaded once, and ready to send with — a demo LINE
friend gets the shipped notice as a LINE push with the order's values filled in."""

import pytest

from tidings.demo.loader import demo_load
from tidings.notify.models import NotificationSetting
from tidings.notify.services import notifications_send
from tidings.sandbox.models import Persona, SandboxRequest

from ..notify.conftest import steps_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_notification_settings_load_once_and_send():
    workspace = demo_load()
    settings = {s.name: s for s in NotificationSetting.objects.filter(workspace=workspace)}
    assert set(settings) == {"訂單出貨通知", "門市取貨通知"}
    shipped = settings["訂單出貨通知"]
    assert shipped.scenario == "shipped" and shipped.methods == ["line_push", "line_pnp", "sms"]
    demo_load()
    assert NotificationSetting.objects.filter(workspace=workspace).count() == 2

    friend = Persona.objects.filter(workspace=workspace, line_friend=True, line_blocked=False).first()
    status, body = notifications_send(workspace=workspace, setting_id=shipped.pk, items=[{
        "phone": friend.phone, "reference": "TD-1001",
        "values": {"name": friend.name, "order_id": "TD-1001", "tracking_url": "https://demo.test/t/TD-1001"}}])
    assert status == 201, body
    notification = shipped.notifications.get(pk=body["items"][0]["id"])
    assert steps_of(notification) == [("line_push", "sent")]
    push = SandboxRequest.objects.filter(workspace=workspace, path="/v2/bot/message/push").latest("id")
    assert push.body["to"] == friend.line_user_id
    assert push.body["messages"][0]["text"] == (
        f"{friend.name} 您好，您的訂單 TD-1001 已出貨，點此查看物流進度：https://demo.test/t/TD-1001")
