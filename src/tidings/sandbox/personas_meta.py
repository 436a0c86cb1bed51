"""Personas on Meta's channels: WhatsApp, Messenger and Instagram (the LINE and SMS side is `personas.py`).

A persona is on a channel when it has the id that channel's app gives it (WhatsApp: the wa_id, the phone number's
digits; Messenger: a page-scoped id, PSID; Instagram: an Instagram-scoped id, IGSID). Its customer-service window is
open while its last message on that channel is within 24 hours of the workspace clock: the fake Graph API enforces
that, and Tidings learns the same moment from the webhook's timestamp.

Everything the persona does reaches Tidings as the provider's real signed webhook, built by
`fake_graph.whatsapp_webhooks` / `fake_graph.messenger_webhooks` and POSTed by `graph_webhook_send` after the
persona's own state has committed. What it sends is kept as a `SandboxDelivery` of kind `user` whose payload is the
inbound object as it appears in the webhook (WhatsApp: the `messages[]` item; Messenger/Instagram: the
`messaging[]` item), so the simulated phone shows both sides of the chat.
"""

import datetime
import secrets
from dataclasses import dataclass

import httpx
from django.db import transaction
from django.utils.translation import gettext as _

from tidings.channels.models import ChannelAccount
from tidings.contacts.services import identity_upsert
from tidings.core import clock
from tidings.core.errors import ServiceError

from .models import Persona, SandboxDelivery, SandboxInteraction, SandboxTemplate

META_CHANNELS = ("whatsapp", "messenger", "instagram")
ID_FIELD = {"whatsapp": "whatsapp_id", "messenger": "messenger_psid", "instagram": "instagram_igsid"}
ID_KEY = {"whatsapp": "wa_id", "messenger": "psid", "instagram": "igsid"}
LAST_FIELD = {channel: f"{channel}_last_message_at" for channel in META_CHANNELS}
WINDOW = datetime.timedelta(hours=24)
USER_KIND = "user"
# What a persona created "in the window" wrote: its first message, which opens the window the real way.
GREETING = "Hi"
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram"}


# --- reads -------------------------------------------------------------------------------------------------------


def meta_account(workspace, channel: str) -> ChannelAccount | None:
    """The workspace's active sandbox account on a Meta channel (personas talk to the first one)."""
    return (ChannelAccount.objects.for_workspace(workspace)
            .filter(channel=channel, mode="sandbox", is_active=True).order_by("id").first())


def persona_on(persona: Persona, channel: str) -> bool:
    return bool(getattr(persona, ID_FIELD[channel]))


def persona_in_window(persona: Persona, channel: str, now: datetime.datetime | None = None) -> bool:
    """Within 24 hours of the persona's last message on `channel`, by the workspace clock."""
    last = getattr(persona, LAST_FIELD[channel])
    if last is None:
        return False
    now = now or clock.now(persona.workspace)
    return now - last < WINDOW


def persona_meta_state(persona: Persona) -> dict:
    """{"whatsapp": {"wa_id", "in_window"} | None, "messenger": {"psid", …} | None, "instagram": {"igsid", …} | None}"""
    now = clock.now(persona.workspace)
    return {
        channel: ({ID_KEY[channel]: getattr(persona, ID_FIELD[channel]),
                   "in_window": persona_in_window(persona, channel, now)}
                  if persona_on(persona, channel) else None)
        for channel in META_CHANNELS
    }


# --- creating a persona on Meta's channels ---------------------------------------------------------------------


@dataclass
class MetaPlan:
    """What `persona_create` was asked for on one channel, checked: the id, and whether to open the window."""

    channel: str
    external_id: str
    open_window: bool


def _digits_id(count: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (count - 1)) + 10 ** (count - 1))


