"""What the fake Messenger / Instagram posts to Tidings: `messaging[]` items shaped like the official examples
(reference/meta/samples/messenger_docs_fragments/) and the webhook body around them.

Builders only build: the caller decides when to send (`common.graph_webhook_send`, or `graph_webhook_schedule`
for later) and records what the persona did. Times are the workspace clock in epoch milliseconds, ids look like
Meta's (`m_…` message ids). The persona's id is its PSID on Messenger and its IGSID on Instagram.
"""

import datetime
import secrets

from tidings.channels.models import ChannelAccount
from tidings.core import clock

from ..models import Persona

# What an m.me / ig.me link with ?ref= reports as its source.
LINK_SOURCE = "SHORTLINK"


def mg_ms(account: ChannelAccount, delay: datetime.timedelta = datetime.timedelta(0)) -> int:
    return int((clock.now(account.workspace) + delay).timestamp() * 1000)


def mg_mid() -> str:
    return "m_" + secrets.token_urlsafe(32)


def mg_user_id(account: ChannelAccount, persona: Persona) -> str:
    """The persona's id on this account's app: PSID (Messenger) or IGSID (Instagram)."""
    return persona.instagram_igsid if account.channel == "instagram" else persona.messenger_psid


def _item(account: ChannelAccount, persona: Persona, delay=datetime.timedelta(0)) -> dict:
    return {"sender": {"id": mg_user_id(account, persona)}, "recipient": {"id": account.external_id},
            "timestamp": mg_ms(account, delay)}


def mg_message_text(account: ChannelAccount, persona: Persona, text: str) -> dict:
    return {**_item(account, persona), "message": {"mid": mg_mid(), "text": text}}


def mg_quick_reply(account: ChannelAccount, persona: Persona, text: str, payload: str) -> dict:
    """Tapping a quick reply sends its title as text, with the business's payload."""
    return {**_item(account, persona), "message": {"mid": mg_mid(), "text": text, "quick_reply": {"payload": payload}}}


def mg_postback(account: ChannelAccount, persona: Persona, title: str, payload: str, ref: str | None = None) -> dict:
    """A tapped postback button (or Get Started); `ref` = the thread was opened by an m.me / ig.me link."""
    postback = {"mid": mg_mid(), "title": title, "payload": payload}
    if ref is not None:
        postback["referral"] = {"ref": ref, "source": LINK_SOURCE, "type": "OPEN_THREAD"}
    return {**_item(account, persona), "postback": postback}


def mg_referral(account: ChannelAccount, persona: Persona, ref: str) -> dict:
    """An m.me / ig.me link with ?ref= opened on an existing thread (messaging_referrals)."""
    return {**_item(account, persona), "referral": {"ref": ref, "source": LINK_SOURCE, "type": "OPEN_THREAD"}}


def mg_delivery(account: ChannelAccount, persona: Persona, mids: list[str],
                delay: datetime.timedelta = datetime.timedelta(0)) -> dict:
    """message_deliveries (Messenger only): these messages, and all before the watermark, reached the phone."""
    item = _item(account, persona, delay)
    del item["timestamp"]  # the official example has none: the watermark is the time
    return {**item, "delivery": {"mids": list(mids), "watermark": mg_ms(account, delay)}}


def mg_read(account: ChannelAccount, persona: Persona, mid: str | None = None) -> dict:
    """The persona read the chat: Messenger's message_reads carry a watermark (everything sent before it is read);
    Instagram's messaging_seen names the message."""
    item = _item(account, persona)
    if account.channel == "instagram":
        return {**item, "read": {"mid": mid or ""}}
    return {**item, "read": {"watermark": item["timestamp"]}}


def mg_webhook_body(account: ChannelAccount, items: list[dict]) -> dict:
    """The signed body: one entry per item, as Meta batches them (`messaging` holds a single item)."""
    obj = "instagram" if account.channel == "instagram" else "page"
    now = mg_ms(account)
    return {"object": obj, "entry": [{"id": account.external_id, "time": now, "messaging": [item]} for item in items]}
