"""Simulated customers (personas) of a sandbox workspace, and what they do on their phones.

Every action reaches Tidings the way a real customer's would: as the provider's signed webhook (LINE follow,
unfollow, message and postback events; Twilio's inbound SMS) POSTed to the account's webhook URL, built by the fake
providers (`fake_line.webhooks`, `fake_twilio.webhooks`). The persona's own flags (friend, blocked, PNP consent) are
the fake provider's truth, consulted when Tidings sends.

A webhook is an HTTP request that Tidings may answer from another thread or process, so it is always made after the
persona's state change has committed, never while this function holds a transaction open (a caller that is already
inside one - the demo loader - runs with in-process HTTP).

What the persona itself sends is kept as a `SandboxDelivery` of kind `user` (payload = the LINE message object or
`{"body": …}` for SMS), so the simulated phone shows both sides of the chat from the sandbox's own records.
"""

import secrets
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from tidings.channels.http import http_client
from tidings.channels.models import AccountMode, ChannelAccount
from tidings.contacts.models import ChannelIdentity
from tidings.contacts.services import contact_create, identity_set_subscribed, identity_upsert, phone_normalize
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Workspace

from .fake_line.services import sandbox_line_click
from .fake_line.webhooks import (
    line_event_follow,
    line_event_postback,
    line_event_text,
    line_event_unfollow,
    line_webhook_send,
)
from .fake_twilio.webhooks import twilio_inbound_sms_send
from .models import Persona, SandboxDelivery, SandboxRequest
from .personas_meta import (
    META_CHANNELS,
    meta_plans,
    meta_plans_apply,
    meta_plans_open_windows,
    persona_meta_act,
    pick_button,
)

ACTIONS = ("send", "follow", "unfollow", "block", "tap", "open_link", "consent_pnp", "order")
CHANNELS = ("line", "sms", *META_CHANNELS)
LINE_ONLY = frozenset({"follow", "unfollow", "block", "tap", "consent_pnp"})
USER_KIND = "user"  # SandboxDelivery.kind of what the persona sent


# --- reads -------------------------------------------------------------------------------------------------------


def sandbox_account(workspace: Workspace, channel: str) -> ChannelAccount | None:
    """The workspace's active sandbox account on a channel (personas talk to the first one)."""
    return (ChannelAccount.objects.for_workspace(workspace)
            .filter(channel=channel, mode=AccountMode.SANDBOX, is_active=True).order_by("id").first())


def personas_list(workspace: Workspace):
    return Persona.objects.for_workspace(workspace).order_by("id")


def persona_get(workspace: Workspace, persona_id) -> Persona | None:
    return Persona.objects.for_workspace(workspace).filter(pk=persona_id).first()


def persona_deliveries(persona: Persona, channel: str):
    """Both sides of the persona's chat on one channel, oldest first."""
    return SandboxDelivery.objects.filter(persona=persona, channel=channel).order_by("created_at", "id")


def sandbox_requests(workspace: Workspace, *, provider: str = "", path: str = ""):
    requests = SandboxRequest.objects.for_workspace(workspace)
    if provider:
        requests = requests.filter(provider=provider)
    if path:
        requests = requests.filter(path=path)
    return requests.order_by("-created_at", "-id")


# --- tappable actions in a LINE message -------------------------------------------------------------------------


def _flex_actions(node, out: list) -> None:
    if isinstance(node, dict):
        action = node.get("action")
        if isinstance(action, dict) and action.get("type"):
            out.append(action)
        for key, value in node.items():
            if key != "action":
                _flex_actions(value, out)
    elif isinstance(node, list):
        for item in node:
            _flex_actions(item, out)


def message_actions(payload: dict) -> list[dict]:
    """Every tappable action of a LINE message object, in the order the phone shows them (index = button number):
    template actions (buttons; carousel columns; image carousel columns), imagemap areas, flex components, then
    quick-reply chips. Imagemap actions are normalised to `uri`/`message` with a label."""
    actions: list[dict] = []
    kind = payload.get("type")
    if kind == "template":
        template = payload.get("template") or {}
        if template.get("type") in ("buttons", "confirm"):
            actions += template.get("actions") or []
        elif template.get("type") == "carousel":
            for column in template.get("columns") or []:
                actions += column.get("actions") or []
        elif template.get("type") == "image_carousel":
            actions += [column["action"] for column in template.get("columns") or [] if column.get("action")]
    elif kind == "imagemap":
        for index, action in enumerate(payload.get("actions") or []):
            label = action.get("label") or _("Area %(n)d") % {"n": index + 1}
            if action.get("type") == "uri":
                actions.append({"type": "uri", "label": label, "uri": action.get("linkUri", "")})
            else:
                actions.append({"type": "message", "label": label, "text": action.get("text", "")})
    elif kind == "flex":
        _flex_actions(payload.get("contents"), actions)
    for item in (payload.get("quickReply") or {}).get("items") or []:
        if item.get("action"):
            actions.append(item["action"])
    return actions