def meta_plans(workspace, phone: str, **requested) -> list[MetaPlan]:
    """Check `whatsapp` / `messenger` / `instagram` (each None = not on it, or a dict of id and in_window) before
    anything is written. WhatsApp's id defaults to the phone's digits; the others are generated (PSIDs are 16
    digits, IGSIDs 17)."""
    plans = []
    for channel in META_CHANNELS:
        wanted = requested.get(channel)
        if wanted is None or wanted is False:
            continue
        if wanted is True:
            wanted = {}
        if not isinstance(wanted, dict):
            raise ServiceError(_("Give an object (or null) for %(channel)s.") % {"channel": channel}, field=channel)
        unknown = set(wanted) - {ID_KEY[channel], "in_window"}
        if unknown:
            raise ServiceError(_("Unknown field: %(field)s.") % {"field": ", ".join(sorted(unknown))}, field=channel)
        if meta_account(workspace, channel) is None:
            raise ServiceError(_("Connect a sandbox %(channel)s account before adding personas on it.")
                               % {"channel": CHANNEL_NAMES[channel]}, field=channel)
        external_id = str(wanted.get(ID_KEY[channel]) or "").strip().lstrip("+")
        if channel == "whatsapp":
            external_id = external_id or phone.lstrip("+")
        else:
            external_id = external_id or _digits_id(16 if channel == "messenger" else 17)
        if not external_id.isdigit() or not 6 <= len(external_id) <= 20:
            raise ServiceError(_("An id on %(channel)s is 6 to 20 digits.") % {"channel": CHANNEL_NAMES[channel]},
                               field=f"{channel}.{ID_KEY[channel]}")
        if Persona.objects.for_workspace(workspace).filter(**{ID_FIELD[channel]: external_id}).exists():
            raise ServiceError(_("Another persona already has this id on %(channel)s.")
                               % {"channel": CHANNEL_NAMES[channel]}, field=f"{channel}.{ID_KEY[channel]}")
        plans.append(MetaPlan(channel, external_id, bool(wanted.get("in_window", False))))
    return plans


def meta_plans_apply(persona: Persona, plans: list[MetaPlan]) -> dict:
    """Inside `persona_create`'s transaction: the persona's ids, and its identities tied to its contact before
    Tidings first hears from it (standing in for the binding the Social CDP issue builds), so its webhooks land on
    that contact. A WhatsApp number can be messaged (with a template) without having written first; a Messenger or
    Instagram persona outside its window stands for someone who wrote more than a day ago (Tidings knows its id, and
    may send it tagged updates only)."""
    for plan in plans:
        account = meta_account(persona.workspace, plan.channel)
        identity_upsert(workspace=persona.workspace, account=account, external_id=plan.external_id,
                        contact=persona.contact, display_name=persona.name)
    return {ID_FIELD[plan.channel]: plan.external_id for plan in plans}


def meta_plans_open_windows(persona: Persona, plans: list[MetaPlan]) -> None:
    """After commit: a persona created in the window writes its first message now, by the signed webhook, so both
    the fake (last message at) and Tidings (the identity's last inbound) know the window is open."""
    for plan in plans:
        if plan.open_window:
            persona_meta_act(persona=persona, action="send", channel=plan.channel, text=GREETING)


# --- acting ------------------------------------------------------------------------------------------------------


@dataclass
class MetaAct:
    """What happened: the webhook body sent and what Tidings answered; `link` for a tapped URL button."""

    webhook_status: int | None = None
    events: list | None = None
    link: dict | None = None


def _require(persona: Persona, channel: str) -> ChannelAccount:
    account = meta_account(persona.workspace, channel)
    if account is None:
        raise ServiceError(_("This workspace has no sandbox %(channel)s account.") % {"channel": CHANNEL_NAMES[channel]},
                           field="channel")
    if not persona_on(persona, channel):
        raise ServiceError(_("This persona is not on %(channel)s.") % {"channel": CHANNEL_NAMES[channel]},
                           field="channel")
    return account


def _wrote(persona: Persona, channel: str) -> None:
    """The persona's last message on the channel is now: its window is open for 24 hours."""
    now = clock.now(persona.workspace)
    with transaction.atomic():
        Persona.objects.filter(pk=persona.pk).update(**{LAST_FIELD[channel]: now})
    setattr(persona, LAST_FIELD[channel], now)


def _record(persona: Persona, account: ChannelAccount, payload: dict, provider_message_id: str) -> SandboxDelivery:
    return SandboxDelivery.objects.create(
        workspace=persona.workspace, account=account, persona=persona, provider=account.channel,
        channel=account.channel, kind=USER_KIND, payload=payload, provider_message_id=provider_message_id or "",
        delivered=True,
    )


def _post(account: ChannelAccount, body: dict) -> int:
    from .fake_graph.common import graph_webhook_send

    try:
        response = graph_webhook_send(account, body)
    except httpx.HTTPError as exc:
        raise ServiceError(_("Tidings' webhook could not be reached: %(error)s") % {"error": exc}) from None
    return getattr(response, "status_code", response)


def _whatsapp_send(persona, account, message: dict, result: MetaAct) -> MetaAct:
    from .fake_graph.whatsapp_webhooks import wa_webhook_messages

    _wrote(persona, "whatsapp")
    _record(persona, account, message, message.get("id", ""))
    body = wa_webhook_messages(account, persona, message)
    result.events = [body]
    result.webhook_status = _post(account, body)
    return result


