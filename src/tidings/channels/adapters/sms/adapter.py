"""The SMS channel: plain text only, whatever the provider. The provider (Twilio today) speaks the wire protocol."""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from tidings.channels.events import InboundEvent, SendResult, WebhookItem
from tidings.core.errors import ServiceError

from .providers import DEFAULT_PROVIDER, provider_for, provider_named

# Twilio refuses longer bodies (error 21617); other providers' limits are no looser in practice.
MAX_BODY_CHARS = 1600

# How a refused kind is named in the error ("this message is a carousel").
_KIND_NAMES = {
    "image": "an image", "video": "a video", "buttons": "a buttons message", "carousel": "a carousel",
    "image_carousel": "an image carousel", "imagemap": "an imagemap", "coupon": "a coupon card",
}


def _get(content, name):
    return content.get(name) if isinstance(content, dict) else getattr(content, name, None)


class SmsAdapter:
    channel = "sms"
    supported_kinds = frozenset({"text"})
    # An SMS is one body to one number per provider request.
    max_messages_per_request = 1
    max_recipients_per_request = 1

    def default_base_url(self) -> str:
        return provider_named(DEFAULT_PROVIDER).default_base_url()

    def validate(self, contents: list) -> None:
        for i, content in enumerate(contents):
            kind = _get(content, "type")
            if kind not in self.supported_kinds:
                raise ServiceError(
                    _("SMS can only carry text; this message is %(kind)s.")
                    % {"kind": _KIND_NAMES.get(kind, kind)},
                    field=f"messages[{i}].type",
                )
            if _get(content, "quick_replies"):
                raise ServiceError(_("SMS has no quick replies; remove them or send on another channel."),
                                   field=f"messages[{i}].quick_replies")
            text = _get(content, "text") or ""
            if len(text) > MAX_BODY_CHARS:
                raise ServiceError(
                    _("An SMS can be at most %(max)s characters; this one has %(count)s.")
                    % {"max": MAX_BODY_CHARS, "count": len(text)},
                    field=f"messages[{i}].text",
                )

    def send(self, account, dispatch, messages: list) -> SendResult:
        if len(messages) != 1:  # max_messages_per_request: the pipeline gives an SMS dispatch one message
            raise ValueError(f"An SMS dispatch carries exactly one message, got {len(messages)}")
        try:
            provider = provider_for(account)
        except LookupError as exc:
            return SendResult(outcome="failed", error={"status": None, "message": str(exc)})
        return provider.send(account, dispatch, messages[0])

    def verify_signature(self, account, request: HttpRequest, body: bytes) -> bool:
        return provider_for(account).verify_signature(account, request, body)

    def split_webhook(self, account, request: HttpRequest, body: bytes) -> list[WebhookItem]:
        return provider_for(account).split_webhook(account, request, body)

    def parse_event(self, account, item_payload: dict) -> InboundEvent:
        return provider_for(account).parse_event(account, item_payload)
