"""The sandbox: fake providers that speak the real APIs, and simulated customers (personas) with phones."""

from django.db import models
from django.utils import timezone

from tidings.core.models import WorkspaceScopedQuerySet


class Persona(models.Model):
    """A simulated customer in a sandbox workspace: a phone number, maybe a LINE account, and what they did."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="personas")
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=20)  # E.164
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # LINE: the user id the fake provider gives this person for the workspace's sandbox LINE account;
    # blank = this person has no LINE account at all.
    line_user_id = models.CharField(max_length=64, blank=True)
    line_friend = models.BooleanField(default=False)
    line_blocked = models.BooleanField(default=False)
    pnp_consent = models.BooleanField(default=False)  # agreed to receive LINE notification messages
    # Meta's channels: the id each app gives this person for the workspace's sandbox account (blank = not on it),
    # and when they last wrote there, which opens the 24-hour customer-service window the fake enforces.
    whatsapp_id = models.CharField(max_length=20, blank=True)  # wa_id: the phone number's digits
    whatsapp_last_message_at = models.DateTimeField(null=True, blank=True)
    messenger_psid = models.CharField(max_length=32, blank=True)
    messenger_last_message_at = models.DateTimeField(null=True, blank=True)
    instagram_igsid = models.CharField(max_length=32, blank=True)
    instagram_last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "phone"], name="persona_phone_unique")]
        # The fakes find the addressee of every request by the provider's id for the person.
        indexes = [models.Index(fields=["workspace", "line_user_id"], name="persona_line_user"),
                   models.Index(fields=["workspace", "whatsapp_id"], name="persona_whatsapp"),
                   models.Index(fields=["workspace", "messenger_psid"], name="persona_messenger"),
                   models.Index(fields=["workspace", "instagram_igsid"], name="persona_instagram")]

    def __str__(self):
        return f"{self.name} ({self.phone})"


class SandboxRequest(models.Model):
    """Every request a fake provider received, as it arrived, and what it answered."""

    workspace = models.ForeignKey("core.Workspace", null=True, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("channels.ChannelAccount", null=True, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=20)  # line | twilio | …
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)  # the provider's path, e.g. /v2/bot/message/push
    query = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.JSONField(null=True, blank=True)  # JSON body, or the form fields for form-encoded APIs
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "provider", "path", "-created_at"])]


class SandboxDelivery(models.Model):
    """One provider message as it reached (or, if blocked, failed to reach) one persona's phone."""

    # A multicast writes 500 of these per request, and each index costs about as much as the row itself: every read
    # leads with the persona (the index below covers it) or the request, so the workspace and account keep no index
    # of their own (deleting one of those, which is rare, scans the table).
    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    request = models.ForeignKey(SandboxRequest, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    provider = models.CharField(max_length=20)
    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=12)  # push | multicast | reply | pnp | sms
    payload = models.JSONField()  # the provider's message object (LINE message JSON; {"body": …} for SMS)
    provider_message_id = models.CharField(max_length=64)
    delivered = models.BooleanField(default=True)  # False when the persona had blocked the account
    created_at = models.DateTimeField(default=timezone.now)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["persona", "created_at"])]


class SandboxStatusOutbox(models.Model):
    """A WhatsApp status the fake Graph API reports later. Due statuses go out batched, one webhook per account
    and second with up to 1,000 of them, as Meta batches updates (fake_graph/status_batches.py)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()  # on the workspace clock
    status = models.JSONField()  # one `statuses[]` item
    # Taken by one flush while it posts, so two flushes running at once do not post the same status twice.
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["account", "due_at"])]


class SandboxRetryKey(models.Model):
    """LINE remembers an accepted X-Line-Retry-Key for 24 h and answers repeats with 409."""

    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64)
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="sandbox_retry_key_unique")]


class SandboxFault(models.Model):
    """Fault injection for tests: the next `remaining` calls to `method path` of one account answer `status`.

    `after_processing` makes the fake do the work first (deliver, remember the retry key) and then answer the error,
    like a provider that accepted a request but whose answer was lost: the case retry keys exist for.
    """

    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=8, default="POST")
    path = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField()
    remaining = models.PositiveIntegerField(default=1)
    after_processing = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "path"])]


class SandboxToken(models.Model):
    """Short-lived single-use tokens a fake issued: LINE reply tokens (1 minute) and link tokens (10 minutes).

    Times are on the workspace clock, so a test clock moving forward expires them.
    """

    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12)  # reply | link
    token = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "kind", "token"], name="sandbox_token_unique")]


class SandboxInteraction(models.Model):
    """A persona seeing (impression) or opening a link in (click) a delivered message; feeds unit statistics."""

    delivery = models.ForeignKey(SandboxDelivery, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=12)  # impression | click
    url = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["delivery", "kind"])]


class SandboxTemplate(models.Model):
    """A WhatsApp message template as the fake Graph API holds it for one WABA (sandbox WhatsApp account).

    Created PENDING by POST /<waba-id>/message_templates; the fake's review approves (or rejects) it after a delay,
    and only APPROVED templates can be sent.
    """

    account = models.ForeignKey("channels.ChannelAccount", on_delete=models.CASCADE, related_name="+")
    template_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=15)
    category = models.CharField(max_length=20)
    components = models.JSONField(default=list)
    status = models.CharField(max_length=12, default="PENDING")  # PENDING | APPROVED | REJECTED | PAUSED | DISABLED
    rejected_reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name", "language"], name="sandbox_template_unique"),
        ]
