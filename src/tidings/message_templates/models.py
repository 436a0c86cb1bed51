"""WhatsApp message templates as the workspace authors them, and where Meta's review stands."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet


class TemplateStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")  # not submitted to Meta yet
    PENDING = "PENDING", _("In review")
    APPROVED = "APPROVED", _("Approved")
    REJECTED = "REJECTED", _("Rejected")
    PAUSED = "PAUSED", _("Paused")  # Meta paused it for low quality
    DISABLED = "DISABLED", _("Disabled")  # disabled or deleted at Meta


class TemplateCategory(models.TextChoices):
    MARKETING = "MARKETING", _("Marketing")
    UTILITY = "UTILITY", _("Utility")
    AUTHENTICATION = "AUTHENTICATION", _("Authentication")


class TemplateAudience(models.TextChoices):
    GENERAL = "general", _("General")
    # Chat-to-order notices only: never offered for 1:1 chat, broadcasts or journeys (SPEC S8).
    SYSTEM_NOTIFICATION = "system_notification", _("System notification")


class WhatsAppTemplate(models.Model):
    """One template in one language. `header`, `buttons` and `examples` keep the API shape (rules.template_clean);
    `message_templates.components` turns them into Graph components when submitting."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="whatsapp_templates")
    # The WhatsApp number it was submitted through; templates belong to its WABA, shared by the WABA's numbers.
    account = models.ForeignKey("channels.ChannelAccount", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    waba_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=512)
    language = models.CharField(_("language"), max_length=15)
    category = models.CharField(_("category"), max_length=20, choices=TemplateCategory.choices)
    audience = models.CharField(_("audience"), max_length=24, choices=TemplateAudience.choices,
                                default=TemplateAudience.GENERAL)
    header = models.JSONField(null=True, blank=True)  # {"format": "TEXT", "text"} | {"format": "IMAGE", "url"}
    body = models.TextField(_("body"))
    footer = models.CharField(_("footer"), max_length=60, blank=True)
    buttons = models.JSONField(default=list, blank=True)  # [{"type", "text", "url"?, "phone"?}]
    examples = models.JSONField(default=dict, blank=True)  # {"body": [...], "header": [...], "url": [...]}
    status = models.CharField(max_length=12, choices=TemplateStatus.choices, default=TemplateStatus.DRAFT)
    rejected_reason = models.CharField(max_length=200, blank=True)
    provider_template_id = models.CharField(max_length=64, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name", "language"], name="whatsapp_template_unique"),
        ]
        indexes = [models.Index(fields=["workspace", "provider_template_id"])]

    def __str__(self):
        return f"{self.name} ({self.language})"

    @property
    def submitted(self) -> bool:
        return self.status != TemplateStatus.DRAFT

    @property
    def editable(self) -> bool:
        """Meta takes edits of approved, rejected and paused templates (they go back to review), never mid-review."""
        return self.status != TemplateStatus.PENDING

    def spec(self) -> dict:
        """The API / form shape of this template."""
        return {"name": self.name, "language": self.language, "category": self.category, "audience": self.audience,
                "header": self.header, "body": self.body, "footer": self.footer, "buttons": list(self.buttons),
                "examples": dict(self.examples)}