def _messenger_send(persona, account, item: dict, result: MetaAct) -> MetaAct:
    from .fake_graph.messenger_webhooks import mg_webhook_body

    _wrote(persona, account.channel)
    mid = (item.get("message") or item.get("postback") or {}).get("mid", "")
    _record(persona, account, item, mid)
    body = mg_webhook_body(account, [item])
    result.events = [body]
    result.webhook_status = _post(account, body)
    return result


def _text(text: str, limit: int) -> str:
    text = (text or "").strip()
    if not text:
        raise ServiceError(_("Type a message."), field="text")
    if len(text) > limit:
        raise ServiceError(_("Messages here are at most %(limit)s characters.") % {"limit": f"{limit:,}"},
                           field="text")
    return text


def persona_meta_act(
    *,
    persona: Persona,
    action: str,
    channel: str,
    text: str = "",
    delivery: SandboxDelivery | None = None,
    button=None,
    items: list | None = None,
    catalog_id: str = "",
) -> MetaAct:
    """send (text) · tap (delivery + button = label or number) · order (WhatsApp catalog items). `open_link` of a
    bare URL is `personas.link_open`; tapping a URL button opens its link the same way."""
    account = _require(persona, channel)
    result = MetaAct()
    if action == "send":
        text = _text(text, 4096 if channel == "whatsapp" else 2000)
        if channel == "whatsapp":
            from .fake_graph.whatsapp_webhooks import wa_message_text

            return _whatsapp_send(persona, account, wa_message_text(account, persona, text), result)
        from .fake_graph.messenger_webhooks import mg_message_text

        return _messenger_send(persona, account, mg_message_text(account, persona, text), result)
    if action == "order":
        if channel != "whatsapp":
            raise ServiceError(_("Orders from a catalog exist on WhatsApp only."), field="channel")
        from .fake_graph.whatsapp_webhooks import wa_message_order

        order_items = order_items_check(items)
        message = wa_message_order(account, persona, catalog_id or default_catalog_id(account), order_items,
                                   text=(text or "").strip())
        return _whatsapp_send(persona, account, message, result)
    if action == "tap":
        if delivery is None or delivery.persona_id != persona.pk or delivery.channel != channel:
            raise ServiceError(_("Unknown message."), field="message_id")
        tapped = pick_button(meta_actions(delivery), button)
        return _tap(persona, account, delivery, tapped, result)
    raise ServiceError(_("This action does not exist on %(channel)s.") % {"channel": CHANNEL_NAMES[channel]},
                       field="action")


def _tap(persona, account, delivery, tapped: dict, result: MetaAct) -> MetaAct:
    kind = tapped["kind"]
    if kind == "url":
        from .personas import link_open

        result.link = link_open(tapped.get("url", ""))
        return result
    if kind in ("phone", "go_to_order", "other"):
        raise ServiceError(_("The simulated phone cannot tap a %(type)s button.") % {"type": kind}, field="button")
    context_id = delivery.provider_message_id
    if account.channel == "whatsapp":
        from .fake_graph.whatsapp_webhooks import wa_message_button, wa_message_interactive_reply

        if kind == "quick_reply":
            message = wa_message_button(account, persona, context_id, tapped["payload"], tapped["label"])
        else:
            message = wa_message_interactive_reply(account, persona, context_id, kind, tapped["id"], tapped["label"])
        return _whatsapp_send(persona, account, message, result)
    from .fake_graph.messenger_webhooks import mg_postback, mg_quick_reply

    if kind == "quick_reply":
        item = mg_quick_reply(account, persona, tapped["label"], tapped["payload"])
    else:
        item = mg_postback(account, persona, tapped["label"], tapped["payload"])
    return _messenger_send(persona, account, item, result)


def persona_meta_read(persona: Persona, channel: str) -> int:
    """The persona opened the chat: every delivered business message not yet read is read now, and Tidings hears
    it as the app reports it (WhatsApp `read` statuses; Messenger's watermark; Instagram's messaging_seen of the
    latest). Returns how many messages were newly read. Each is marked once (SandboxInteraction kind "read")."""
    account = meta_account(persona.workspace, channel)
    if account is None or not persona_on(persona, channel):
        return 0
    with transaction.atomic():
        unread = list(SandboxDelivery.objects.filter(persona=persona, channel=channel, account=account,
                                                     delivered=True).exclude(kind=USER_KIND)
                      .exclude(interactions__kind="read").order_by("id"))
        SandboxInteraction.objects.bulk_create([SandboxInteraction(delivery=d, kind="read") for d in unread])
    if not unread:
        return 0
    if channel == "whatsapp":
        from .fake_graph.whatsapp_webhooks import wa_status, wa_webhook_statuses

        body = wa_webhook_statuses(account, [wa_status(account, d.provider_message_id, "read", persona.whatsapp_id)
                                             for d in unread])
    else:
        from .fake_graph.messenger_webhooks import mg_read, mg_webhook_body

        body = mg_webhook_body(account, [mg_read(account, persona, unread[-1].provider_message_id)])
    _post(account, body)
    return len(unread)


