"""The prepaid balance (SPEC L1-L5): an append-only ledger, one account row per workspace, monthly bills.

The ledger is the truth: the balance is the sum of its entries. `BillingAccount.balance` keeps that sum beside the
settings so a charge reads and moves it under one row lock (services.py), which is also what serialises concurrent
charges; every entry stores the balance it left (`balance_after`), so the sum can always be checked against it.
"""

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet

# Stored as written here (stable across languages), translated when shown.
MIGRATION_NOTE = gettext_noop("SMS balance migration")
REFUND_NOTE = gettext_noop("Refund: the provider rejected the SMS")
STORED_NOTES = frozenset({MIGRATION_NOTE, REFUND_NOTE})

# The original's default low-balance thresholds per currency (帳戶總覽 › 付款與儲值).
DEFAULT_THRESHOLDS = {"HKD": 3500, "MYR": 50, "USD": 100, "SGD": 100, "TWD": 5000}


class EntryKind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    ADJUSTMENT = "adjustment", _("Balance adjustment")
    SMS_CHARGE = "sms_charge", _("SMS charge")
    REFUND = "refund", _("Refund")


class Feature(models.TextChoices):
    NOTIFICATION = "notification", _("LINE notification shortcut")
    PHONE_BINDING = "phone_binding", _("Phone binding")


class AppendOnlyQuerySet(WorkspaceScopedQuerySet):
    """Ledger rows are written once: no bulk update or delete through the ORM."""

    def update(self, **kwargs):
        raise TypeError("Ledger entries are append-only")

    def delete(self):
        raise TypeError("Ledger entries are append-only")


class BillingAccount(models.Model):
    """Per-workspace balance and rules. Created on the first billing write; locked by every ledger write."""

    workspace = models.OneToOneField("core.Workspace", on_delete=models.CASCADE, related_name="billing_account")
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, default=Decimal("0"))
    low_balance_threshold = models.DecimalField(_("low-balance threshold"), max_digits=14, decimal_places=2,
                                                default=Decimal("0"))
    # SMS is refused when a charge would take the balance below this; negative = credit allowed (寬限額度).
    grace_minimum = models.DecimalField(_("grace minimum"), max_digits=14, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    def __str__(self):
        return f"billing account of {self.workspace_id}"


class LedgerEntry(models.Model):
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)  # signed: charges negative
    balance_after = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(max_length=500, blank=True)
    feature = models.CharField(max_length=20, choices=Feature.choices, blank=True)
    channel = models.CharField(max_length=20, blank=True)  # "sms" for SMS charges and their refunds
    segments = models.IntegerField(default=0)  # SMS parts charged (negative on a refund)
    message_id = models.BigIntegerField(null=True, blank=True)  # messaging.Message; not a FK: the ledger outlives it
    reference = models.CharField(max_length=200, blank=True)
    refund_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="refund")
    # One-time writes (the SMS quota migration) carry a key, so running them twice adds once.
    once_key = models.CharField(max_length=100, null=True, blank=True)
    created_by = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)  # the workspace clock (test clocks move bills too)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "created_at"]),
            models.Index(fields=["workspace", "kind", "created_at"]),
            models.Index(fields=["workspace", "message_id"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "once_key"], condition=Q(once_key__isnull=False),
                                    name="ledger_once_per_key"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("Ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Ledger entries are append-only")

    @property
    def note_display(self) -> str:
        return gettext(self.note) if self.note in STORED_NOTES else self.note


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")


class Bill(models.Model):
    """The SMS bill of one calendar month in the workspace's time zone; created once (unique per month)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day of the billed month
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()  # exclusive
    # [{"feature", "channel", "messages", "segments", "refunded_segments", "cost"}], cost as a string
    lines = models.JSONField(default=list)
    sms_count = models.IntegerField(default=0)
    segments = models.IntegerField(default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3)
    balance_at_end = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    # The email as sent (or as it would be): shown in the console.
    email_to = models.CharField(max_length=500, blank=True)
    email_subject = models.CharField(max_length=300, blank=True)
    email_text = models.TextField(blank=True)
    email_html = models.TextField(blank=True)
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    email_error = models.CharField(max_length=500, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-month"]
        constraints = [models.UniqueConstraint(fields=["workspace", "month"], name="one_bill_per_month")]

    def __str__(self):
        return f"bill {self.month:%Y-%m}"

    @property
    def last_day(self):
        """The billed month's last day (period_end is the exclusive midnight after it)."""
        return (self.month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)


class LowBalanceEmail(models.Model):
    """A low-balance warning sent (or tried); one per workspace-local day."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    balance = models.DecimalField(max_digits=14, decimal_places=2)
    threshold = models.DecimalField(max_digits=14, decimal_places=2)
    email_to = models.CharField(max_length=500, blank=True)
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    email_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "day"], name="one_low_balance_email_a_day")]
