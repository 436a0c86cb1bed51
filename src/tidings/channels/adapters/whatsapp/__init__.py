"""WhatsApp Cloud API adapter: renderer (content → Graph message objects), webhook parser, 24-hour window check.

One message per request to one person (`POST /{version}/{phone-number-id}/messages`); Graph sends carry no
idempotency key, so a dispatch found mid-call after a crash is failed as "outcome unknown", never resent.
"""

import datetime

from django.utils.translation import gettext as _

from tidings.channels import meta
from tidings.channels.content import contents_check_kinds, contents_parse
from tidings.channels.events import InboundEvent, SendResult, WebhookItem
from tidings.channels.registry import adapter_register
from tidings.core.errors import ServiceError

from . import parser, renderer

# The customer-service window: free-form messages only within 24 h of the person's last message to us.
WINDOW = datetime.timedelta(hours=24)


def _message_ids(body: dict) -> list[str]:
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    return [str(m.get("id")) for m in messages[:1] if isinstance(m, dict) and m.get("id")]


class WhatsAppAdapter:
    channel = "whatsapp"
    supported_kinds = frozenset({"text", "image", "video", "buttons", "list", "template"})
    max_messages_per_request = 1
    max_recipients_per_request = 1

    def default_base_url(self) -> str:
        return meta.GRAPH_BASE_URL

    def validate(self, contents: list) -> None:
        if any(isinstance(c, dict) for c in contents):
            contents = contents_parse(contents)
        contents_check_kinds(contents, supported=self.supported_kinds, channel_name="WhatsApp")
        renderer.validate(contents)

    def render(self, content, account=None) -> dict:
        return renderer.render(content, account)

    def check_recipient(self, *, contents: list, options: dict, last_inbound_at, now) -> None:
        """Outside the 24-hour window (or before the person ever wrote) only an approved template may be sent."""
        if last_inbound_at is not None and now - last_inbound_at < WINDOW:
            return
        for i, content in enumerate(contents):
            kind = content.get("type") if isinstance(content, dict) else getattr(content, "type", None)
            if kind != "template":
                raise ServiceError(
                    _("Outside WhatsApp's 24-hour window only an approved template can be sent; this customer "
                      "has not written in the last 24 hours. Send a template instead."),
                    field=f"messages[{i}].type",
                )

    def resend_safe(self, dispatch) -> bool:
        return False  # no idempotency key on Graph sends: a repeat could deliver twice

    def handshake(self, account, request):
        return meta.handshake(account, request)

    def verify_signature(self, account, request, body: bytes) -> bool:
        return meta.verify_signature(account, request, body)

    def split_webhook(self, account, request, body: bytes) -> list[WebhookItem]:
        return parser.split_webhook(body)

    def parse_event(self, account, item_payload: dict) -> InboundEvent:
        return parser.parse_event(account, item_payload)

    def request_body(self, account, message) -> dict:
        """The /messages body for one of our messages; the message id rides along and comes back in statuses."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.identity.external_id}
        body.update(renderer.render(message.content, account))
        body["biz_opaque_callback_data"] = str(message.pk)
        return body

    def send(self, account, dispatch, messages: list) -> SendResult:
        if len(messages) != 1:  # max_messages_per_request: one message, one person per request
            raise ValueError(f"A WhatsApp dispatch carries exactly one message, got {len(messages)}")
        url = meta.graph_url(account, account.external_id, "messages")
        return meta.graph_post(account, url, self.request_body(account, messages[0]), _message_ids)


adapter_register(WhatsAppAdapter())
