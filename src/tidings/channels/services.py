"""Writes to channel accounts. Sandbox accounts point at Tidings' own fake provider; live ones at the provider."""

import secrets

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError
from tidings.core.models import User, Workspace
from tidings.core.services import audit_record

from .models import AccountMode, ChannelAccount
from .registry import adapter_for

# What each provider needs to connect a live account; sandbox accounts get generated values.
REQUIRED_CREDENTIALS = {
    "line": ("channel_secret", "access_token"),
    "sms": ("auth_token",),
    "whatsapp": ("access_token", "app_secret", "verify_token"),
    "messenger": ("access_token", "app_secret"),
    "instagram": ("access_token", "app_secret"),
}
# Non-secret settings a live account cannot work without: the WhatsApp Business Account id owns the templates.
REQUIRED_SETTINGS = {"whatsapp": ("waba_id",)}
# The fake provider a sandbox account talks to: /sandbox/<path>/<public id>. Meta's three share one Graph API.
SANDBOX_PATH = {"line": "line", "sms": "twilio", "whatsapp": "graph", "messenger": "graph", "instagram": "graph"}
# The provider name in webhook URLs where it differs from the channel's.
WEBHOOK_PATH = {"sms": "twilio"}
# WhatsApp per-number throughput tiers (messages per second).
WHATSAPP_TIERS = (80, 1000)


def account_webhook_url(account: ChannelAccount) -> str:
    provider = WEBHOOK_PATH.get(account.channel, account.channel)
    return f"{settings.BASE_URL}/webhooks/{provider}/{account.public_id}"


def _digits(count: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (count - 1)) + 10 ** (count - 1))


def _meta_credentials() -> dict:
    return {"access_token": "EAA" + secrets.token_urlsafe(48), "app_secret": secrets.token_hex(16),
            "verify_token": secrets.token_urlsafe(16)}


def _sandbox_credentials(channel: str) -> tuple[str, dict, dict]:
    """Generated ids and secrets for a sandbox account; the fake provider accepts exactly these."""
    if channel == "line":
        return _digits(10), {
            "channel_secret": secrets.token_hex(16), "access_token": secrets.token_urlsafe(48),
        }, {}
    if channel == "sms":
        return "AC" + secrets.token_hex(16), {"auth_token": secrets.token_hex(16)}, {"from": "+85230001234"}
    if channel == "whatsapp":
        return _digits(15), _meta_credentials(), {
            "waba_id": _digits(15), "display_phone_number": "+852 3000 5678", "rate_limit": WHATSAPP_TIERS[-1],
        }
    if channel == "messenger":
        return _digits(15), _meta_credentials(), {"page_name": "Tidings Demo"}
    if channel == "instagram":
        return _digits(17), _meta_credentials(), {"username": "tidings.demo"}
    raise ServiceError(_("This channel has no sandbox yet."), field="channel")


def _check_settings(channel: str, account_settings: dict) -> None:
    for key in REQUIRED_SETTINGS.get(channel, ()):
        if not str(account_settings.get(key, "")).strip():
            raise ServiceError(_("This field is required."), field=key)
    if "rate_limit" in account_settings:
        try:
            rate = int(account_settings["rate_limit"])
        except (TypeError, ValueError):
            rate = 0
        if not WHATSAPP_TIERS[0] <= rate <= WHATSAPP_TIERS[1]:
            raise ServiceError(
                _("The messaging tier must be between %(low)s and %(high)s messages per second.")
                % {"low": WHATSAPP_TIERS[0], "high": WHATSAPP_TIERS[1]},
                field="rate_limit",
            )
        account_settings["rate_limit"] = rate


@transaction.atomic
def account_create(
    *,
    workspace: Workspace,
    actor: User | None,
    channel: str,
    name: str,
    mode: str = AccountMode.SANDBOX,
    external_id: str = "",
    credentials: dict | None = None,
    account_settings: dict | None = None,
) -> ChannelAccount:
    """Connect a channel account. A sandbox account needs no credentials: the fake provider's are generated."""
    try:
        adapter = adapter_for(channel)
    except LookupError:
        raise ServiceError(_("Unknown channel."), field="channel") from None
    if not (name or "").strip():
        raise ServiceError(_("Give the account a name."), field="name")
    if mode not in AccountMode.values:
        raise ServiceError(_("Choose live or sandbox."), field="mode")
    if mode == AccountMode.SANDBOX:
        if not workspace.is_sandbox:
            raise ServiceError(_("Sandbox accounts belong to sandbox workspaces."), field="mode")
        external_id, credentials, generated_settings = _sandbox_credentials(channel)
        account_settings = {**generated_settings, **(account_settings or {})}
    else:
        credentials = credentials or {}
        for key in REQUIRED_CREDENTIALS.get(channel, ()):
            if not str(credentials.get(key, "")).strip():
                raise ServiceError(_("This field is required."), field=key)
        if not external_id.strip():
            raise ServiceError(_("This field is required."), field="external_id")
        account_settings = dict(account_settings or {})
        _check_settings(channel, account_settings)
    account = ChannelAccount(
        workspace=workspace, channel=channel, name=name.strip(), mode=mode, external_id=external_id.strip(),
        settings=account_settings or {},
    )
    account.base_url = (
        f"{settings.BASE_URL}/sandbox/{SANDBOX_PATH[channel]}/{account.public_id}"
        if mode == AccountMode.SANDBOX
        else adapter.default_base_url()
    )
    account.set_credentials(credentials)
    account.save()
    audit_record(workspace=workspace, actor=actor, action="channel.connect", target=account,
                 changes={"channel": [None, channel], "mode": [None, mode]})
    return account


@transaction.atomic
def account_set_active(*, workspace: Workspace, actor: User | None, account: ChannelAccount, active: bool):
    account = ChannelAccount.objects.select_for_update().get(pk=account.pk, workspace=workspace)
    if account.is_active != active:
        account.is_active = active
        account.save(update_fields=["is_active"])
        audit_record(workspace=workspace, actor=actor, action="channel.active" if active else "channel.disconnect",
                     target=account, changes={"is_active": [not active, active]})
    return account
