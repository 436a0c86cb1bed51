"""The fake Messenger / Instagram Send API: `POST /v23.0/{page-or-ig-id | me}/messages`.

Checks what Meta checks, in Meta's words and codes: the body's shape and limits (error 100), the recipient is a
persona on this channel (100 / 2018001 "No matching user found"), and the standard messaging window: outside 24 hours
of the persona's last message only a MESSAGE_TAG send with an allowed tag goes (10 / 2018278 "This message is sent
outside of allowed window"); HUMAN_AGENT up to 7 days. Instagram: text ≤ 1,000 bytes, HUMAN_AGENT is its only
tag, no call buttons or email/phone quick replies.

An accepted message answers `{recipient_id, message_id: "m_…"}`, is recorded as the persona's SandboxDelivery
(payload `{"message", "messaging_type", "tag"?}`) and, on Messenger, is reported delivered by a signed
message_deliveries webhook about a second later on the workspace clock. Instagram has no delivery webhooks.
"""

import datetime
from urllib.parse import urlsplit

from tidings.channels.models import ChannelAccount
from tidings.core import clock

from ..models import Persona, SandboxDelivery
from .common import Answer, graph_error, graph_endpoint
from .messenger_webhooks import mg_delivery, mg_mid, mg_webhook_body

RATE_LIMIT = 300  # Send API calls per second per Page / Instagram account
DELIVERED_AFTER = datetime.timedelta(seconds=1)
WINDOW = datetime.timedelta(hours=24)
HUMAN_AGENT_WINDOW = datetime.timedelta(days=7)
TAGS = {
    "messenger": ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"),
    "instagram": ("HUMAN_AGENT",),
}
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
PERSONA_ID = {"messenger": "messenger_psid", "instagram": "instagram_igsid"}
LAST_MESSAGE = {"messenger": "messenger_last_message_at", "instagram": "instagram_last_message_at"}
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
MEDIA = ("image", "video", "audio", "file")
NO_USER = (100, 2018001, "(#100) No matching user found")
OUTSIDE_WINDOW = (10, 2018278, "(#10) This message is sent outside of allowed window. Learn more about the new "
                               "policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview")


