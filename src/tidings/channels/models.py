"""Channel accounts, the raw webhook events they receive, and the shared rate-limit counters."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet

from .crypto import decrypt_json, encrypt_json


class AccountMode(models.TextChoices):
    LIVE = "live", _("Live")
    SANDBOX = "sandbox", _("Sandbox")


class ChannelAccount(models.Model):
    """A LINE Official Account, a Twilio SMS sender, a WhatsApp number… connected to one workspace.

    Live accounts talk to the provider's real base URL; sandbox accounts to Tidings' own fake provider.
    """

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="channel_accounts")
    channel = models.CharField(max_length=20)  # contacts.models.Channel values
    name = models.CharField(_("name"), max_length=120)
    mode = models.CharField(max_length=10, choices=AccountMode.choices, default=AccountMode.SANDBOX)
    # The id in webhook URLs: unguessable, so one account's URL reveals nothing about another's.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The provider's own id for the account: LINE channel id, Twilio account SID, WhatsApp phone number id.
    external_id = models.CharField(max_length=120, blank=True)
    base_url = models.URLField(max_length=300)
    credentials_encrypted = models.TextField(blank=True)
    # Non-secret provider settings, e.g. the SMS sender number.
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "channel"])]
        ordering = ["channel", "name"]

    def __str__(self):
        return f"{self.name} ({self.channel}, {self.mode})"

    @property
    def credentials(self) -> dict:
        return decrypt_json(self.credentials_encrypted)

    def set_credentials(self, values: dict) -> None:
        self.credentials_encrypted = encrypt_json(values)

    @property
    def is_sandbox(self) -> bool:
        return self.mode == AccountMode.SANDBOX


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class WebhookEvent(models.Model):
    """One provider event exactly as it arrived (signature already checked). Unique per provider id: repeats no-op."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="webhook_events")
    provider_event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "provider_event_id"], name="webhook_event_unique"),
        ]
        indexes = [models.Index(fields=["workspace", "-received_at"])]


class RateSlot(models.Model):
    """The earliest time the next request under one limit key may start; shared by every worker (ratelimit.py)."""

    key = models.CharField(max_length=120, unique=True)
    next_at = models.FloatField()  # epoch seconds


class RateWindow(models.Model):
    """Requests counted per second for one key: how the sandbox's fake providers enforce a provider's limit."""

    key = models.CharField(max_length=120)
    window = models.BigIntegerField()  # epoch second
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="rate_window_unique")]
