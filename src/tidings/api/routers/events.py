"""Website and shop events (SPEC D5): the server-to-server Events API.

`POST /api/v1/events` stores a batch of at most 100 events, all or nothing: any bad item answers 422 naming every
bad field (`events.3.type`, `events.0.contact_id`…) and nothing is stored, so a sender fixes the batch and sends it
again whole. Items with an `event_id` already stored are skipped (counted in `duplicates`), so retries are safe.
`GET /api/v1/events` lists them, newest first, for a contact or a visitor.
"""

import datetime
from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from tidings.contacts.models import EventSource
from tidings.contacts.selectors import contact_resolve
from tidings.contacts.tracking import MAX_BATCH, EventsInvalid, events_list, events_record, visitor_get
from tidings.core.permissions import Permission

from ..errors import COMMON_ERRORS, ApiError, ObjectNotFound
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["events"])

EventTypeName = Literal["view_product", "add_to_cart", "remove_from_cart", "checkout", "purchase"]


class EventIn(Schema):
    # `type` is a plain string here so an unknown one gets our message listing the five types.
    type: str = Field(..., description="view_product, add_to_cart, remove_from_cart, checkout or purchase")
    contact_id: int | None = Field(None, description="A contact's id (a merged contact's id reaches the kept one)")
    member_id: str | None = Field(None, description="The shop's member id of an existing contact")
    visitor_id: str | None = Field(None, description="The tracking script's visitor id (created when new); with "
                                                     "contact_id / member_id, an anonymous visitor joins that contact")
    properties: dict = Field(default_factory=dict, description="Anything about the event, at most 16 KB as JSON: "
                                                               "items, value, currency, cart_token…")
    occurred_at: datetime.datetime | None = Field(None, description="ISO 8601; default now")
    event_id: str | None = Field(None, max_length=200, description="Your id for the event: a repeat is skipped")


class EventsIn(Schema):
    events: list[EventIn] = Field(..., min_length=1, max_length=MAX_BATCH,
                                  description=f"1 to {MAX_BATCH} events; one bad item refuses the whole batch")


class EventsStoredOut(Schema):
    stored: int
    duplicates: int = Field(..., description="Items skipped because their event_id was stored before")
    ids: list[int]


class EventOut(Schema):
    id: int
    type: EventTypeName
    contact_id: int | None
    visitor_id: str | None = Field(None, description="The visitor id (not the row id)")
    properties: dict
    source: Literal["web", "api", "shopify"]
    occurred_at: datetime.datetime
    received_at: datetime.datetime

    @staticmethod
    def resolve_visitor_id(obj):
        return obj.visitor.visitor_id if obj.visitor_id else None


EventPage = page_of(EventOut)


@router.post("/events", response={201: EventsStoredOut, **COMMON_ERRORS}, summary="Send website or shop events")
@requires(Permission.EVENTS_SEND)
def send_events(request, payload: EventsIn):
    items = [event.model_dump(exclude_none=True) for event in payload.events]
    try:
        stored = events_record(workspace=request.auth.workspace, events=items, source=EventSource.API)
    except EventsInvalid as exc:
        raise ApiError(422, _("The request is not valid."),
                       [{"field": field, "message": message} for field, message in exc.errors]) from None
    return Status(201, {"stored": len(stored), "duplicates": len(items) - len(stored),
                        "ids": [event.pk for event in stored if event.pk]})


@router.get("/events", response={200: EventPage, **COMMON_ERRORS},
            summary="List events of a contact or a visitor, newest first")
@requires(Permission.CONTACTS_VIEW)
def list_events(request, page: Query[PageParams], contact_id: int | None = None, visitor_id: str | None = None,
                type: EventTypeName | None = None):
    workspace = request.auth.workspace
    contact = visitor = None
    if contact_id is not None:
        contact = contact_resolve(workspace, contact_id)
        if contact is None:
            raise ObjectNotFound()
    if visitor_id is not None:
        visitor = visitor_get(workspace, visitor_id)
        if visitor is None:
            raise ObjectNotFound()
    return paginate(events_list(workspace, contact=contact, visitor=visitor, type=type or ""), page)
