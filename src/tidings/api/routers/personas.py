"""The sandbox's simulated customers (personas), what they do, and what the fake providers received.

Sandbox workspaces only: in any other workspace every route answers 404. The routes need
`Permission.CHANNELS_MANAGE` (Admin, Supervisor): acting as customers of a channel account is part of running it.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.core.models import Workspace
from tidings.core.permissions import Permission
from tidings.sandbox.personas import (
    ACTIONS,
    CHANNELS,
    persona_act,
    persona_create,
    persona_get,
    personas_list,
    sandbox_requests,
)
from tidings.sandbox.personas_meta import persona_meta_state

from ..errors import COMMON_ERRORS, ObjectNotFound
from ..permissions import requires

router = Router(tags=["sandbox"])


class LineStateOut(Schema):
    user_id: str = Field(..., description="The persona's LINE user id for the sandbox LINE account (U + 32 hex)")
    friend: bool
    blocked: bool
    pnp_consent: bool = Field(..., description="Agreed to receive LINE notification messages (PNP)")


class SmsStateOut(Schema):
    phone: str


WINDOW_HELP = ("Its last message on this channel is within 24 hours of the workspace clock: the business may send "
               "anything; outside it, WhatsApp takes only templates and Messenger/Instagram only message tags")


class WhatsAppStateOut(Schema):
    wa_id: str = Field(..., description="The persona's WhatsApp id (its phone number's digits)")
    in_window: bool = Field(..., description=WINDOW_HELP)


class MessengerStateOut(Schema):
    psid: str = Field(..., description="The persona's page-scoped id for the sandbox Facebook Page")
    in_window: bool = Field(..., description=WINDOW_HELP)


class InstagramStateOut(Schema):
    igsid: str = Field(..., description="The persona's Instagram-scoped id for the sandbox Instagram account")
    in_window: bool = Field(..., description=WINDOW_HELP)


class PersonaOut(Schema):
    id: int
    name: str
    phone: str = Field(..., description="E.164")
    contact_id: int | None
    line: LineStateOut | None = Field(..., description="null when the persona has no LINE account")
    sms: SmsStateOut
    whatsapp: WhatsAppStateOut | None = Field(..., description="null when the persona is not on WhatsApp")
    messenger: MessengerStateOut | None = Field(..., description="null when the persona is not on Messenger")
    instagram: InstagramStateOut | None = Field(..., description="null when the persona is not on Instagram")
    created_at: datetime.datetime


IN_WINDOW_HELP = ("The persona wrote just now (its first message reaches Tidings by the signed webhook), so its "
                  "24-hour window is open")


class WhatsAppIn(Schema):
    model_config = ConfigDict(extra="forbid")

    wa_id: str | None = Field(None, max_length=20, description="Digits; default: the phone number's digits")
    in_window: bool = Field(False, description=IN_WINDOW_HELP)


class MessengerIn(Schema):
    model_config = ConfigDict(extra="forbid")

    psid: str | None = Field(None, max_length=20, description="Digits; default: generated")
    in_window: bool = Field(False, description=IN_WINDOW_HELP)


class InstagramIn(Schema):
    model_config = ConfigDict(extra="forbid")

    igsid: str | None = Field(None, max_length=20, description="Digits; default: generated")
    in_window: bool = Field(False, description=IN_WINDOW_HELP)


class OrderItemIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product_retailer_id: str = Field(..., max_length=100)
    quantity: int
    item_price: Decimal
    currency: str = Field(..., max_length=3, description="ISO 4217, e.g. HKD")



class PersonaCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., max_length=120)
    phone: str = Field(..., max_length=32, description="E.164, or local to the workspace's default region")
    line: bool = Field(True, description="Has a LINE account")
    friend: bool = Field(True, description="Is a friend of the sandbox LINE account (follows it by webhook)")
    blocked: bool = Field(False, description="Blocked the LINE account after following it")
    pnp_consent: bool = Field(False, description="Agreed to receive LINE notification messages")
    whatsapp: WhatsAppIn | None = Field(None, description="On WhatsApp (needs a sandbox WhatsApp account)")
    messenger: MessengerIn | None = Field(None, description="On Messenger (needs a sandbox Messenger account)")
    instagram: InstagramIn | None = Field(None, description="On Instagram (needs a sandbox Instagram account)")


class ActionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(..., description=" | ".join(ACTIONS))
    channel: str = Field("line", description=" | ".join(CHANNELS))
    text: str = Field("", max_length=5000, description="send: the text")
    message_id: int | None = Field(None, description="tap: the id of the Tidings message the button is on")
    button: str | int | None = Field(None, description="tap: the button's label, or its number (0 = first). "
                                     "WhatsApp: a reply button, list row or template button; Messenger/Instagram: "
                                     "a button, then the quick replies")
    url: str = Field("", max_length=1000, description="open_link: the URL")
    items: list[OrderItemIn] | None = Field(None, description="order (WhatsApp): the products ordered")
    catalog_id: str = Field("", max_length=40, description="order (WhatsApp): default the sandbox's demo catalog")


class LinkOut(Schema):
    url: str
    status: int | None = Field(..., description="What our tracked-link redirect answered; null for other URLs")
    location: str = Field(..., description="Where the phone's browser ends up")


class ActionOut(Schema):
    action: str
    channel: str
    webhook_status: int | None = Field(..., description="What Tidings' webhook endpoint answered; null if none sent")
    events: list[dict[str, Any]] = Field(..., description="What was sent: LINE events, Twilio fields, or the "
                                         "whole Graph webhook body (WhatsApp, Messenger, Instagram)")
    link: LinkOut | None
    persona: PersonaOut


class RequestOut(Schema):
    id: int
    provider: str
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, Any]
    body: Any
    response_status: int
    response_body: Any
    at: datetime.datetime




def _sandbox(request) -> Workspace:
    workspace = request.auth.workspace
    if not workspace.is_sandbox:
        raise ObjectNotFound(_("This workspace is not a sandbox, so it has no personas."))
    return workspace


def persona_out(persona) -> dict:
    return {
        "id": persona.pk, "name": persona.name, "phone": persona.phone, "contact_id": persona.contact_id,
        "line": {"user_id": persona.line_user_id, "friend": persona.line_friend, "blocked": persona.line_blocked,
                 "pnp_consent": persona.pnp_consent} if persona.line_user_id else None,
        "sms": {"phone": persona.phone}, **persona_meta_state(persona), "created_at": persona.created_at,
    }


# The sandbox lists answer bare JSON arrays, as issue 3 specifies them ("a list of …") for external test suites;
# a sandbox holds tens of personas, and the request log is read newest first with a `limit`.
@router.get("/sandbox/personas", response={200: list[PersonaOut], **COMMON_ERRORS}, summary="List personas")
@requires(Permission.CHANNELS_MANAGE)
def list_personas(request):
    return [persona_out(p) for p in personas_list(_sandbox(request))]


@router.post("/sandbox/personas", response={201: PersonaOut, **COMMON_ERRORS}, summary="Add a persona")
@requires(Permission.CHANNELS_MANAGE)
def create_persona(request, payload: PersonaCreate):
    persona = persona_create(workspace=_sandbox(request), **payload.model_dump())
    return Status(201, persona_out(persona))


@router.get("/sandbox/personas/{persona_id}", response={200: PersonaOut, **COMMON_ERRORS}, summary="One persona")
@requires(Permission.CHANNELS_MANAGE)
def get_persona(request, persona_id: int):
    persona = persona_get(_sandbox(request), persona_id)
    if persona is None:
        raise ObjectNotFound()
    return persona_out(persona)


@router.post("/sandbox/personas/{persona_id}/actions", response={200: ActionOut, **COMMON_ERRORS},
             summary="Act as the persona: send, follow, unfollow, block, tap, open_link, consent_pnp, order")
@requires(Permission.CHANNELS_MANAGE)
def act(request, persona_id: int, payload: ActionIn):
    workspace = _sandbox(request)
    persona = persona_get(workspace, persona_id)
    if persona is None:
        raise ObjectNotFound()
    result = persona_act(workspace=workspace, persona=persona, **payload.model_dump())
    persona.refresh_from_db()
    return {"action": result.action, "channel": result.channel, "webhook_status": result.webhook_status,
            "events": result.events, "link": result.link, "persona": persona_out(persona)}


@router.get("/sandbox/requests", response={200: list[RequestOut], **COMMON_ERRORS},
            summary="Requests the fake providers received, newest first")
@requires(Permission.CHANNELS_MANAGE)
def list_requests(request, provider: str = "", path: str = "", limit: int = Query(100, ge=1, le=1000)):
    rows = sandbox_requests(_sandbox(request), provider=provider, path=path)[:limit]
    return [_request_out(r) for r in rows]


def _request_out(row) -> dict:
    return {"id": row.pk, "provider": row.provider, "method": row.method, "path": row.path, "query": row.query,
            "headers": row.headers, "body": row.body, "response_status": row.response_status,
            "response_body": row.response_body, "at": row.created_at}