# --- what can be tapped ------------------------------------------------------------------------------------------


def pick_button(actions: list[dict], button) -> dict:
    """The action a tap means: by its number (0 = the first) or its label, on any channel's message."""
    if button is None or button == "":
        raise ServiceError(_("Say which button: its label or its number (0 = the first)."), field="button")
    if isinstance(button, int) or (isinstance(button, str) and button.isdigit()):
        index = int(button)
        if 0 <= index < len(actions):
            return actions[index]
    else:
        for action in actions:
            if action.get("label") == button:
                return action
    raise ServiceError(_("This message has no such button."), field="button")


def delivery_template(delivery: SandboxDelivery) -> SandboxTemplate | None:
    """The template a WhatsApp template delivery was sent from (by the account, name and language in the send)."""
    template = (delivery.payload or {}).get("template") or {}
    language = template.get("language") or {}
    language = language.get("code", "") if isinstance(language, dict) else str(language)
    return SandboxTemplate.objects.filter(account_id=delivery.account_id, name=template.get("name", ""),
                                          language=language).first()


def _template_button_params(send: dict) -> dict[int, dict]:
    """index → the send's `button` component (a quick reply's payload, a URL's variable)."""
    out = {}
    for component in send.get("components") or []:
        if str(component.get("type", "")).lower() == "button":
            try:
                out[int(component.get("index", 0))] = component
            except (TypeError, ValueError):
                continue
    return out


def _fill_url(url: str, component: dict | None) -> str:
    if component and "{{1}}" in url:
        params = component.get("parameters") or [{}]
        return url.replace("{{1}}", str(params[0].get("text", "")))
    return url


# The button kinds the templates app authors and its phone partial shows, in its names; the partial numbers the
# buttons it shows 0, 1, 2…, so the phone's taps and these actions count the same buttons.
TEMPLATE_BUTTON_KINDS = {"QUICK_REPLY": "quick_reply", "URL": "url", "PHONE_NUMBER": "phone",
                         "ORDER_DETAILS": "go_to_order"}


def template_actions(send: dict, definition_components: list) -> list[dict]:
    """A template's buttons as the phone taps them: a quick reply answers with the payload the send gave that
    button (WhatsApp answers with the button's text when there is none); a URL button opens its link with the
    send's variable filled in. The send's `index` counts every button of the template."""
    params = _template_button_params(send)
    actions = []
    for component in definition_components or []:
        if str(component.get("type", "")).upper() != "BUTTONS":
            continue
        for index, button in enumerate(component.get("buttons") or []):
            kind = TEMPLATE_BUTTON_KINDS.get(str(button.get("type", "")).upper())
            if kind is None:
                continue
            label = button.get("text", "")
            action = {"kind": kind, "label": label}
            if kind == "quick_reply":
                payload = label
                for parameter in (params.get(index) or {}).get("parameters") or []:
                    if parameter.get("type") == "payload":
                        payload = parameter.get("payload", label)
                action["payload"] = payload
            elif kind == "url":
                action["url"] = _fill_url(button.get("url", ""), params.get(index))
            elif kind == "phone":
                action["phone"] = button.get("phone_number", "")
            actions.append(action)
    return actions


def whatsapp_actions(payload: dict, template: SandboxTemplate | None = None) -> list[dict]:
    """Every tappable thing of a WhatsApp message as sent by the business, in the order the phone shows them."""
    kind = payload.get("type")
    if kind == "interactive":
        interactive = payload.get("interactive") or {}
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            return [{"kind": "button_reply", "id": (b.get("reply") or {}).get("id", ""),
                     "label": (b.get("reply") or {}).get("title", "")} for b in action.get("buttons") or []]
        if interactive.get("type") == "list":
            return [{"kind": "list_reply", "id": row.get("id", ""), "label": row.get("title", ""),
                     "description": row.get("description", ""), "section": section.get("title", "")}
                    for section in action.get("sections") or [] for row in section.get("rows") or []]
        if interactive.get("type") == "cta_url":
            parameters = action.get("parameters") or {}
            return [{"kind": "url", "label": parameters.get("display_text", ""), "url": parameters.get("url", "")}]
        return []
    if kind == "template":
        return template_actions(payload.get("template") or {}, template.components if template else [])
    return []


