"""What inbound webhooks mean for binding (registered with channels.inbound at start-up, after messaging's
consumer, so the customer's message is recorded whatever binding makes of it).

- a text message on LINE or WhatsApp carrying a live 6-digit code → bind (any other text is just a message);
- a Messenger / Instagram postback (new thread) or referral (existing thread) whose ref is one of ours → bind;
- LINE `accountLink` → bind on `ok`, spend the nonce on `failed`;
- the LINE postback `tidings:account_link` (a rich-menu item) → send the account-link login button.
"""

import logging

from django.db import transaction

from tidings.channels.events import InboundEvent
from tidings.channels.inbound import inbound_consumer

from .services import (
    LINE_LINK_POSTBACK,
    binding_from_account_link,
    binding_from_code,
    binding_from_ref,
    binding_line_link_requested,
)

logger = logging.getLogger("tidings.binding")

CODE_CHANNELS = frozenset({"line", "whatsapp"})
REF_CHANNELS = frozenset({"messenger", "instagram"})


@inbound_consumer
def binding_from_inbound(*, account, event: InboundEvent, identity, webhook_event) -> None:
    try:
        with transaction.atomic():  # a savepoint: a failure here rolls back binding's writes only
            _consume(account, event, identity)
    except Exception:  # noqa: BLE001 - binding must never cost the customer's message (the event's other work)
        logger.exception("Binding failed on webhook event %s (account %s)", webhook_event.pk, account.public_id)


def _consume(account, event: InboundEvent, identity) -> None:
    if event.kind == "account_link" and account.channel == "line":
        binding_from_account_link(account=account, identity=identity, result=str(event.data.get("result", "")),
                                  nonce=str(event.data.get("nonce", "")))
        return
    if identity is None:
        return
    if account.channel in REF_CHANNELS and event.kind in ("postback", "referral", "message"):
        ref = str(event.data.get("ref") or "")
        if ref:
            binding_from_ref(account=account, identity=identity, ref=ref)
        return
    if account.channel == "line" and event.kind == "postback" and event.data.get("data") == LINE_LINK_POSTBACK:
        binding_line_link_requested(account=account, identity=identity)
        return
    if account.channel in CODE_CHANNELS and event.kind == "message":
        content = event.content or {}
        if content.get("type") == "text":
            binding_from_code(account=account, identity=identity, text=str(content.get("text") or ""))
