"""Customers and every way we know them (SPEC D1): channel identities, web visitors, tags, typed custom attributes,
notes, merges (reversible) and the website events timeline (D5)."""

from django.db import models
from django.db.models import F
from django.db.models.fields.json import KeyTransform
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
    # The shop's own customer id (Shopify customer id, a member number): unique per workspace when set.
    member_id = models.CharField(_("member id"), max_length=100, blank=True)
    # Values of the workspace's CustomAttribute definitions, keyed by attribute key, stored in their JSON form
    # (dates as ISO strings). Validated by services.attributes_validate.
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField("Tag", through="ContactTag", related_name="contacts")
    # Binding state (D2): when a website visitor / member was last bound to one of this contact's chat identities;
    # None when not bound. Maintained by the binding app through services.contact_set_bound.
    bound_at = models.DateTimeField(null=True, blank=True)
    # Set when this contact was merged into another: it disappears from lists; un-merging clears it.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_contacts")
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
            models.Index(fields=["workspace", "email"]),
            models.Index(fields=["workspace", "member_id"]),
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


class Tag(models.Model):
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("tag"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name")]

    def __str__(self):
        return self.name


class ContactTag(models.Model):
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="contact_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_tags")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="contact_tag_unique")]
        indexes = [models.Index(fields=["tag", "contact"])]


class AttributeType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    BOOLEAN = "boolean", _("Yes / no")
    CHOICE = "choice", _("Choice")


class CustomAttribute(models.Model):
    """A workspace-defined field on every contact (seed 002: marketers may define and edit them)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(_("key"), max_length=50)
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=AttributeType.choices)
    choices = models.JSONField(default=list, blank=True)  # the allowed values of a choice attribute
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="attribute_unique_key")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class ContactNote(models.Model):
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("note"), max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]


class MergeReason(models.TextChoices):
    BINDING = "binding", _("Social identity binding")
    PHONE = "phone", _("Verified phone number")
    MEMBER_ID = "member_id", _("Same member id")
    MANUAL = "manual", _("Merged by a member")


class ContactMerge(models.Model):
    """One contact (`merged`) folded into another (`kept`), with exactly what moved, so it can be undone."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    kept = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges_kept")
    merged = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="merges_merged")
    reason = models.CharField(max_length=20, choices=MergeReason.choices)
    detail = models.CharField(max_length=300, blank=True)  # e.g. "LINE code binding", the phone, the member id
    # What moved from `merged` to `kept`: identity, visitor, event, note ids, tag ids added, fields and attributes
    # filled in on `kept`. Un-merge moves exactly these back.
    moved = models.JSONField(default=dict)
    by = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]


class Visitor(models.Model):
    """A browser on the shop's site, known by the first-party visitor id cookie of the tracking script (D5).
    Anonymous until identified (init with member id / email / phone) or bound (D2): then `contact` is set."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    visitor_id = models.CharField(max_length=64)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "visitor_id"], name="visitor_unique_id")]

    def __str__(self):
        return self.visitor_id


class EventType(models.TextChoices):
    VIEW_PRODUCT = "view_product", _("Viewed a product")
    ADD_TO_CART = "add_to_cart", _("Added to cart")
    REMOVE_FROM_CART = "remove_from_cart", _("Removed from cart")
    CHECKOUT = "checkout", _("Started checkout")
    PURCHASE = "purchase", _("Purchased")


class EventSource(models.TextChoices):
    WEB = "web", _("Website script")
    API = "api", _("Events API")
    SHOPIFY = "shopify", _("Shopify")


class TrackingEvent(models.Model):
    """One website / shop event on a contact's timeline (D5). Anonymous visitors' events carry only `visitor`
    until the visitor is identified or bound, when `contact` is filled in."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    visitor = models.ForeignKey(Visitor, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=30, choices=EventType.choices)
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=EventSource.choices)
    # The sender's id for the event (script event id, Shopify webhook id + topic): a retried delivery is stored once.
    dedupe_key = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "source", "dedupe_key"], name="event_unique_dedupe",
                                    condition=~models.Q(dedupe_key="")),
        ]
        indexes = [
            models.Index(fields=["workspace", "contact", "-occurred_at"]),
            models.Index(fields=["workspace", "visitor", "-occurred_at"]),
            # Shopify cart webhooks carry no buyer: the cart is found through the token the script reported.
            models.Index(F("workspace"), KeyTransform("cart_token", "properties"), name="event_cart_token"),
        ]


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ContactImport(models.Model):
    """A CSV/XLSX import (D4): uploaded, mapped, dry-run or run in the background with progress."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey("core.Membership", null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_name = models.CharField(max_length=255)
    # column header → target ("name", "phone", "email", "member_id", "tags", "attr:<key>", or "" to skip)
    mapping = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"row": 7, "field": "phone", "message": "…"}], capped
    error = models.TextField(blank=True)  # why the whole job failed (unreadable file)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the file was deleted for good (retention.py): the row, its counts and errors stay.
    expired_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]


class ContactExport(models.Model):
    """The filtered contact list as CSV or XLSX, built in the background, headers in the member's language."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey("core.Membership", null=True, on_delete=models.SET_NULL, related_name="+")
    format = models.CharField(max_length=4, choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    filters = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the file was deleted for good (retention.py): the row, its counts and errors stay.
    expired_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
