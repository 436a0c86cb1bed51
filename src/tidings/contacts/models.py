"""Customers and their channel identities (SPEC D1). The Social CDP issue grows this; the pipeline needs the core."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet


class Channel(models.TextChoices):
    LINE = "line", "LINE"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Messenger"
    INSTAGRAM = "instagram", "Instagram"


class Contact(models.Model):
    """One customer, however many channels they reach us on."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)  # E.164
    email = models.EmailField(_("email"), blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # Interaction times maintained by the message pipeline (SPEC D1).
    last_customer_interaction_at = models.DateTimeField(null=True, blank=True)
    last_team_interaction_at = models.DateTimeField(null=True, blank=True)
    last_marketing_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "phone"]),
            models.Index(fields=["workspace", "-created_at"]),
        ]

    def __str__(self):
        return self.name or self.phone or f"#{self.pk}"


class ChannelIdentity(models.Model):
    """How one contact is addressed on one channel account: a LINE user id per Official Account, a phone for SMS."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="identities")
    external_id = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    picture_url = models.URLField(max_length=1000, blank=True)
    # Subscription state: a LINE friend who has not blocked us; for SMS, not opted out.
    subscribed = models.BooleanField(default=False)
    subscribed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # When this person last wrote to us (message, postback, referral): opens WhatsApp's and Messenger's 24-hour
    # customer-service window.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="identity_unique_per_account"),
        ]
        indexes = [models.Index(fields=["workspace", "channel", "subscribed"])]

    def __str__(self):
        return f"{self.channel}:{self.external_id}"
