"""The Notification API (SPEC N1, N4): notification settings, and sending notifications by phone number.

Every route needs `notifications.manage` (Admin, Supervisor, Marketer) and the Notification API module.

`POST /notification-messages` accepts 1-100 items; each item is accepted (`"status": "queued"`, then the cascade
LINE push → LINE notification message → SMS runs in the background) or rejected on its own - a bad phone or a
variable the setting's content uses without a value - as `{"id": null, "status": "rejected", "error": {"field",
"message"}}`, while the others proceed. The answer is 201 when at least one item was accepted, 422 when none was
(the standard error body plus the same `items`). An `Idempotency-Key` header makes a retry safe: the same key again
answers exactly the first answer and creates nothing (the same key with a different body is a 422).
"""

import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.core.permissions import Permission
from tidings.notify.cascade import error_text
from tidings.notify.selectors import notification_get, notification_steps, setting_get, settings_list
from tidings.notify.services import MAX_ITEMS, notifications_send, setting_create, setting_update

from ..auth import actor
from ..errors import COMMON_ERRORS, ErrorDetail, ObjectNotFound
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["notifications"])

Method_ = Literal["line_push", "line_pnp", "sms"]


class ContentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    line_push: str | None = Field(None, description="LINE push message text, with {variables}")
    line_pnp: str | None = Field(None, description="LINE notification message text, with {variables}")
    sms: str | None = Field(None, description="SMS text, with {variables}")


class SettingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="At most 50 characters")
    scenario: str = Field(..., description="purchase_completed, shipped, delivered_home, delivered_store or custom")
    custom_scenario: str | None = Field(None, description="The custom scenario's name (scenario custom)")
    methods: list[str] = Field(..., description='Methods on, of "line_push", "line_pnp", "sms" (tried in that order)')
    sms_wait_minutes: int = Field(30, description="How long a LINE notification message may go undelivered before "
                                                  "the SMS goes out: 5-1440 minutes")
    content: ContentIn = Field(..., description="The text per method; required for each method that is on")

    def data(self) -> dict:
        out = self.model_dump(exclude_unset=False)
        out["content"] = {k: v for k, v in out["content"].items() if v is not None}
        return out


class SettingPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    scenario: str | None = None
    custom_scenario: str | None = None
    methods: list[str] | None = None
    sms_wait_minutes: int | None = None
    content: ContentIn | None = None

    def data(self, current: dict) -> dict:
        out = {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None or k == "custom_scenario"}
        if "content" in out:  # a partial content changes only the methods it names
            out["content"] = {**current, **{k: v for k, v in out["content"].items() if v is not None}}
        return out


class SettingOut(Schema):
    id: int
    name: str
    scenario: str
    custom_scenario: str
    methods: list[Method_]
    sms_wait_minutes: int
    content: dict[str, str]
    created_at: datetime.datetime
    updated_at: datetime.datetime


SettingPage = page_of(SettingOut)


class ItemIn(Schema):
    phone: Any = Field(None, description="The customer's phone, E.164 (+886912345678) or national with the "
                                         "workspace's default region")
    values: Any = Field(None, description='Variable values, e.g. {"order_id": "A123", "name": "Mei"}')
    reference: Any = Field(None, description="Your own id for this notification (an order number), echoed back")


class SendIn(Schema):
    model_config = ConfigDict(extra="forbid")

    setting_id: int = Field(..., description="The notification setting to send (its id, shown in the console)")
    items: list[ItemIn] = Field(..., min_length=1, max_length=MAX_ITEMS, description=f"1 to {MAX_ITEMS} items")


class ItemError(Schema):
    field: str
    message: str


class ItemOut(Schema):
    id: int | None
    status: str = Field(..., description='"queued" when accepted, "rejected" (then see error)')
    reference: str = ""
    error: ItemError | None = None


class SendOut(Schema):
    items: list[ItemOut]


class AllRejectedOut(Schema):
    message: str
    details: list[ErrorDetail] = []
    items: list[ItemOut] = []


