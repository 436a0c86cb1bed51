"""Channel accounts: list with webhook URLs, connect (live or sandbox), disconnect, and "send test message"."""

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
from tidings.channels.services import account_create, account_set_active, account_webhook_url
from tidings.contacts.models import ChannelIdentity
from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.messaging.models import Message, Purpose
from tidings.messaging.services import message_send

from ..access import form_error, require

CHANNEL_CHOICES = [("line", "LINE"), ("sms", gettext_lazy("SMS (Twilio)"))]


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

    LINE_FIELDS = ("channel_id", "channel_secret", "access_token")
    SMS_FIELDS = ("account_sid", "auth_token", "sender")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.LINE_FIELDS:
            self.fields[name].live_for = "line"
        for name in self.SMS_FIELDS:
            self.fields[name].live_for = "sms"

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {"channel": data["channel"], "name": data["name"], "mode": data["mode"]}
        if data["mode"] == AccountMode.LIVE:
            if data["channel"] == "line":
                kwargs.update(external_id=data["channel_id"], credentials={
                    "channel_secret": data["channel_secret"], "access_token": data["access_token"]})
            else:
                if not data["sender"].strip():
                    raise ServiceError(_("This field is required."), field="sender")
                kwargs.update(external_id=data["account_sid"], credentials={"auth_token": data["auth_token"]},
                              account_settings={"from": data["sender"].strip()})
        return kwargs


# The service names fields by what they are; the form by what the provider calls them.
SERVICE_FIELDS = {"external_id": {"line": "channel_id", "sms": "account_sid"}}


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
        "accounts": [{"account": a, "webhook_url": account_webhook_url(a)} for a in accounts],
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
