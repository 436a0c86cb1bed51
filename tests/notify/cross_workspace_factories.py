from tests.support.cross_workspace import register_object_factory, register_request_body, register_valid_body

CONTENT = {"line_pnp": "Order {order_id} shipped", "sms": "Order {order_id} shipped"}


def make_notification_setting(workspace):
    from tidings.notify.services import setting_create

    return setting_create(workspace=workspace, actor=None, data={
        "name": "Order shipped", "scenario": "shipped", "methods": ["line_pnp", "sms"], "sms_wait_minutes": 30,
        "content": CONTENT})


def make_notification(workspace):
    from tidings.notify.models import Notification

    setting = make_notification_setting(workspace)
    return Notification.objects.create(workspace=workspace, setting=setting, phone="+886912345678",
                                       values={"order_id": "X1"}, methods=setting.methods, texts={})


def send_body(workspace) -> dict:
    return {"setting_id": make_notification_setting(workspace).pk,
            "items": [{"phone": "+886912345678", "values": {"order_id": "X1"}, "reference": "X1"}]}


register_object_factory("notification_setting_id", make_notification_setting)
register_object_factory("notification_id", make_notification)
register_request_body("PATCH", "/api/v1/notification-settings/{notification_setting_id}", {"name": "Hijacked"})
register_valid_body("POST", "/api/v1/notification-settings", lambda workspace: {
    "name": "Matrix", "scenario": "shipped", "methods": ["line_pnp", "sms"], "sms_wait_minutes": 30,
    "content": CONTENT})
register_valid_body("POST", "/api/v1/notification-messages", send_body)