class StepOut(Schema):
    method: Method_
    status: Literal["queued", "sent", "delivered", "failed"]
    at: datetime.datetime = Field(..., description="When the step reached its status")
    sent_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    late: bool = Field(..., description="A delivery report that came after the next method had gone out")
    error: str | None
    error_code: str | None = None


class NotificationOut(Schema):
    id: int
    status: Literal["queued", "sending", "waiting", "sent", "delivered", "failed"]
    setting_id: int
    phone: str
    reference: str
    error: str | None
    created_at: datetime.datetime
    completed_at: datetime.datetime | None
    steps: list[StepOut]


def _setting(request, notification_setting_id: int):
    setting = setting_get(request.auth.workspace, notification_setting_id)
    if setting is None:
        raise ObjectNotFound()
    return setting


@router.get("/notification-settings", response={200: SettingPage, **COMMON_ERRORS},
            summary="List notification settings")
@requires(Permission.NOTIFICATIONS_MANAGE)
def list_notification_settings(request, page: Query[PageParams]):
    return paginate(settings_list(request.auth.workspace), page)


@router.post("/notification-settings", response={201: SettingOut, **COMMON_ERRORS},
             summary="Create a notification setting")
@requires(Permission.NOTIFICATIONS_MANAGE)
def create_notification_setting(request, payload: SettingIn):
    setting = setting_create(workspace=request.auth.workspace, actor=actor(request), data=payload.data())
    return Status(201, setting)


@router.get("/notification-settings/{notification_setting_id}", response={200: SettingOut, **COMMON_ERRORS},
            summary="One notification setting")
@requires(Permission.NOTIFICATIONS_MANAGE)
def get_notification_setting(request, notification_setting_id: int):
    return _setting(request, notification_setting_id)


@router.patch("/notification-settings/{notification_setting_id}", response={200: SettingOut, **COMMON_ERRORS},
              summary="Change a notification setting (only the fields sent)")
@requires(Permission.NOTIFICATIONS_MANAGE)
def patch_notification_setting(request, notification_setting_id: int, payload: SettingPatch):
    setting = _setting(request, notification_setting_id)
    return setting_update(workspace=request.auth.workspace, actor=actor(request), setting=setting,
                          data=payload.data(setting.content))


@router.post("/notification-messages", response={201: SendOut, **COMMON_ERRORS, 422: AllRejectedOut},
             summary="Send notifications by phone number (LINE push → LINE notification message → SMS)",
             openapi_extra={"parameters": [{
                 "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string"},
                 "description": "Makes a retry safe: the same key again returns the first answer and creates nothing",
             }]})
@requires(Permission.NOTIFICATIONS_MANAGE)
def send_notifications(request, payload: SendIn):
    status, body = notifications_send(
        workspace=request.auth.workspace, setting_id=payload.setting_id,
        items=[item.model_dump() for item in payload.items], source=f"api-token:{request.auth.pk}",
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    return Status(status, body)


def _step_out(step) -> dict:
    at = {"delivered": step.delivered_at, "sent": step.sent_at}.get(step.status) or step.created_at
    return {"method": step.method, "status": step.status, "at": at, "sent_at": step.sent_at,
            "delivered_at": step.delivered_at, "late": step.late, "error": error_text(step.error) or None,
            "error_code": (step.error or {}).get("code")}


@router.get("/notification-messages/{notification_id}", response={200: NotificationOut, **COMMON_ERRORS},
            summary="A notification and its steps")
@requires(Permission.NOTIFICATIONS_MANAGE)
def get_notification(request, notification_id: int):
    notification = notification_get(request.auth.workspace, notification_id)
    if notification is None:
        raise ObjectNotFound()
    return {
        "id": notification.pk, "status": notification.status, "setting_id": notification.setting_id,
        "phone": notification.phone, "reference": notification.reference,
        "error": error_text(notification.error) or None, "created_at": notification.created_at,
        "completed_at": notification.completed_at,
        "steps": [_step_out(step) for step in notification_steps(notification)],
    }