def delivery_for_message(persona: Persona, message_id) -> SandboxDelivery:
    """The delivery on the persona's phone of Tidings' `Message` `message_id`: by provider message id (push), else
    by the provider request its dispatch made (multicast carries no ids) and the message's position in it."""
    from tidings.messaging.models import Message

    message = Message.objects.for_workspace(persona.workspace).filter(pk=message_id, direction="out").first()
    if message is None:
        raise ServiceError(_("Unknown message."), field="message_id")
    deliveries = SandboxDelivery.objects.filter(persona=persona).exclude(kind=USER_KIND)
    if message.provider_message_id:
        found = deliveries.filter(provider_message_id=message.provider_message_id).first()
        if found is not None:
            return found
    if message.dispatch_id is not None:
        retry_key = message.dispatch.retry_key
        for delivery in deliveries.filter(request__isnull=False).select_related("request").order_by("-id"):
            headers = {k.lower(): v for k, v in (delivery.request.headers or {}).items()}
            if headers.get("x-line-retry-key") == retry_key:
                siblings = list(deliveries.filter(request=delivery.request).order_by("id"))
                if message.position < len(siblings):
                    return siblings[message.position]
    raise ServiceError(_("This message has not reached the persona's phone."), field="message_id")


# --- writes ------------------------------------------------------------------------------------------------------


def line_user_id_new() -> str:
    return "U" + secrets.token_hex(16)


def _require_sandbox(workspace: Workspace) -> None:
    if not workspace.is_sandbox:
        raise ServiceError(_("Personas live in sandbox workspaces only."), field="workspace")


def _link_line_identity(persona: Persona, account: ChannelAccount) -> ChannelIdentity:
    """The persona's LINE identity, tied to the persona's contact before Tidings first hears of it, so a follow
    webhook lands on that contact (standing in for the binding the Social CDP issue builds) instead of a new one."""
    identity, _created = identity_upsert(workspace=persona.workspace, account=account,
                                         external_id=persona.line_user_id, contact=persona.contact)
    return identity


@dataclass
class ActResult:
    persona: Persona
    action: str
    channel: str
    webhook_status: int | None = None  # what Tidings' webhook endpoint answered
    events: list = field(default_factory=list)  # the provider events sent
    link: dict | None = None  # open_link: {"url", "status", "location"}


def persona_create(
    *,
    workspace: Workspace,
    name: str,
    phone: str,
    line: bool = True,
    friend: bool = True,
    blocked: bool = False,
    pnp_consent: bool = False,
    whatsapp: dict | None = None,
    messenger: dict | None = None,
    instagram: dict | None = None,
) -> Persona:
    """A simulated customer with a contact in Tidings. A LINE friend follows the sandbox LINE account by LINE's
    follow webhook (and, if `blocked`, blocks it again by unfollow), so Tidings learns of it the real way.

    `whatsapp` / `messenger` / `instagram`: None (not on it) or {"wa_id"|"psid"|"igsid"?, "in_window"?}; a persona
    in the window writes its first message there now, by the signed webhook (`personas_meta`)."""
    _require_sandbox(workspace)
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the persona a name."), field="name")
    phone = phone_normalize(workspace=workspace, phone=phone or "")
    line_account = sandbox_account(workspace, "line")
    if line and friend and line_account is None:
        raise ServiceError(_("Connect a sandbox LINE account before adding LINE friends."), field="friend")
    with transaction.atomic():
        if Persona.objects.for_workspace(workspace).filter(phone=phone).exists():
            raise ServiceError(_("A persona with this phone number already exists."), field="phone")
        plans = meta_plans(workspace, phone, whatsapp=whatsapp, messenger=messenger, instagram=instagram)
        contact = contact_create(workspace=workspace, name=name, phone=phone)
        persona = Persona.objects.create(
            workspace=workspace, name=name, phone=phone, contact=contact,
            line_user_id=line_user_id_new() if line else "", line_friend=False, line_blocked=False,
            pnp_consent=bool(pnp_consent and line),
        )
        sms_account = sandbox_account(workspace, "sms")
        if sms_account is not None:
            identity, _created = identity_upsert(workspace=workspace, account=sms_account, external_id=phone,
                                                 contact=contact, display_name=name)
            identity_set_subscribed(identity=identity, subscribed=True)
        ids = meta_plans_apply(persona, plans)
        if ids:
            Persona.objects.filter(pk=persona.pk).update(**ids)
            for key, value in ids.items():
                setattr(persona, key, value)
    if line and friend:
        persona_act(workspace=workspace, persona=persona, action="follow", channel="line")
        if blocked:
            persona_act(workspace=workspace, persona=persona, action="block", channel="line")
    meta_plans_open_windows(persona, plans)
    persona.refresh_from_db()
    return persona


