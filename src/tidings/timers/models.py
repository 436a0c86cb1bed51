"""Durable timers (DESIGN mechanism 3): every "do this later" is a row here, never a message parked in a broker."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet


class TimerState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class Timer(models.Model):
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="timers")
    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    # When it is due on the workspace's clock (what people and handlers reason about)...
    due_at = models.DateTimeField()
    # ...and the real instant that is; a sandbox test clock moving forward pulls it earlier.
    fires_at = models.DateTimeField()
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=TimerState.choices, default=TimerState.PENDING)
    # A sweeper that claimed the row holds it until then; after that another may retake it.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    fired_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="timer_key_unique_in_workspace")]
        indexes = [
            models.Index(fields=["state", "fires_at"], name="timer_due_idx"),
            models.Index(fields=["workspace", "state", "due_at"], name="timer_ws_state_idx"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.key}"
