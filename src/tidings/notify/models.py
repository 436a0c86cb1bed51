"""The LINE notification shortcut (SPEC N1-N4): settings, one Notification per item sent through the API, and one
NotificationStep per method tried (LINE push, LINE notification message, SMS), each pointing at its Message.

The cascade that moves a notification through its steps is in cascade.py; docs/modules/notify.md draws it.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet


class Scenario(models.TextChoices):
    PURCHASE_COMPLETED = "purchase_completed", _("Purchase completed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED_HOME = "delivered_home", _("Delivered (home delivery)")
    DELIVERED_STORE = "delivered_store", _("Delivered (store pickup)")
    CUSTOM = "custom", _("Custom")


class Method(models.TextChoices):
    LINE_PUSH = "line_push", _("LINE push message")
    LINE_PNP = "line_pnp", _("LINE notification message")
    SMS = "sms", _("SMS")


# The order the cascade tries them in (N1).
METHOD_ORDER = (Method.LINE_PUSH, Method.LINE_PNP, Method.SMS)

SMS_WAIT_MIN, SMS_WAIT_MAX = 5, 1440  # minutes (N4)
NAME_MAX = 50  # the original's limit on a notification's name


class NotificationSetting(models.Model):
    """What to send for one scenario and how: the content per method, which methods are on, the SMS wait."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=NAME_MAX)
    scenario = models.CharField(_("scenario"), max_length=20, choices=Scenario.choices)
    custom_scenario = models.CharField(_("custom scenario"), max_length=NAME_MAX, blank=True)
    methods = models.JSONField(_("methods"), default=list)  # subset of Method, kept in METHOD_ORDER
    sms_wait_minutes = models.PositiveIntegerField(_("SMS wait time (minutes)"), default=30)
    content = models.JSONField(_("content"), default=dict)  # method -> text with {variables}
    created_by = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self):
        return self.name

    @property
    def scenario_label(self) -> str:
        if self.scenario == Scenario.CUSTOM and self.custom_scenario:
            return self.custom_scenario
        return str(self.get_scenario_display())


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")  # accepted; the first step is not stored yet
    SENDING = "sending", _("Sending")  # the current step's message is with the pipeline
    WAITING = "waiting", _("Waiting for delivery")  # LINE notification message sent, waiting up to the SMS wait
    SENT = "sent", _("Sent")  # LINE push or SMS accepted by the provider
    DELIVERED = "delivered", _("Delivered")  # a delivery report came back (PNP, SMS)
    FAILED = "failed", _("Failed")  # no method reached the customer; `error` says why


FINAL_STATUSES = frozenset({NotificationStatus.SENT, NotificationStatus.DELIVERED, NotificationStatus.FAILED})


class Notification(models.Model):
    """One item of a Notification API call: one customer (by phone), one setting, its variables."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    setting = models.ForeignKey(NotificationSetting, on_delete=models.CASCADE, related_name="notifications")
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    phone = models.CharField(max_length=20)  # E.164
    values = models.JSONField(default=dict, blank=True)
    # What the setting said when the item was accepted (a later edit does not change a notification under way):
    # the methods on, the SMS wait, and each method's text with the values filled in.
    methods = models.JSONField(default=list)
    sms_wait_minutes = models.PositiveIntegerField(default=30)
    texts = models.JSONField(default=dict)
    reference = models.CharField(max_length=200, blank=True)  # the caller's own id (an order number)
    source = models.CharField(max_length=80, blank=True)  # "api-token:3"
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED)
    stage = models.CharField(max_length=10, choices=Method.choices, blank=True)  # the method being tried now
    deadline = models.DateTimeField(null=True, blank=True)  # the LINE notification message's wait ends (SMS then)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # workspace clock
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "setting", "created_at"]),
            models.Index(fields=["workspace", "-created_at"]),
            models.Index(fields=["workspace", "status"]),
        ]

    def __str__(self):
        return f"notification {self.pk} to {self.phone}"


class StepStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class NotificationStep(models.Model):
    """One method tried for one notification. Created (unique per notification and method) in the transaction that
    stores its message, so a step can never be sent twice."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="steps")
    setting = models.ForeignKey(NotificationSetting, on_delete=models.CASCADE, related_name="+")  # for statistics
    method = models.CharField(max_length=10, choices=Method.choices)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.QUEUED)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    segments = models.PositiveIntegerField(default=0)  # SMS parts charged
    error = models.JSONField(null=True, blank=True)  # {"message", "code"?, "status"?}
    created_at = models.DateTimeField(default=timezone.now)  # workspace clock
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A delivery report that came after the cascade had moved on (a late LINE delivery after the SMS went out).
    late = models.BooleanField(default=False)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notification", "method"], name="notify_one_step_per_method")]
        indexes = [models.Index(fields=["workspace", "setting", "created_at"])]

    def __str__(self):
        return f"{self.method} of notification {self.notification_id}"


class NotificationRequest(models.Model):
    """A Notification API call made with an Idempotency-Key: the same key again answers the stored response."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the request body
    status_code = models.PositiveSmallIntegerField(default=201)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="notify_one_request_per_key")]