def _set_flags(persona: Persona, **flags) -> None:
    with transaction.atomic():
        Persona.objects.filter(pk=persona.pk).update(**flags)
    for key, value in flags.items():
        setattr(persona, key, value)


def _line_send(persona: Persona, account: ChannelAccount, events: list[dict]) -> int:
    try:
        response = line_webhook_send(account, events)
    except httpx.HTTPError as exc:
        raise ServiceError(_("Tidings' LINE webhook could not be reached: %(error)s") % {"error": exc}) from None
    return getattr(response, "status_code", response)


def _record_user_message(persona: Persona, account: ChannelAccount, payload: dict, provider_message_id: str = ""):
    return SandboxDelivery.objects.create(
        workspace=persona.workspace, account=account, persona=persona, provider=account.channel
        if account.channel == "line" else "twilio", channel=account.channel, kind=USER_KIND, payload=payload,
        provider_message_id=provider_message_id, delivered=True,
    )


def persona_act(
    *,
    workspace: Workspace,
    persona: Persona,
    action: str,
    channel: str = "line",
    text: str = "",
    message_id: int | None = None,
    button: str | int | None = None,
    url: str = "",
    delivery: SandboxDelivery | None = None,
    items: list | None = None,
    catalog_id: str = "",
) -> ActResult:
    """Do what a customer does on their phone; each action reaches Tidings as the provider's real signed webhook.

    send (text) · follow · unfollow (delete the friend) · block · tap (message_id or delivery, and button = label or
    index: postback → postback event, message action → text message, uri → open_link) · open_link (url) ·
    consent_pnp (agree to LINE notification messages; no webhook exists for it) · order (WhatsApp catalog items).
    WhatsApp, Messenger and Instagram actions are `personas_meta.persona_meta_act`.
    """
    if persona.workspace_id != workspace.pk:
        raise NotFound(_("Unknown persona."))
    _require_sandbox(workspace)
    if action not in ACTIONS:
        raise ServiceError(_("Unknown action. Choose one of: %(actions)s.") % {"actions": ", ".join(ACTIONS)},
                           field="action")
    if channel not in CHANNELS:
        raise ServiceError(_("Unknown channel. Choose one of: %(channels)s.") % {"channels": ", ".join(CHANNELS)},
                           field="channel")
    if action in LINE_ONLY and channel != "line" and not (action == "tap" and channel in META_CHANNELS):
        raise ServiceError(_("This action exists on LINE only."), field="channel")
    result = ActResult(persona=persona, action=action, channel=channel)
    if action == "open_link":
        if not url:
            raise ServiceError(_("Give the link to open."), field="url")
        result.link = link_open(url)
        return result
    if channel in META_CHANNELS:
        return _meta_act(persona, action, channel, text, message_id, button, delivery, items, catalog_id, result)
    if action == "order":
        raise ServiceError(_("Orders from a catalog exist on WhatsApp only."), field="channel")
    if channel == "sms":
        return _sms_send(workspace, persona, text, result)

    account = sandbox_account(workspace, "line")
    if account is None:
        raise ServiceError(_("This workspace has no sandbox LINE account."), field="channel")
    if not persona.line_user_id:
        raise ServiceError(_("This persona has no LINE account."), field="channel")
    if action == "consent_pnp":
        _set_flags(persona, pnp_consent=True)
        return result
    if action == "follow":
        if persona.line_friend and not persona.line_blocked:
            return result  # already following: LINE sends nothing
        unblocking = persona.line_blocked
        _link_line_identity(persona, account)
        _set_flags(persona, line_friend=True, line_blocked=False)
        return _line_events(persona, account, result, [line_event_follow(persona, unblocked=unblocking)])
    if action in ("unfollow", "block"):
        flags = {"line_blocked": True} if action == "block" else {"line_friend": False, "line_blocked": False}
        was_following = persona.line_friend and not persona.line_blocked
        _set_flags(persona, **flags)
        if not was_following:
            return result  # nothing changes for Tidings: LINE sends no second unfollow
        return _line_events(persona, account, result, [line_event_unfollow(persona)])
    if persona.line_blocked:
        raise ServiceError(_("This persona has blocked the LINE account; follow it again first."), field="action")
    if action == "send":
        return _line_text(persona, account, result, text)
    # tap
    if delivery is None:
        if message_id in (None, ""):
            raise ServiceError(_("Say which message the button is on."), field="message_id")
        delivery = delivery_for_message(persona, message_id)
    elif delivery.persona_id != persona.pk:
        raise ServiceError(_("Unknown message."), field="message_id")
    tapped = pick_button(message_actions(delivery.payload), button)
    kind = tapped.get("type")
    if kind == "postback":
        if tapped.get("displayText"):
            _record_user_message(persona, account, {"type": "text", "text": tapped["displayText"]})
        else:
            _record_user_message(persona, account, {"type": "postback", "label": tapped.get("label", ""),
                                                    "data": tapped.get("data", "")})
        return _line_events(persona, account, result, [
            line_event_postback(persona, tapped.get("data", ""), display_text=tapped.get("displayText"))])
    if kind == "message":
        return _line_text(persona, account, result, tapped.get("text", ""))
    if kind == "uri":
        result.link = link_open(tapped.get("uri", ""))
        if delivery.delivered:
            sandbox_line_click(delivery, tapped.get("uri", ""))
        return result
    raise ServiceError(_("The simulated phone cannot tap a %(type)s action yet.") % {"type": kind}, field="button")


