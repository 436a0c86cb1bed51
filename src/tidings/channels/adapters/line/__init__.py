"""LINE Messaging API adapter: renderer (content → LINE messages), client, webhook parser, signature."""

from django.utils.translation import gettext as _

from tidings.channels.content import contents_check_kinds, contents_parse
from tidings.channels.events import InboundEvent, SendResult, WebhookItem
from tidings.channels.registry import adapter_register
from tidings.contacts.models import ChannelIdentity

from . import client, parser, renderer


class LineAdapter:
    channel = "line"
    supported_kinds = frozenset({"text", "image", "video", "buttons", "carousel", "image_carousel", "imagemap", "coupon"})
    max_messages_per_request = renderer.MAX_MESSAGES
    max_recipients_per_request = 500

    def default_base_url(self) -> str:
        return "https://api.line.me"

    def validate(self, contents: list) -> None:
        if any(isinstance(c, dict) for c in contents):
            contents = contents_parse(contents)
        contents_check_kinds(contents, supported=self.supported_kinds, channel_name="LINE")
        renderer.validate(contents)

    def render(self, contents: list) -> list[dict]:
        if any(isinstance(c, dict) for c in contents):
            contents = contents_parse(contents)
        return renderer.render(contents)

    def verify_signature(self, account, request, body: bytes) -> bool:
        return parser.verify_signature(account, request, body)

    def split_webhook(self, account, request, body: bytes) -> list[WebhookItem]:
        return parser.split_webhook(body)

    def parse_event(self, account, item_payload: dict) -> InboundEvent:
        return parser.parse_event(account, item_payload)

    def resend_safe(self, dispatch) -> bool:
        """Push and multicast carry X-Line-Retry-Key (a repeat gets 409); PNP has no retry key."""
        return dispatch.kind != "pnp"

    def fetch_profile(self, account, user_id: str) -> dict:
        """`{"display_name", "picture_url"}` from LINE's profile API; raises client.LineApiError."""
        profile = client.get_profile(account, user_id)
        return {"display_name": profile.get("displayName", ""), "picture_url": profile.get("pictureUrl", "")}

    def send(self, account, dispatch, messages: list) -> SendResult:
        """One provider request for a Dispatch: push (one user), multicast (many, same contents) or PNP (by phone)."""
        if not messages:
            return SendResult(outcome="failed", error={"status": None, "message": _("Nothing to send."),
                                                       "details": []})
        options = dispatch.options or {}
        unit = options.get("aggregation_unit")
        if dispatch.kind == "pnp":
            rendered = self.render([m.content for m in messages])
            return client.pnp_push(account, options["phone"], rendered, delivery_tag=options.get("delivery_tag"))
        recipients = _external_ids(messages)
        first = messages[0].identity_id
        rendered = self.render([m.content for m in messages if m.identity_id == first])
        if dispatch.kind == "multicast":
            return client.multicast(account, recipients, rendered, retry_key=dispatch.retry_key,
                                    aggregation_unit=unit)
        return client.push(account, recipients[0], rendered, retry_key=dispatch.retry_key, aggregation_unit=unit)


def _external_id(message) -> str | None:
    """The recipient's user id when the message carries it: a multicast row names it, a Message its loaded
    identity."""
    known = getattr(message, "external_id", None)
    if known:
        return known
    cache = getattr(getattr(message, "_state", None), "fields_cache", {})
    return message.identity.external_id if cache.get("identity") is not None else None


def _external_ids(messages) -> list[str]:
    """Distinct recipient user ids in message order, with one query when identities are not loaded yet."""
    ids = list(dict.fromkeys(m.identity_id for m in messages))
    loaded = {m.identity_id: _external_id(m) for m in messages if _external_id(m)}
    missing = [i for i in ids if i not in loaded]
    if missing:
        loaded.update(ChannelIdentity.objects.filter(pk__in=missing).values_list("id", "external_id"))
    return [loaded[i] for i in ids]


adapter_register(LineAdapter())
