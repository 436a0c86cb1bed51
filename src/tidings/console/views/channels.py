"""Channel accounts: list with webhook URLs, connect (live or sandbox), disconnect, and "send test message"."""

import secrets

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.channels.models import AccountMode, ChannelAccount
from tidings.channels.services import WHATSAPP_TIERS, account_create, account_set_active, account_webhook_url
from tidings.contacts.models import ChannelIdentity
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.messaging.models import Message, Purpose
from tidings.messaging.services import message_send

from ..access import form_error, require

CHANNEL_CHOICES = [("line", "LINE"), ("sms", gettext_lazy("SMS (Twilio)")), ("whatsapp", "WhatsApp"),
                   ("messenger", "Messenger"), ("instagram", "Instagram")]
META_CHANNELS = ("whatsapp", "messenger", "instagram")


def _secret(label, max_length=1000, required=False, help_text=""):
    return forms.CharField(label=label, max_length=max_length, required=required, help_text=help_text,
                           widget=forms.PasswordInput(render_value=True))


VERIFY_HELP = gettext_lazy("Any phrase you choose, pasted into Meta's webhook settings with the webhook URL. "
                           "Leave it empty and Tidings makes one (shown on the Channels page).")


class ChannelConnectForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=CHANNEL_CHOICES)
    mode = forms.ChoiceField(label=gettext_lazy("Mode"), choices=AccountMode.choices, initial=AccountMode.SANDBOX,
                             help_text=gettext_lazy("A sandbox account talks to Tidings' own fake provider and "
                                                    "needs no credentials."))
    name = forms.CharField(label=gettext_lazy("Account name"), max_length=120)
    # LINE
    channel_id = forms.CharField(label=gettext_lazy("LINE channel ID"), max_length=120, required=False)
    channel_secret = forms.CharField(label=gettext_lazy("LINE channel secret"), max_length=200, required=False,
                                     widget=forms.PasswordInput(render_value=True))
    access_token = forms.CharField(label=gettext_lazy("LINE channel access token"), max_length=1000,
                                   required=False, widget=forms.PasswordInput(render_value=True))
    # Twilio
    account_sid = forms.CharField(label=gettext_lazy("Twilio account SID"), max_length=120, required=False)
    auth_token = forms.CharField(label=gettext_lazy("Twilio auth token"), max_length=200, required=False,
                                 widget=forms.PasswordInput(render_value=True))
    sender = forms.CharField(label=gettext_lazy("Sender number"), max_length=32, required=False,
                             help_text=gettext_lazy("The Twilio number messages come from, e.g. +85230001234."))

    basic_id = forms.CharField(label=gettext_lazy("LINE basic ID"), max_length=40, required=False,
                               help_text=gettext_lazy("The Official Account's ID starting with @, e.g. @123abcde: "
                                                      "binding by code opens a chat with it."))

    LINE_FIELDS = ("channel_id", "channel_secret", "access_token", "basic_id")
    # WhatsApp Cloud API
    wa_phone_number_id = forms.CharField(label=gettext_lazy("Phone number ID"), max_length=40, required=False,
                                         help_text=gettext_lazy("WhatsApp Manager → API setup: the number's ID, "
                                                                "not the phone number itself."))
    wa_waba_id = forms.CharField(label=gettext_lazy("WhatsApp Business Account ID"), max_length=40, required=False)
    wa_access_token = _secret(gettext_lazy("Access token"),
                              help_text=gettext_lazy("A system user's permanent token with whatsapp_business_"
                                                     "messaging and whatsapp_business_management."))
    wa_app_secret = _secret(gettext_lazy("App secret"), max_length=200)
    wa_verify_token = forms.CharField(label=gettext_lazy("Webhook verify token"), max_length=200, required=False,
                                      help_text=VERIFY_HELP)
    wa_rate_limit = forms.IntegerField(label=gettext_lazy("Messaging tier (messages per second)"), required=False,
                                       initial=WHATSAPP_TIERS[0], min_value=WHATSAPP_TIERS[0],
                                       max_value=WHATSAPP_TIERS[1],
                                       help_text=gettext_lazy("80 by default; up to 1,000 once Meta raises it."))
    # Messenger (a Facebook Page)
    mg_page_id = forms.CharField(label=gettext_lazy("Page ID"), max_length=40, required=False)
    mg_access_token = _secret(gettext_lazy("Page access token"))
    mg_app_secret = _secret(gettext_lazy("App secret"), max_length=200)
    mg_verify_token = forms.CharField(label=gettext_lazy("Webhook verify token"), max_length=200, required=False,
                                      help_text=VERIFY_HELP)
    # Instagram (a professional account)
    ig_account_id = forms.CharField(label=gettext_lazy("Instagram account ID"), max_length=40, required=False)
    ig_username = forms.CharField(label=gettext_lazy("Instagram username"), max_length=60, required=False,
                                  help_text=gettext_lazy("Binding links open ig.me/m/<username>."))
    ig_access_token = _secret(gettext_lazy("Access token"))
    ig_app_secret = _secret(gettext_lazy("App secret"), max_length=200)
    ig_verify_token = forms.CharField(label=gettext_lazy("Webhook verify token"), max_length=200, required=False,
                                      help_text=VERIFY_HELP)

    SMS_FIELDS = ("account_sid", "auth_token", "sender")
    # channel → (form field prefix, the field holding the account's id)
    META_PREFIX = {"whatsapp": ("wa_", "wa_phone_number_id"), "messenger": ("mg_", "mg_page_id"),
                   "instagram": ("ig_", "ig_account_id")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.LINE_FIELDS:
            self.fields[name].live_for = "line"
        for name in self.SMS_FIELDS:
            self.fields[name].live_for = "sms"
        for channel, (prefix, _id_field) in self.META_PREFIX.items():
            for name in self.fields:
                if name.startswith(prefix):
                    self.fields[name].live_for = channel

    def _meta_kwargs(self, channel: str) -> dict:
        """A live Meta account: its id, token, app secret and a verify token (the Admin's, or a generated one)."""
        data = self.cleaned_data
        prefix, id_field = self.META_PREFIX[channel]
        for name in (id_field, f"{prefix}access_token", f"{prefix}app_secret"):
            if not str(data.get(name) or "").strip():
                raise ServiceError(_("This field is required."), field=name)
        credentials = {
            "access_token": data[f"{prefix}access_token"].strip(), "app_secret": data[f"{prefix}app_secret"].strip(),
            "verify_token": (data[f"{prefix}verify_token"] or "").strip() or secrets.token_urlsafe(16),
        }
        account_settings = {}
        if channel == "whatsapp":
            account_settings = {"waba_id": (data["wa_waba_id"] or "").strip(),
                                "rate_limit": data["wa_rate_limit"] or WHATSAPP_TIERS[0]}
        elif channel == "instagram" and (data["ig_username"] or "").strip():
            account_settings = {"username": data["ig_username"].strip().lstrip("@")}
        return {"external_id": data[id_field].strip(), "credentials": credentials,
                "account_settings": account_settings}

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {"channel": data["channel"], "name": data["name"], "mode": data["mode"]}
        if data["mode"] == AccountMode.LIVE:
            if data["channel"] in META_CHANNELS:
                kwargs.update(self._meta_kwargs(data["channel"]))
            elif data["channel"] == "line":
                kwargs.update(external_id=data["channel_id"], credentials={
                    "channel_secret": data["channel_secret"], "access_token": data["access_token"]})
                if (data["basic_id"] or "").strip():
                    basic_id = data["basic_id"].strip()
                    kwargs["account_settings"] = {"basic_id": basic_id if basic_id.startswith("@") else f"@{basic_id}"}
            else:
                if not data["sender"].strip():
                    raise ServiceError(_("This field is required."), field="sender")
                kwargs.update(external_id=data["account_sid"], credentials={"auth_token": data["auth_token"]},
                              account_settings={"from": data["sender"].strip()})
        return kwargs


# The service names fields by what they are; the form by what the provider calls them.
SERVICE_FIELDS = {
    "external_id": {"line": "channel_id", "sms": "account_sid", "whatsapp": "wa_phone_number_id",
                    "messenger": "mg_page_id", "instagram": "ig_account_id"},
    "access_token": {"whatsapp": "wa_access_token", "messenger": "mg_access_token", "instagram": "ig_access_token"},
    "app_secret": {"whatsapp": "wa_app_secret", "messenger": "mg_app_secret", "instagram": "ig_app_secret"},
    "verify_token": {"whatsapp": "wa_verify_token", "messenger": "mg_verify_token", "instagram": "ig_verify_token"},
    "waba_id": {"whatsapp": "wa_waba_id"},
    "rate_limit": {"whatsapp": "wa_rate_limit"},
    "basic_id": {"line": "basic_id"},
    "username": {"instagram": "ig_username"},
}


class TestMessageForm(forms.Form):
    identity = forms.ChoiceField(label=gettext_lazy("Send to"))
    text = forms.CharField(label=gettext_lazy("Text"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                           initial=gettext_lazy("This is a test message from Tidings."))

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.identities = {
            str(i.pk): i for i in ChannelIdentity.objects.filter(account=account)
            .select_related("contact").order_by("-subscribed", "contact__name")[:500]
        }
        self.fields["identity"].choices = [
            (key, f"{i.contact.name or i.display_name or i.external_id} · {i.external_id}"
                  + ("" if i.subscribed else f" ({_('not subscribed')})"))
            for key, i in self.identities.items()
        ]

    def clean_identity(self):
        identity = self.identities.get(self.cleaned_data["identity"])
        if identity is None:
            raise ValidationError(_("Choose a contact."))
        return identity


def _account(request, account_id) -> ChannelAccount:
    return get_object_or_404(ChannelAccount.objects.for_workspace(request.workspace), pk=account_id)


@require(Permission.CHANNELS_MANAGE)
def channel_list(request):
    accounts = ChannelAccount.objects.for_workspace(request.workspace).order_by("-is_active", "channel", "name")
    return render(request, "console/channels.html", {
        "accounts": [{"account": a, "webhook_url": account_webhook_url(a),
                      # Meta checks the webhook URL with this token once (GET hub.verify_token=…).
                      "verify_token": a.credentials.get("verify_token", "") if a.channel in META_CHANNELS else ""}
                     for a in accounts],
    })


@require(Permission.CHANNELS_MANAGE)
def channel_add(request):
    initial = {"mode": AccountMode.SANDBOX if request.workspace.is_sandbox else AccountMode.LIVE}
    form = ChannelConnectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(workspace=request.workspace, actor=request.user, **form.service_kwargs())
        except ServiceError as exc:
            exc.field = SERVICE_FIELDS.get(exc.field, {}).get(form.cleaned_data["channel"], exc.field)
            form_error(form, exc)
        else:
            messages.success(request, _("%(name)s is connected. Give the provider its webhook URL.")
                             % {"name": account.name})
            return redirect("console:channels")
    return render(request, "console/channels_form.html", {"form": form})


@require_POST
@require(Permission.CHANNELS_MANAGE)
def channel_set_active(request, account_id):
    account = _account(request, account_id)
    active = request.POST.get("active") == "1"
    account_set_active(workspace=request.workspace, actor=request.user, account=account, active=active)
    messages.success(request, (_("%(name)s is connected again.") if active else _("%(name)s is disconnected."))
                     % {"name": account.name})
    return redirect("console:channels")


@require(Permission.CHANNELS_MANAGE)
def channel_test(request, account_id):
    """Send a text through the real pipeline (purpose "test") and watch its status move."""
    account = _account(request, account_id)
    sent = None
    if request.GET.get("message"):
        sent = Message.objects.for_workspace(request.workspace).filter(
            account=account, pk=request.GET["message"], purpose=Purpose.TEST).first()
        if sent is None:
            raise Http404
        if request.htmx:
            return render(request, "console/channels_test_status.html", {"account": account, "sent": sent})
    form = TestMessageForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        identity = form.cleaned_data["identity"]
        try:
            [message] = message_send(
                workspace=request.workspace, contact=identity.contact, channel=account.channel,
                contents=[{"type": "text", "text": form.cleaned_data["text"]}], purpose=Purpose.TEST,
                source=f"member:{request.user.pk}", account=account,
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            return redirect(f"{reverse('console:channel_test', kwargs={'account_id': account.pk})}"
                            f"?message={message.pk}")
    return render(request, "console/channels_test.html", {"account": account, "form": form, "sent": sent})
