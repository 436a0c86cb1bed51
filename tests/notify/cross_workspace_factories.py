from tests.support.cross_workspace import register_object_factory, register_request_body

CONTENT = {"line_pnp": "Order {order_id} shipped", "sms": "Order {order_id} shipped"}


def make_notification_setting(workspace):
    from tidings.notify.services import setting_create

    return setting_create(workspace=workspace, actor=None, data={
        "name": "Other workspace's", "scenario": "shipped", "methods": ["line_pnp", "sms"], "sms_wait_minutes": 30,
        "content": CONTENT})


def make_notification(workspace):
    from tidings.notify.models import Notification

    setting = make_notification_setting(workspace)
    return Notification.objects.create(workspace=workspace, setting=setting, phone="+886912345678",
                                       values={"order_id": "X1"}, methods=setting.methods, texts={})


register_object_factory("notification_setting_id", make_notification_setting)
register_object_factory("notification_id", make_notification)
register_request_body("PATCH", "/api/v1/notification-settings/{notification_setting_id}", {"name": "Hijacked"})