def messenger_actions(payload: dict) -> list[dict]:
    """Buttons of a Messenger/Instagram message (button template; generic template elements in order), then its
    quick replies."""
    message = payload.get("message") or {}
    actions = []
    attachment = message.get("attachment") or {}
    if attachment.get("type") == "template":
        template = attachment.get("payload") or {}
        buttons = list(template.get("buttons") or [])
        for element in template.get("elements") or []:
            buttons += element.get("buttons") or []
        for button in buttons:
            if button.get("type") == "web_url":
                actions.append({"kind": "url", "label": button.get("title", ""), "url": button.get("url", "")})
            elif button.get("type") == "postback":
                actions.append({"kind": "postback", "label": button.get("title", ""),
                                "payload": button.get("payload", "")})
            elif button.get("type") == "phone_number":
                actions.append({"kind": "phone", "label": button.get("title", ""),
                                "phone": button.get("payload", "")})
            else:
                actions.append({"kind": "other", "label": button.get("title", "")})
    for reply in message.get("quick_replies") or []:
        if reply.get("content_type", "text") == "text":
            actions.append({"kind": "quick_reply", "label": reply.get("title", ""),
                            "payload": reply.get("payload", "")})
    return actions


def meta_actions(delivery: SandboxDelivery, template: SandboxTemplate | None = None) -> list[dict]:
    """Tappable buttons of a business message on the persona's phone; index = the button's number."""
    payload = delivery.payload or {}
    if delivery.channel == "whatsapp":
        if payload.get("type") == "template" and template is None:
            template = delivery_template(delivery)
        return whatsapp_actions(payload, template)
    return messenger_actions(payload)


# --- catalog orders ----------------------------------------------------------------------------------------------

# The few products the simulated phone's catalog panel offers (a sandbox has no real catalog).
DEMO_CATALOG = [
    {"product_retailer_id": "lemon-tea", "name": "凍檸茶 Iced lemon tea", "item_price": "28.00", "currency": "HKD"},
    {"product_retailer_id": "bubble-tea", "name": "珍珠奶茶 Bubble milk tea", "item_price": "32.00",
     "currency": "HKD"},
    {"product_retailer_id": "oolong", "name": "凍頂烏龍 Oolong", "item_price": "25.00", "currency": "HKD"},
    {"product_retailer_id": "egg-tart", "name": "蛋撻 Egg tart", "item_price": "12.50", "currency": "HKD"},
]


def default_catalog_id(account: ChannelAccount) -> str:
    """A stable catalog id per sandbox account (WhatsApp catalogs are numeric ids)."""
    return str(int(account.public_id.hex[:12], 16))[:15]


def order_items_check(items) -> list[dict]:
    """[{product_retailer_id, quantity, item_price, currency}], checked: 1 to 100 items, quantities ≥ 1, prices
    decimals ≥ 0 (kept as sent, WhatsApp sends numbers), a 3-letter currency."""
    from decimal import Decimal, InvalidOperation

    if not isinstance(items, list) or not items:
        raise ServiceError(_("An order needs at least one item."), field="items")
    if len(items) > 100:
        raise ServiceError(_("An order has at most 100 items."), field="items")
    checked = []
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise ServiceError(_("Each item is an object."), field=where)
        product = str(item.get("product_retailer_id") or "").strip()
        if not product:
            raise ServiceError(_("Say which product (product_retailer_id)."), field=f"{where}.product_retailer_id")
        try:
            quantity = int(item.get("quantity"))
        except (TypeError, ValueError):
            quantity = 0
        if quantity < 1:
            raise ServiceError(_("The quantity is a whole number of at least 1."), field=f"{where}.quantity")
        try:
            price = Decimal(str(item.get("item_price")))
        except (InvalidOperation, ValueError):
            price = Decimal(-1)
        if not price.is_finite() or price < 0:
            raise ServiceError(_("The price is a number of at least 0."), field=f"{where}.item_price")
        currency = str(item.get("currency") or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ServiceError(_("The currency is a 3-letter code, e.g. HKD."), field=f"{where}.currency")
        number = float(price)
        checked.append({"product_retailer_id": product, "quantity": quantity,
                        "item_price": int(number) if number.is_integer() else number, "currency": currency})
    return checked
