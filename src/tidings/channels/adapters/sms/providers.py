"""SMS providers behind one interface. The SMS channel adapter handles what every SMS provider shares (text only,
length, segments) and hands the wire protocol to the account's provider: `account.settings["provider"]`, default
"twilio". Another provider (e.g. Vonage) is another module here that calls `provider_register`.
"""

from typing import Protocol

from django.http import HttpRequest

from tidings.channels.events import InboundEvent, SendResult, WebhookItem

DEFAULT_PROVIDER = "twilio"


class SmsProvider(Protocol):
    name: str

    def default_base_url(self) -> str: ...

    def send(self, account, dispatch, message) -> SendResult:
        """Send one text Message (already validated) to its identity's phone number."""

    def verify_signature(self, account, request: HttpRequest, body: bytes) -> bool: ...

    def split_webhook(self, account, request: HttpRequest, body: bytes) -> list[WebhookItem]: ...

    def parse_event(self, account, item_payload: dict) -> InboundEvent: ...


_PROVIDERS: dict[str, SmsProvider] = {}


def provider_register(provider: SmsProvider) -> None:
    _PROVIDERS[provider.name] = provider


def provider_named(name: str) -> SmsProvider:
    try:
        return _PROVIDERS[name]
    except KeyError:
        raise LookupError(f"No SMS provider {name!r}") from None


def provider_for(account) -> SmsProvider:
    return provider_named((account.settings or {}).get("provider", DEFAULT_PROVIDER))
