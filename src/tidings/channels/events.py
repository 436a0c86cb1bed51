"""What adapters turn provider webhooks into: one normalized shape that the rest of Tidings consumes."""

import datetime
from dataclasses import dataclass, field


@dataclass
class InboundEvent:
    # message | follow | unfollow | postback | referral | account_link | delivery | status | template_status |
    # unknown. A `referral` (Messenger m.me / ig.me link, WhatsApp click-to-chat ad) keeps its `ref` in data.
    kind: str
    provider_event_id: str
    occurred_at: datetime.datetime
    user_id: str | None = None  # the provider's id of the customer (LINE userId, phone for SMS, WhatsApp wa_id)
    # A name the webhook itself carries (WhatsApp's contacts[].profile.name), for channels without a profile API.
    display_name: str = ""
    # kind=message: channel-neutral content ({"type": "text", "text": …} or {"type": "image", …}) and ids
    content: dict | None = None
    provider_message_id: str | None = None
    reply_token: str | None = None
    # postback data, account-link result/nonce, PNP delivery data, …
    data: dict = field(default_factory=dict)
    # kind=status: queued/sent/delivered/read/failed/undelivered and the provider's error
    status: str | None = None
    error: dict | None = None
    raw_type: str = ""


@dataclass
class WebhookItem:
    """One event split out of a webhook body, before parsing: stored as a WebhookEvent row."""

    provider_event_id: str
    event_type: str
    payload: dict


@dataclass
class SendResult:
    """The outcome of one provider request (a Dispatch)."""

    outcome: str  # sent | retry | failed
    # Provider ids of the sent messages in request order (push); empty when the provider returns none (multicast).
    provider_message_ids: list[str] = field(default_factory=list)
    error: dict | None = None  # {"status": 400, "message": "...", "details": [...]}
    retry_after: float | None = None
    http_status: int | None = None
