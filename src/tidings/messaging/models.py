"""Every message, whatever sent it, and what happened to it (DESIGN mechanism 2, SPEC C3).

Statistics in the seeds (open, read, response and click-through rates) are queries over Message and MessageEvent.
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet

# Retry keys are derived from our own ids, so a resend after a crash carries the same key.
RETRY_KEY_NAMESPACE = uuid.UUID("6f1d0c52-6b8e-4e3a-9a57-2f4b1c1e9d10")


class Purpose(models.TextChoices):
    CHAT = "chat", _("Chat")
    BROADCAST = "broadcast", _("Broadcast")
    JOURNEY = "journey", _("Journey")
    REMINDER = "reminder", _("Reminder")
    NOTIFICATION = "notification", _("Notification")
    API = "api", _("API")
    TEST = "test", _("Test message")


MARKETING_PURPOSES = frozenset({Purpose.BROADCAST, Purpose.JOURNEY, Purpose.REMINDER})


class DispatchKind(models.TextChoices):
    PUSH = "push", "push"  # one recipient, up to the channel's messages per request
    MULTICAST = "multicast", "multicast"  # many recipients, the same messages
    PNP = "pnp", "LINE notification message"  # by hashed phone number


class DispatchStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")  # a request is (or was, if the worker died) in flight
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Dispatch(models.Model):
    """One provider request: what a push, a multicast batch or an SMS is, with its retry state."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="dispatches")
    kind = models.CharField(max_length=12, choices=DispatchKind.choices, default=DispatchKind.PUSH)
    status = models.CharField(max_length=10, choices=DispatchStatus.choices, default=DispatchStatus.PENDING)
    # Provider-specific request options, e.g. the PNP delivery tag.
    options = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    @property
    def retry_key(self) -> str:
        return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"dispatch:{self.workspace_id}:{self.pk}"))


class Direction(models.TextChoices):
    OUTBOUND = "out", _("Outbound")
    INBOUND = "in", _("Inbound")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    RECEIVED = "received", _("Received")  # inbound


class Message(models.Model):
    # Foreign keys that an index below starts with get no index of their own: a broadcast writes 100,000 rows, and
    # every index is written once per row.
    # The workspace and the account are copies of the contact's and the identity's, whose keys are checked, so the
    # database does not check them again: on PostgreSQL a checked key costs every row a lookup and a lock on the one
    # parent row that all of a broadcast's rows share, at commit. Deletes still cascade (Django does it).
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False,
                                  db_constraint=False)
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="messages")
    identity = models.ForeignKey("contacts.ChannelIdentity", null=True, on_delete=models.SET_NULL, related_name="+",
                                 db_index=False)
    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="messages",
                                db_index=False, db_constraint=False)
    channel = models.CharField(max_length=20)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUTBOUND)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.CHAT)
    # Who or what sent it: "member:12", "api-token:3", "broadcast:7", "webhook".
    source = models.CharField(max_length=80, blank=True)
    content = models.JSONField()
    status = models.CharField(max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    dispatch = models.ForeignKey(Dispatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages",
                                 db_index=False)
    position = models.PositiveSmallIntegerField(default=0)  # order within its dispatch
    provider_message_id = models.CharField(max_length=200, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "contact", "-created_at"]),
            models.Index(fields=["account", "provider_message_id"]),
            models.Index(fields=["dispatch", "position"]),
            models.Index(fields=["identity", "-created_at"], name="message_identity_recent"),  # a conversation
        ]


class EventKind(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    OPENED = "opened", _("Opened")
    CLICKED = "clicked", _("Clicked")
    REPLIED = "replied", _("Replied")
    FAILED = "failed", _("Failed")
    RECEIVED = "received", _("Received")


class MessageEvent(models.Model):
    """Something that happened to a message; at most one per kind, so repeated opens or clicks count once."""

    # Indexed by the constraint and index below, which lead with them (as for Message). The workspace is the
    # message's, not checked by the database again (as for Message).
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False,
                                  db_constraint=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "kind"], name="one_event_per_kind")]
        indexes = [models.Index(fields=["workspace", "kind", "at"])]


class TrackedLink(models.Model):
    """A URL on a button or card, served through /l/<token> so a click is recorded against its message."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="links")
    token = models.CharField(max_length=32, unique=True)
    url = models.URLField(max_length=1000)
    clicks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()


class BulkSend(models.Model):
    """How far a resumable bulk send has stored its recipients (message_send_bulk with a `resume_key`).

    Such a send stores and commits its recipients in identity-id order, a part at a time, so delivery starts on the
    first part while the rest is stored; `cursor` (the last identity stored) commits with each part, so a send
    called again after a crash continues where it stopped, and one called again after it finished sends nothing.
    """

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120)
    cursor = models.BigIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)  # recipients stored so far
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="bulk_send_key_unique")]
