"""Conversations (SPEC I1-I6): one per customer identity and channel account, their follow history, keyword
rules and what fired them, saved replies, CSV exports, and the real-time event log.

Messages themselves stay in messaging: a conversation's history is the Messages of its identity.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tidings.contacts.models import JobStatus
from tidings.core.models import WorkspaceScopedQuerySet


class ConversationState(models.TextChoices):
    PENDING = "pending", pgettext_lazy("conversation state", "Pending")  # 待處理
    IN_PROGRESS = "in_progress", _("In progress")  # 處理中
    CLOSED = "closed", _("Closed")  # 已結束


class Conversation(models.Model):
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="conversations")
    identity = models.OneToOneField("contacts.ChannelIdentity", on_delete=models.CASCADE, related_name="conversation")
    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20)
    state = models.CharField(max_length=12, choices=ConversationState.choices, default=ConversationState.PENDING)
    # The member who follows (跟進) it; None is the unassigned queue.
    assignee = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    last_message_at = models.DateTimeField(default=timezone.now)
    last_message_preview = models.CharField(max_length=200, blank=True)
    last_message_direction = models.CharField(max_length=3, blank=True)
    # Customer messages since a member last opened it (the list's unread badge).
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "-last_message_at", "-id"], name="conv_recent"),  # every state
            models.Index(fields=["workspace", "state", "-last_message_at"], name="conv_state_recent"),
            models.Index(fields=["workspace", "assignee", "state", "-last_message_at"], name="conv_assignee_recent"),
            models.Index(fields=["workspace", "channel", "state", "-last_message_at"], name="conv_channel_recent"),
            models.Index(fields=["workspace", "contact"], name="conv_contact"),
        ]

    def __str__(self):
        return f"conversation {self.pk} ({self.channel}, {self.state})"


class ActivityKind(models.TextChoices):
    FOLLOWED = "followed", _("Followed")
    TAKEN_OVER = "taken_over", _("Taken over")
    UNFOLLOWED = "unfollowed", _("Unfollowed")
    AUTO_ASSIGNED = "auto_assigned", _("Assigned by a keyword rule")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    STARTED = "started", _("Started by a member")


class ConversationActivity(models.Model):
    """What happened to a conversation besides messages: shown in its timeline, audited for takeovers."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    actor = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The follower before (a takeover's previous follower) and after.
    previous_assignee = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+")
    assignee = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["conversation", "at"])]
        ordering = ["at", "id"]


class RuleKind(models.TextChoices):
    REPLY = "reply", _("Keyword auto-reply")
    ASSIGN = "assign", _("Keyword auto-assign")


class MatchType(models.TextChoices):
    CONTAINS_ANY = "any", _("Contains any")
    CONTAINS_ALL = "all", _("Contains all")
    EXACT = "exact", _("Exactly matches")
    ANYTHING = "anything", _("Any text")


class AssignOrder(models.TextChoices):
    RANDOM = "random", _("Random")
    IN_TURN = "in_turn", _("In turn")


class KeywordRule(models.Model):
    """A keyword auto-reply or auto-assign (2.0) rule (SPEC I4)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=RuleKind.choices)
    name = models.CharField(_("name"), max_length=100)
    match_type = models.CharField(max_length=10, choices=MatchType.choices, default=MatchType.CONTAINS_ANY)
    keywords = models.JSONField(default=list, blank=True)  # matched case-insensitively, full/half width distinct
    channels = models.JSONField(default=list, blank=True)  # channel values; empty means every channel
    # Auto-reply: the contents sent (channel-neutral, e.g. [{"type": "text", "text": ...}]); empty = tag only.
    reply_contents = models.JSONField(default=list, blank=True)
    # Auto-reply also fires on conversations already in progress (a person is on them) when set.
    include_in_progress = models.BooleanField(default=False)
    # Auto-assign: to one member, or in turn / at random among the active members of a team (a role).
    assign_member = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    assign_role = models.CharField(max_length=20, blank=True)
    assign_order = models.CharField(max_length=8, choices=AssignOrder.choices, default=AssignOrder.IN_TURN)
    # In-turn cursor: the membership id assigned last.
    last_assigned_member_id = models.BigIntegerField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)  # tag names added to the customer when the rule fires
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "kind", "is_active"])]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


class KeywordTrigger(models.Model):
    """One inbound message that fired one rule: at most once (the count the rule's page shows)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(KeywordRule, on_delete=models.CASCADE, related_name="triggers")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=20)
    account = models.ForeignKey("channels.ChannelAccount", null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "message"], name="keyword_trigger_once")]
        indexes = [models.Index(fields=["rule", "channel"])]


class SavedReply(models.Model):
    """A prepared answer (預存回覆, SPEC I5): personal (owner set) or team-wide (owner empty)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    category = models.CharField(_("category"), max_length=60, blank=True)
    # Text with variables such as {name}; filled for the conversation's customer when used.
    text = models.TextField(_("text"), max_length=5000)
    image_url = models.URLField(max_length=1000, blank=True)
    created_by = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "owner"])]
        ordering = ["category", "title", "id"]

    def __str__(self):
        return self.title


class ConversationExport(models.Model):
    """Conversations in a date range as CSV (SPEC I6): one row per message, and a summary per conversation."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey("core.Membership", null=True, on_delete=models.SET_NULL, related_name="+")
    date_from = models.DateField()
    date_to = models.DateField()
    language = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    messages_file = models.FileField(upload_to="exports/conversations/%Y/%m/", blank=True)
    summary_file = models.FileField(upload_to="exports/conversations/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the files were deleted for good (retention.py): the row and its counts stay.
    expired_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]


class RealtimeEvent(models.Model):
    """The embedded real-time bus (no Redis): a short-lived log every web process polls (realtime.py)."""

    id = models.BigAutoField(primary_key=True)
    workspace_id = models.BigIntegerField(db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
