"""Facebook Messenger through the Graph API Send API (and, subclassed in adapters/instagram, Instagram Messaging).

Send: `POST {base}/v23.0/{page id}/messages` `{recipient: {id: PSID}, messaging_type, tag?, message}` →
`{recipient_id, message_id}`; one message per request, one person per request. Inside the 24-hour window the send
goes as RESPONSE; with a message tag as MESSAGE_TAG (window.py says which tags, when). Graph sends have no
idempotency key, so a dispatch whose outcome is unknown is never repeated (resend_safe → False).
"""

from django.http import HttpRequest

from tidings.channels import meta
from tidings.channels.events import InboundEvent, SendResult, WebhookItem
from tidings.channels.registry import adapter_register

from . import parser, renderer, window


def _message_ids(body: dict) -> list[str]:
    return [str(body["message_id"])] if body.get("message_id") else []


class MessengerAdapter:
    channel = "messenger"
    webhook_object = "page"
    limits = renderer.MESSENGER
    allowed_tags = window.MESSENGER_TAGS
    supported_kinds = renderer.SUPPORTED_KINDS
    max_messages_per_request = 1
    max_recipients_per_request = 1

    def default_base_url(self) -> str:
        return meta.GRAPH_BASE_URL

    def validate(self, contents: list) -> None:
        renderer.validate(contents, self.limits)

    def render(self, content) -> dict:
        return renderer.render_one(content)

    def check_recipient(self, *, contents: list, options: dict, last_inbound_at, now) -> None:
        window.check_recipient(channel_name=self.limits.name, allowed_tags=self.allowed_tags, options=options,
                               last_inbound_at=last_inbound_at, now=now)

    def resend_safe(self, dispatch) -> bool:
        return False

    def handshake(self, account, request: HttpRequest):
        return meta.handshake(account, request)

    def verify_signature(self, account, request: HttpRequest, body: bytes) -> bool:
        return meta.verify_signature(account, request, body)

    def split_webhook(self, account, request: HttpRequest, body: bytes) -> list[WebhookItem]:
        return parser.split_webhook(body, expected_object=self.webhook_object)

    def parse_event(self, account, item_payload: dict) -> InboundEvent:
        return parser.parse_event(item_payload)

    def request_body(self, recipient_id: str, content, options: dict) -> dict:
        """The Send API body for one content to one person; a tag makes it a MESSAGE_TAG send."""
        body = {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE"}
        tag = (options or {}).get("tag")
        if tag:
            body["messaging_type"] = "MESSAGE_TAG"
            body["tag"] = tag
        body["message"] = self.render(content)
        return body

    def send(self, account, dispatch, messages: list) -> SendResult:
        if len(messages) != 1:  # max_messages_per_request: the pipeline gives a dispatch one message
            raise ValueError(f"A {self.limits.name} dispatch carries exactly one message, got {len(messages)}")
        message = messages[0]
        body = self.request_body(message.identity.external_id, message.content, dispatch.options or {})
        return meta.graph_post(account, meta.graph_url(account, account.external_id, "messages"), body,
                               _message_ids)


adapter_register(MessengerAdapter())
