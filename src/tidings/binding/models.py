"""Social identity binding (SPEC D2): which website visitor / shop member is which chat identity.

A `BindingToken` is the short-lived, single-use proof a browser hands to a chat app (a code in a pre-filled
message, a `ref` on an m.me / ig.me link, the nonce of a LINE account link, a tracked link's `_tid`). Only hashes
are stored. When a signature-checked webhook carries a valid token from a chat identity, a `Binding` records that
the token's visitor / member is that identity's contact, and which `ContactMerge`s it caused (so unbinding can undo
them).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tidings.core.models import WorkspaceScopedQuerySet


class BindingMethod(models.TextChoices):
    LINE_CODE = "line_code", _("LINE code message")
    LINE_LINK = "line_link", _("LINE account link")
    MESSENGER_REF = "messenger_ref", _("Messenger link")
    INSTAGRAM_REF = "instagram_ref", _("Instagram link")
    WHATSAPP_CODE = "whatsapp_code", _("WhatsApp code message")
    TRACKED_LINK = "tracked_link", _("Link in a message")
    PHONE = "phone", _("Phone number (SMS code)")


# The channel each chat method binds on (a tracked link binds on whichever channel carried the message).
METHOD_CHANNEL = {
    BindingMethod.LINE_CODE: "line",
    BindingMethod.LINE_LINK: "line",
    BindingMethod.MESSENGER_REF: "messenger",
    BindingMethod.INSTAGRAM_REF: "instagram",
    BindingMethod.WHATSAPP_CODE: "whatsapp",
    BindingMethod.PHONE: "sms",
}
CODE_METHODS = frozenset({BindingMethod.LINE_CODE, BindingMethod.WHATSAPP_CODE})
REF_METHODS = frozenset({BindingMethod.MESSENGER_REF, BindingMethod.INSTAGRAM_REF})


class BindingToken(models.Model):
    """One binding attempt's secret, stored hashed (sha256 of the random token; HMAC-SHA256 of a 6-digit code).

    Lifecycle: active (not consumed, not voided, not expired) → consumed (bound once) or voided (superseded by a
    newer token for the same visitor and method, a failed account link, too many refused uses). A code's hash is
    released (`code_hash` = NULL) when the token stops being active, so the unique constraint makes codes unique
    among the workspace's live tokens while letting expired codes be drawn again.
    """

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=20, choices=BindingMethod.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    code_hash = models.CharField(max_length=64, null=True, blank=True)
    # Subject: who the browser is (first-party visitor id cookie) and, when logged in, the shop's member id.
    visitor = models.ForeignKey("contacts.Visitor", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    member_id = models.CharField(max_length=100, blank=True)
    # The account the customer is sent to; a token used on any other account is refused.
    account = models.ForeignKey("channels.ChannelAccount", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    # LINE account link: the LINE user the link token was issued to (the accountLink webhook must name them).
    # Tracked link: the recipient of the message.
    identity = models.ForeignKey("contacts.ChannelIdentity", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # refused uses (wrong channel, account, expired…)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "code_hash"], condition=models.Q(code_hash__isnull=False),
                                    name="binding_code_unique_live"),
        ]
        indexes = [models.Index(fields=["workspace", "visitor", "method"])]

    def __str__(self):
        return f"{self.method} token #{self.pk}"


class Binding(models.Model):
    """A visitor and/or member bound to a chat identity's contact; ended by unbinding (`unbound_at`)."""

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="bindings")
    identity = models.ForeignKey("contacts.ChannelIdentity", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="bindings")
    channel = models.CharField(max_length=20)
    visitor = models.ForeignKey("contacts.Visitor", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="bindings")
    member_id = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=20, choices=BindingMethod.choices)
    token = models.ForeignKey(BindingToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What binding changed, so unbinding restores it: the merges it caused (visitor's contact, member's contact),
    # whether it wrote the member id onto the contact, whether it gave an anonymous visitor its contact.
    merges = models.ManyToManyField("contacts.ContactMerge", blank=True, related_name="+")
    member_id_set = models.BooleanField(default=False)
    visitor_attached = models.BooleanField(default=False)
    bound_at = models.DateTimeField(default=timezone.now)
    unbound_at = models.DateTimeField(null=True, blank=True)
    unbound_by = models.ForeignKey("core.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-bound_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "contact"]), models.Index(fields=["workspace", "-bound_at"])]

    def __str__(self):
        return f"{self.method} → {self.contact_id}"


class BindingSettings(models.Model):
    """Per workspace: whether binding is on, what the customer is told, and where LINE members log in."""

    workspace = models.OneToOneField("core.Workspace", on_delete=models.CASCADE, related_name="binding_settings")
    enabled = models.BooleanField(_("binding enabled"), default=True)
    # Sent on the bound channel after a binding; {name} is the customer's name. Blank: the built-in text.
    success_message = models.TextField(_("binding success message"), max_length=1000, blank=True)
    # The pre-filled chat text of the code methods; must contain {code}. Blank: the built-in text (in the
    # browser's language).
    code_text = models.CharField(_("code message text"), max_length=200, blank=True)
    # LINE account link: the shop's member login page; Tidings adds ?linkToken=… to it.
    member_login_url = models.URLField(_("member login page"), max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    def __str__(self):
        return f"binding settings of {self.workspace_id}"


class PhoneCode(models.Model):
    """A 6-digit code texted to a phone so a browser can prove it holds that phone (SPEC D3, `phone_otp.py`).

    Only an HMAC of the code is stored (keyed by a server secret, the workspace and the phone), and of the
    sender's address a keyed hash (for the per-address send limit). One live code per (workspace, phone, browser):
    asking again voids the previous one. Dead when consumed, voided (resent, 5 wrong tries, a member id conflict)
    or expired; rows stay as the record the send limits count.
    """

    workspace = models.ForeignKey("core.Workspace", on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=20)  # E.164
    visitor = models.ForeignKey("contacts.Visitor", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    address_hash = models.CharField(max_length=64, blank=True)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    binding = models.ForeignKey(Binding, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)  # wrong codes tried
    consumed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "phone", "visitor"],
                                    condition=models.Q(consumed_at__isnull=True, voided_at__isnull=True),
                                    name="binding_phone_code_one_live"),
        ]
        indexes = [models.Index(fields=["workspace", "phone", "created_at"]),
                   models.Index(fields=["workspace", "address_hash", "created_at"])]

    def __str__(self):
        return f"phone code #{self.pk}"
