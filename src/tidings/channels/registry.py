"""Channel adapters: one folder per provider under adapters/, registered by channel name.

Adding a channel = adding a folder whose `__init__` calls `adapter_register(TheAdapter())`.
"""

import importlib
import pkgutil
from typing import Protocol

from django.http import HttpRequest

from .events import InboundEvent, SendResult, WebhookItem


class ChannelAdapter(Protocol):
    channel: str
    # Which content kinds (channels.content.KINDS) this channel can carry.
    supported_kinds: frozenset[str]
    # Most messages one provider request may carry, and most recipients of one bulk (multicast) request.
    max_messages_per_request: int
    max_recipients_per_request: int

    def default_base_url(self) -> str:
        """The provider's real API base URL (live accounts)."""

    def validate(self, contents: list) -> None:
        """Raise core.errors.ServiceError (field like `messages[0].text`) for what this channel cannot carry."""

    def verify_signature(self, account, request: HttpRequest, body: bytes) -> bool:
        ...

    def split_webhook(self, account, request: HttpRequest, body: bytes) -> list[WebhookItem]:
        """Raise ValueError for a malformed body."""

    def parse_event(self, account, item_payload: dict) -> InboundEvent:
        ...

    def send(self, account, dispatch, messages: list) -> SendResult:
        """Make the provider request for one Dispatch (its messages in order, already validated)."""

    # Optional, looked up with getattr:
    #
    # def handshake(self, account, request: HttpRequest) -> HttpResponse:
    #     """Answer the provider's GET verification (Meta's hub.challenge); without it GET is 405."""
    #
    # def check_recipient(self, *, contents: list[dict], options: dict, last_inbound_at, now) -> None:
    #     """Raise ServiceError when these contents may not go to this person now (24-hour windows); `options`
    #     are the dispatch options (e.g. a Messenger message tag)."""
    #
    # def fetch_profile(self, account, user_id: str) -> dict:
    #     """{"display_name", "picture_url"} from the provider's profile API."""


_ADAPTERS: dict[str, ChannelAdapter] = {}


def adapter_register(adapter: ChannelAdapter) -> None:
    _ADAPTERS[adapter.channel] = adapter


def adapter_for(channel: str) -> ChannelAdapter:
    try:
        return _ADAPTERS[channel]
    except KeyError:
        raise LookupError(f"No adapter for channel {channel!r}") from None


def registered_channels() -> list[str]:
    return sorted(_ADAPTERS)


def load_adapters() -> None:
    from . import adapters

    for module in pkgutil.iter_modules(adapters.__path__):
        importlib.import_module(f"{adapters.__name__}.{module.name}")
