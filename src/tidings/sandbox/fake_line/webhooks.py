"""Webhooks back from the fake LINE to Tidings, exactly as LINE sends them.

Event builders return one event dict shaped like LINE's samples (`../shared/reference/line/samples/`), key for key:

    line_webhook_send(account, [line_event_text(persona, "Hello")])       # now, in this request
    line_webhook_schedule(account, [line_event_delivery(tag)], delay=...)  # later, as a durable timer

Sending fills what LINE fills (a ULID `webhookEventId`, `deliveryContext`, `mode`, `timestamp` on the workspace
clock), wraps the events in `{"destination": <bot user id>, "events": […]}`, signs the exact body bytes with the
channel secret (`x-line-signature`) and POSTs it to the account's webhook URL through `channels.http`. Reply tokens
in the events are registered when the webhook goes out, so the 1-minute window starts then, as at LINE.
"""

import datetime
import json

from django.db import transaction

from tidings.channels.adapters.line.signature import line_signature
from tidings.channels.http import http_client
from tidings.channels.models import ChannelAccount
from tidings.channels.services import account_webhook_url
from tidings.core import clock
from tidings.timers.services import timer_schedule

from ..models import Persona, SandboxToken
from ..services import sandbox_token_issue
from .ids import bot_user_id, message_id, quote_token, reply_token, ulid

WEBHOOK_TIMER = "sandbox.line_webhook"
REPLY_TOKEN_LIFETIME = datetime.timedelta(minutes=1)
USER_AGENT = "LineBotWebhook/2.0"


class LineWebhookFailed(Exception):
    """Tidings did not answer a webhook with 2xx; a timer-sent webhook is retried with back-off."""


def _ms(workspace, at: datetime.datetime | None = None) -> int:
    return int((at or clock.now(workspace)).timestamp() * 1000)


def _source(persona: Persona) -> dict:
    return {"type": "user", "userId": persona.line_user_id}


def _common(persona_or_workspace, at=None) -> dict:
    workspace = getattr(persona_or_workspace, "workspace", persona_or_workspace)
    ms = _ms(workspace, at)
    return {"timestamp": ms, "webhookEventId": ulid(ms), "deliveryContext": {"isRedelivery": False}}


# --- event builders (samples: follow.json, unfollow.json, webhook_mixed_…, postback_…, account_link.json, delivery_…)


def line_event_follow(persona: Persona, unblocked: bool = False) -> dict:
    c = _common(persona)
    return {
        "replyToken": reply_token(), "type": "follow", "mode": "active", "timestamp": c["timestamp"],
        "source": _source(persona), "webhookEventId": c["webhookEventId"], "deliveryContext": c["deliveryContext"],
        "follow": {"isUnblocked": bool(unblocked)},
    }


def line_event_unfollow(persona: Persona) -> dict:
    c = _common(persona)
    return {
        "type": "unfollow", "mode": "active", "timestamp": c["timestamp"], "source": _source(persona),
        "webhookEventId": c["webhookEventId"], "deliveryContext": c["deliveryContext"],
    }


def line_event_text(persona: Persona, text: str) -> dict:
    c = _common(persona)
    return {
        "type": "message",
        "message": {"type": "text", "id": message_id(), "quoteToken": quote_token(), "text": text},
        "timestamp": c["timestamp"], "source": _source(persona), "replyToken": reply_token(), "mode": "active",
        "webhookEventId": c["webhookEventId"], "deliveryContext": c["deliveryContext"],
    }


def line_event_postback(persona: Persona, data: str, display_text: str | None = None, params: dict | None = None):
    """A tap on a postback action. LINE shows `display_text` in the chat as the user's words but sends no message
    event for it: the postback event carries only `data` (and `params` for date-time pickers)."""
    c = _common(persona)
    postback = {"data": data}
    if params:
        postback["params"] = params
    return {
        "replyToken": reply_token(), "type": "postback", "mode": "active", "source": _source(persona),
        "timestamp": c["timestamp"], "webhookEventId": c["webhookEventId"], "deliveryContext": c["deliveryContext"],
        "postback": postback,
    }