def _meta_act(persona, action, channel, text, message_id, button, delivery, items, catalog_id, result: ActResult):
    if action == "tap" and delivery is None:
        if message_id in (None, ""):
            raise ServiceError(_("Say which message the button is on."), field="message_id")
        delivery = delivery_for_message(persona, message_id)
    done = persona_meta_act(persona=persona, action=action, channel=channel, text=text, delivery=delivery,
                            button=button, items=items, catalog_id=catalog_id)
    result.webhook_status, result.events, result.link = done.webhook_status, done.events or [], done.link
    return result


def _line_text(persona: Persona, account: ChannelAccount, result: ActResult, text: str) -> ActResult:
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Type a message."), field="text")
    if len(text) > 5000:
        raise ServiceError(_("LINE messages are at most 5,000 characters."), field="text")
    event = line_event_text(persona, text)
    message = event["message"]
    _record_user_message(persona, account, {"type": "text", "id": message["id"], "text": text}, message["id"])
    return _line_events(persona, account, result, [event])


def _line_events(persona, account, result: ActResult, events: list[dict]) -> ActResult:
    result.events = events
    result.webhook_status = _line_send(persona, account, events)
    return result


def _sms_send(workspace, persona: Persona, text: str, result: ActResult) -> ActResult:
    if result.action != "send":
        raise ServiceError(_("A phone can only send a text message by SMS."), field="action")
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Type a message."), field="text")
    account = sandbox_account(workspace, "sms")
    if account is None:
        raise ServiceError(_("This workspace has no sandbox SMS account."), field="channel")
    sid, status = twilio_inbound_sms_send(account, persona, text)
    if status is None:
        raise ServiceError(_("Tidings' Twilio webhook could not be reached."), field="channel")
    _record_user_message(persona, account, {"body": text}, sid)
    result.webhook_status = status
    result.events = [{"MessageSid": sid, "From": persona.phone, "Body": text}]
    return result


def link_open(url: str) -> dict:
    """What tapping a link does: a tracked link of ours (`{BASE_URL}/l/…`) is requested once, which records the
    click, and its redirect is where the phone's browser goes. Other URLs are not fetched (the sandbox is offline)."""
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ServiceError(_("Give a web link (http or https)."), field="url")
    if not url.startswith(f"{settings.BASE_URL}/"):
        return {"url": url, "status": None, "location": url}
    try:
        with http_client() as client:
            response = client.get(url, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ServiceError(_("The link could not be opened: %(error)s") % {"error": exc}, field="url") from None
    return {"url": url, "status": response.status_code, "location": response.headers.get("location", url)}
