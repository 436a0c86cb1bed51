"""Shop integrations (SPEC D5): Shopify stores and the webhook deliveries they send us."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.channels.crypto import decrypt_json, encrypt_json
from tidings.core.models import WorkspaceScopedQuerySet


class ShopifyStore(models.Model):
    """A Shopify shop whose webhooks (carts, checkouts, orders) feed the workspace's event timeline.

    Webhooks are addressed to `/integrations/shopify/<public_id>` and signed with the store's webhook secret (the
    app's client secret, or the key Shopify shows under Settings > Notifications > Webhooks), kept encrypted."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    shop_domain = models.CharField(_("shop domain"), max_length=255)  # acme.myshopify.com
    name = models.CharField(_("name"), max_length=120, blank=True)
    secret_encrypted = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_delivery_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "shop_domain"], name="shopify_store_unique")]
        ordering = ["shop_domain"]

    def __str__(self):
        return self.name or self.shop_domain

    @property
    def webhook_secret(self) -> str:
        return decrypt_json(self.secret_encrypted).get("webhook_secret", "")

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_json({"webhook_secret": value})


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


class ShopifyDelivery(models.Model):
    """One webhook delivery, stored once per `X-Shopify-Webhook-Id` (Shopify retries with the same id) and then
    processed in a task; `outcome` says what it became."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(ShopifyStore, on_delete=models.CASCADE, related_name="deliveries")
    webhook_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    triggered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED)
    outcome = models.CharField(max_length=300, blank=True)
    event = models.ForeignKey("contacts.TrackingEvent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "webhook_id"], name="shopify_delivery_once")]
        indexes = [models.Index(fields=["workspace", "store", "-received_at"])]
        ordering = ["-received_at"]