def line_event_account_link(persona: Persona, nonce: str, result: str = "ok") -> dict:
    """Account link result. LINE leaves `source` out when linking failed."""
    c = _common(persona)
    event = {"replyToken": reply_token(), "type": "accountLink", "mode": "active"}
    if result == "ok":
        event["source"] = _source(persona)
    event.update({
        "timestamp": c["timestamp"], "webhookEventId": c["webhookEventId"], "deliveryContext": c["deliveryContext"],
        "link": {"result": result, "nonce": nonce},
    })
    return event


def line_event_delivery(workspace, data: str, persona: Persona | None = None, at=None) -> dict:
    """PNP delivery completion: `delivery.data` is the X-Line-Delivery-Tag (or the hashed phone). `source` is added
    when the persona is a friend of the account (the brief's N2: lets Tidings learn the user id of a phone)."""
    c = _common(workspace, at)
    event = {"type": "delivery", "delivery": {"data": data}}
    if persona is not None and persona.line_friend and persona.line_user_id:
        event["source"] = _source(persona)
    event.update({
        "webhookEventId": c["webhookEventId"], "deliveryContext": c["deliveryContext"], "timestamp": c["timestamp"],
        "mode": "active",
    })
    return event


# --- sending -----------------------------------------------------------------------------------------------------


def line_webhook_body(account: ChannelAccount, events: list[dict], *, redelivery: bool = False) -> bytes:
    for event in events:
        event.setdefault("mode", "active")
        event.setdefault("timestamp", _ms(account.workspace))
        event.setdefault("webhookEventId", ulid(event["timestamp"]))
        event["deliveryContext"] = {"isRedelivery": bool(redelivery)}
    payload = {"destination": bot_user_id(account), "events": events}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _register_reply_tokens(account: ChannelAccount, events: list[dict]) -> None:
    from ..selectors import personas_by_line_user

    wanted = {e["replyToken"]: e.get("source", {}).get("userId") for e in events if e.get("replyToken")}
    if not wanted:
        return
    personas = personas_by_line_user(account.workspace, wanted.values())
    # A redelivered webhook carries the same tokens: LINE honours them for another minute unless already used.
    known = SandboxToken.objects.filter(account=account, kind="reply", token__in=list(wanted))
    known.filter(used_at__isnull=True).update(expires_at=clock.now(account.workspace) + REPLY_TOKEN_LIFETIME)
    known_tokens = set(known.values_list("token", flat=True))
    for token, user_id in wanted.items():
        persona = personas.get(user_id)
        if persona is not None and token not in known_tokens:
            sandbox_token_issue(account=account, persona=persona, kind="reply", lifetime=REPLY_TOKEN_LIFETIME,
                                token=token)


def line_webhook_send(account: ChannelAccount, events: list[dict], *, redelivery: bool = False):
    """POST the events, signed, to Tidings' webhook URL for the account; returns the httpx response."""
    body = line_webhook_body(account, events, redelivery=redelivery)
    with transaction.atomic():
        _register_reply_tokens(account, events)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "x-line-signature": line_signature(account.credentials["channel_secret"], body),
    }
    with http_client() as client:
        return client.post(account_webhook_url(account), content=body, headers=headers)


def line_webhook_schedule(account: ChannelAccount, events: list[dict], *, delay: datetime.timedelta):
    """Send the events after `delay` on the workspace clock, as a durable timer (retried until Tidings says 2xx)."""
    due = clock.now(account.workspace) + delay
    for event in events:
        # The event happens when it is delivered: stamp it with the due time on the workspace clock.
        event["timestamp"] = _ms(account.workspace, due)
        event.setdefault("webhookEventId", ulid(event["timestamp"]))
    return timer_schedule(
        workspace=account.workspace, kind=WEBHOOK_TIMER, key=f"{WEBHOOK_TIMER}:{events[0]['webhookEventId']}",
        due_at=due, payload={"account_id": account.pk, "events": events},
    )


def line_webhook_fire(timer) -> None:
    """Timer handler body: send the stored events; a later attempt is a redelivery, as LINE marks it."""
    account = ChannelAccount.objects.select_related("workspace").filter(pk=timer.payload["account_id"]).first()
    if account is None or not account.is_active:
        return
    response = line_webhook_send(account, timer.payload["events"], redelivery=timer.attempts > 1)
    if not 200 <= response.status_code < 300:
        raise LineWebhookFailed(f"webhook answered {response.status_code}")