class Refused(Exception):
    def __init__(self, message: str, code: int = 100, subcode: int | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.code, self.subcode, self.status = message, code, subcode, status

    def answer(self) -> Answer:
        return graph_error(self.status, self.message, code=self.code, subcode=self.subcode)


def _param(name: str, rule: str) -> Refused:
    return Refused(f"(#100) Param {name} {rule}")


def _string(value, name: str, limit: int, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise _param(name, "must be a non-empty string")
    if len(value) > limit:
        raise Refused(f"(#100) Length of param {name} must be less than or equal to {limit}")


def _url(value, name: str) -> None:
    _string(value, name, 2000)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _param(name, "must be a valid URL")


def _button(channel: str, button, name: str) -> None:
    if not isinstance(button, dict):
        raise _param(name, "must be an object")
    kind = button.get("type")
    _string(button.get("title"), f"{name}[title]", 20)
    if kind == "web_url":
        _url(button.get("url"), f"{name}[url]")
    elif kind == "postback":
        _string(button.get("payload"), f"{name}[payload]", 1000)
    elif kind == "phone_number" and channel == "messenger":
        payload = button.get("payload")
        if not isinstance(payload, str) or not payload.startswith("+") or not payload[1:].isdigit():
            raise _param(f"{name}[payload]", "must be a phone number in the format +{country code}{number}")
    else:
        allowed = "web_url, postback, phone_number" if channel == "messenger" else "web_url, postback"
        raise _param(f"{name}[type]", f"must be one of {{{allowed}}}")


def _buttons(channel: str, buttons, name: str, *, required: bool) -> None:
    if buttons is None and not required:
        return
    if not isinstance(buttons, list) or not (1 <= len(buttons) <= 3):
        raise _param(name, "must be an array of 1 to 3 buttons")
    for i, button in enumerate(buttons):
        _button(channel, button, f"{name}[{i}]")


def _template(channel: str, payload: dict) -> None:
    name = "message[attachment][payload]"
    kind = payload.get("template_type")
    if kind == "button":
        _string(payload.get("text"), f"{name}[text]", 640)
        _buttons(channel, payload.get("buttons"), f"{name}[buttons]", required=True)
    elif kind == "generic":
        elements = payload.get("elements")
        if not isinstance(elements, list) or not (1 <= len(elements) <= 10):
            raise _param(f"{name}[elements]", "must be an array of 1 to 10 elements")
        for i, element in enumerate(elements):
            where = f"{name}[elements][{i}]"
            if not isinstance(element, dict):
                raise _param(where, "must be an object")
            _string(element.get("title"), f"{where}[title]", 80)
            _string(element.get("subtitle"), f"{where}[subtitle]", 80, required=False)
            if element.get("image_url") is not None:
                _url(element["image_url"], f"{where}[image_url]")
            _buttons(channel, element.get("buttons"), f"{where}[buttons]", required=False)
    else:
        # Meta has more (media, receipt, product…); Tidings sends only these, so the fake simulates only these.
        raise _param(f"{name}[template_type]", "must be one of {button, generic} in the sandbox")


def _quick_replies(channel: str, replies) -> None:
    if not isinstance(replies, list) or not (1 <= len(replies) <= 13):
        raise _param("message[quick_replies]", "must be an array of 1 to 13 quick replies")
    for i, reply in enumerate(replies):
        name = f"message[quick_replies][{i}]"
        if not isinstance(reply, dict):
            raise _param(name, "must be an object")
        kind = reply.get("content_type")
        if kind == "text":
            _string(reply.get("title"), f"{name}[title]", 20)
            _string(reply.get("payload"), f"{name}[payload]", 1000)
        elif kind not in ("user_phone_number", "user_email") or channel != "messenger":
            allowed = "text, user_phone_number, user_email" if channel == "messenger" else "text"
            raise _param(f"{name}[content_type]", f"must be one of {{{allowed}}}")


def check_message(channel: str, message) -> None:
    """Raise Refused for what Meta's Send API would refuse in `message`."""
    if not isinstance(message, dict):
        raise _param("message", "must be an object")
    has_text, attachment = "text" in message, message.get("attachment")
    if has_text == (attachment is not None):
        raise Refused("(#100) Message must contain exactly one of text or attachment")
    if has_text:
        text = message["text"]
        if channel == "instagram":
            _string(text, "message[text]", 10 ** 6)
            if len(text.encode("utf-8")) > 1000:
                raise Refused("(#100) Length of param message[text] must be less than or equal to 1000 bytes")
        else:
            _string(text, "message[text]", 2000)
    else:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
            raise _param("message[attachment]", "must be an object with a type and a payload")
        kind, payload = attachment.get("type"), attachment["payload"]
        if kind in MEDIA:
            if payload.get("attachment_id") is None:
                _url(payload.get("url"), "message[attachment][payload][url]")
        elif kind == "template":
            _template(channel, payload)
        else:
            raise _param("message[attachment][type]", "must be one of {image, video, audio, file, template}")
    if message.get("quick_replies") is not None:
        _quick_replies(channel, message["quick_replies"])


def _persona(account: ChannelAccount, recipient) -> Persona:
    if not isinstance(recipient, dict) or not recipient.get("id"):
        raise Refused("(#100) The parameter recipient is required and must contain an id")
    persona = (Persona.objects.for_workspace(account.workspace)
               .filter(**{PERSONA_ID[account.channel]: str(recipient["id"])}).first())
    if persona is None:
        raise Refused(NO_USER[2], NO_USER[0], NO_USER[1])
    return persona


def _check_window(account: ChannelAccount, persona: Persona, messaging_type: str, tag) -> None:
    last = getattr(persona, LAST_MESSAGE[account.channel])
    age = clock.now(account.workspace) - last if last is not None else None
    if age is not None and age < WINDOW:
        return
    outside = Refused(OUTSIDE_WINDOW[2], OUTSIDE_WINDOW[0], OUTSIDE_WINDOW[1])
    if messaging_type != "MESSAGE_TAG":
        raise outside
    if tag == "HUMAN_AGENT" and (age is None or age >= HUMAN_AGENT_WINDOW):
        raise outside


def fake_send(account: ChannelAccount, body: dict) -> Answer:
    """Check and accept one Send API request (body already a JSON object)."""
    channel = account.channel
    try:
        if body.get("sender_action") is not None:
            if body["sender_action"] not in SENDER_ACTIONS:
                raise _param("sender_action", "must be one of {typing_on, typing_off, mark_seen}")
            _persona(account, body.get("recipient"))
            return Answer(200, {"recipient_id": str(body["recipient"]["id"])})
        messaging_type = body.get("messaging_type")
        if messaging_type not in MESSAGING_TYPES:
            raise _param("messaging_type", "must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
        tag = body.get("tag")
        if messaging_type == "MESSAGE_TAG" and tag not in TAGS[channel]:
            raise _param("tag", f"must be one of {{{', '.join(TAGS[channel])}}}")
        if messaging_type != "MESSAGE_TAG" and tag is not None:
            raise _param("tag", "is only allowed with messaging_type MESSAGE_TAG")
        check_message(channel, body.get("message"))
        persona = _persona(account, body.get("recipient"))
        _check_window(account, persona, messaging_type, tag)
    except Refused as refused:
        return refused.answer()
    mid = mg_mid()
    payload = {"message": body["message"], "messaging_type": messaging_type}
    if tag:
        payload["tag"] = tag
    delivery = SandboxDelivery(account=account, persona=persona, provider=channel, channel=channel, kind="push",
                               payload=payload, provider_message_id=mid, delivered=True)
    webhooks = []
    if channel == "messenger":
        item = mg_delivery(account, persona, [mid], DELIVERED_AFTER)
        webhooks.append((mg_webhook_body(account, [item]), DELIVERED_AFTER))
    return Answer(200, {"recipient_id": str(body["recipient"]["id"]), "message_id": mid}, deliveries=[delivery],
                  webhooks=webhooks)


@graph_endpoint("messenger_messages", "POST", channels=("messenger", "instagram"), rate_limit=RATE_LIMIT, body=True)
def messages(account: ChannelAccount, request, body: dict, page_id: str) -> Answer:
    if page_id not in (account.external_id, "me"):
        return graph_error(400, f"Unsupported post request. Object with ID '{page_id}' does not exist, cannot be "
                                "loaded due to missing permissions, or does not support this operation.",
                           code=100, subcode=33, type_="GraphMethodException")
    return fake_send(account, body)
