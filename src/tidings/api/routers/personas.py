"""The sandbox's simulated customers (personas), what they do, and what the fake providers received.

Sandbox workspaces only: in any other workspace every route answers 404. The routes need
`Permission.CHANNELS_MANAGE` (Admin, Supervisor): acting as customers of a channel account is part of running it.
"""

import datetime
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


class PersonaOut(Schema):
    id: int
    name: str
    phone: str = Field(..., description="E.164")
    contact_id: int | None
    line: LineStateOut | None = Field(..., description="null when the persona has no LINE account")
    sms: SmsStateOut
    created_at: datetime.datetime




class PersonaCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., max_length=120)
    phone: str = Field(..., max_length=32, description="E.164, or local to the workspace's default region")
    line: bool = Field(True, description="Has a LINE account")
    friend: bool = Field(True, description="Is a friend of the sandbox LINE account (follows it by webhook)")
    blocked: bool = Field(False, description="Blocked the LINE account after following it")
    pnp_consent: bool = Field(False, description="Agreed to receive LINE notification messages")


class ActionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(..., description=" | ".join(ACTIONS))
    channel: str = Field("line", description=" | ".join(CHANNELS))
    text: str = Field("", max_length=5000, description="send: the text")
    message_id: int | None = Field(None, description="tap: the id of the Tidings message the button is on")
    button: str | int | None = Field(None, description="tap: the button's label, or its number (0 = first)")
    url: str = Field("", max_length=1000, description="open_link: the URL")


class LinkOut(Schema):
    url: str
    status: int | None = Field(..., description="What our tracked-link redirect answered; null for other URLs")
    location: str = Field(..., description="Where the phone's browser ends up")


class ActionOut(Schema):
    action: str
    channel: str
    webhook_status: int | None = Field(..., description="What Tidings' webhook endpoint answered; null if none sent")
    events: list[dict[str, Any]] = Field(..., description="The provider events sent (LINE events, Twilio fields)")
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
        "sms": {"phone": persona.phone}, "created_at": persona.created_at,
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
             summary="Act as the persona: send, follow, unfollow, block, tap, open_link, consent_pnp")
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
