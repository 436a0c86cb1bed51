"""The demo's notification shortcut (SPEC N4): one setting per common order event, so the notification screens and
the Notification API have something to show and to send with from the start."""

from tidings.core.models import Workspace
from tidings.notify.models import NotificationSetting
from tidings.notify.services import setting_create

DEMO_SETTINGS = [
    {"name": "訂單出貨通知", "scenario": "shipped", "methods": ["line_push", "line_pnp", "sms"], "sms_wait_minutes": 30,
     "content": {
         "line_push": "{name} 您好，您的訂單 {order_id} 已出貨，點此查看物流進度：{tracking_url}",
         "line_pnp": "{name} 您好，您的訂單 {order_id} 已出貨，點此查看物流進度：{tracking_url}",
         "sms": "【Tidings Demo 茶飲】訂單 {order_id} 已出貨，物流進度：{tracking_url}"}},
    {"name": "門市取貨通知", "scenario": "delivered_store", "methods": ["line_push", "sms"], "sms_wait_minutes": 60,
     "content": {
         "line_push": "{name} 您好，您的訂單 {order_id} 已送達 {store}，請於 7 天內取貨。",
         "sms": "【Tidings Demo 茶飲】訂單 {order_id} 已送達 {store}，請於 7 天內取貨。"}},
]


def demo_notifications(workspace: Workspace) -> None:
    for data in DEMO_SETTINGS:
        if not NotificationSetting.objects.for_workspace(workspace).filter(name=data["name"]).exists():
            setting_create(workspace=workspace, actor=None, data=data)
