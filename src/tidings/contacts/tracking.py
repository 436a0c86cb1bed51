"""Website visitors and their events (SPEC D5): services (writes) and selectors (reads) in one module.

A visitor is a browser known by the tracking script's first-party cookie. It is anonymous until the shop's page
identifies it (`visitor_identify`: member id / email / phone) or a binding attaches it to a chat contact
(`visitor_attach_contact`); then its events, past and future, are on that contact's timeline.

Events come from three senders, each with its own `EventSource` and dedupe space: the script (`web`, deduped on
the script's event id), the Events API (`api`, on the optional `event_id`) and Shopify webhooks (`shopify`, on
the cart / checkout / order). Website events are not chat interactions: they never touch the contact's
interaction times.
"""

import datetime
import json
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tidings.core import clock
from tidings.core.errors import ServiceError

from .models import ChannelIdentity, Contact, EventSource, EventType, MergeReason, TrackingEvent, Visitor

MAX_BATCH = 100  # events per request (script and API)
MAX_PROPERTIES_BYTES = 16_384  # one event's properties as compact JSON
MAX_EVENT_ID = 200
EARLIEST = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)  # older than this is a broken clock, not history
FUTURE_SLACK = datetime.timedelta(days=1)  # senders' clocks run a little ahead; a day is the most we believe
TOUCH_EVERY = datetime.timedelta(minutes=1)  # last_seen_at is refreshed at most this often (one write saved)
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SUBJECT_KEYS = ("contact_id", "member_id", "visitor_id")


class EventsInvalid(ServiceError):
    """Several events refused at once. `errors` lists (field, message) for each bad item; `field` and `message`
    are the first one's, so a caller that only knows ServiceError still names a field."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__(errors[0][1], field=errors[0][0])
        self.errors = errors


@dataclass
class CollectResult:
    stored: int
    duplicates: int
    errors: list[tuple[str, str]] = field(default_factory=list)


# --- visitors ------------------------------------------------------------------------------------------------


def visitor_id_clean(value, *, field: str = "visitor_id") -> str:
    value = value.strip() if isinstance(value, str) else ""
    if not VISITOR_ID.match(value):
        raise ServiceError(_("A visitor id is 8 to 64 letters, digits, '-' or '_'."), field=field)
    return value


def _root(contact: Contact | None) -> Contact | None:
    """Follow merges to the contact shown now."""
    seen = set()
    while contact is not None and contact.merged_into_id and contact.pk not in seen:
        seen.add(contact.pk)
        contact = contact.merged_into
    return contact


@transaction.atomic
def visitor_touch(*, workspace, visitor_id: str) -> Visitor:
    """The visitor with this id, created when first seen; its last_seen_at moves to now."""
    visitor_id = visitor_id_clean(visitor_id)
    now = clock.now(workspace)
    visitor = Visitor.objects.for_workspace(workspace).filter(visitor_id=visitor_id).select_related("contact").first()
    if visitor is None:
        try:
            with transaction.atomic():
                return Visitor.objects.create(workspace=workspace, visitor_id=visitor_id, first_seen_at=now,
                                              last_seen_at=now)
        except IntegrityError:  # the same browser's parallel request created it
            visitor = Visitor.objects.select_related("contact").get(workspace=workspace, visitor_id=visitor_id)
    if visitor.last_seen_at < now - TOUCH_EVERY:
        Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=now)
        visitor.last_seen_at = now
    return visitor


def _has_identities(contact: Contact) -> bool:
    return ChannelIdentity.objects.filter(contact=contact).exists()


def _kept_and_merged(current: Contact, named: Contact) -> tuple[Contact, Contact]:
    """Which of two contacts survives a merge: the one reachable on a chat channel (its messages stay on it and
    merges move identities, not messages), else the older one (the longer history)."""
    chat = [c for c in (current, named) if _has_identities(c)]
    if len(chat) == 1:
        kept = chat[0]
    else:
        kept = min((current, named), key=lambda c: (c.created_at, c.pk))
    return kept, (named if kept is current else current)


@transaction.atomic
def visitor_attach_contact(*, workspace, visitor: Visitor, contact: Contact, reason: str, detail: str = "") -> Contact:
    """Give the visitor (and its anonymous events) a contact. A visitor that already has another contact means
    the two contacts are one person: they are merged (`reason`, `detail` recorded) and the kept one returned."""
    from .merging import contacts_merge

    visitor = Visitor.objects.select_for_update(of=("self",)).select_related("contact").get(
        pk=visitor.pk, workspace=workspace)
    contact = _root(contact)
    if contact.workspace_id != workspace.pk:
        raise ServiceError(_("This contact belongs to another workspace."), field="contact")
    current = _root(visitor.contact)
    if current is not None and current.pk != contact.pk:
        kept, merged = _kept_and_merged(current, contact)
        contacts_merge(workspace=workspace, kept=kept, merged=merged, reason=reason, detail=detail)
        contact = kept
    if visitor.contact_id != contact.pk:
        Visitor.objects.filter(pk=visitor.pk).update(contact=contact)
    # The visitor's events from before anyone knew who it was join the contact's timeline.
    TrackingEvent.objects.filter(visitor=visitor, contact__isnull=True).update(contact=contact)
    return contact


@transaction.atomic
def visitor_detach_contact(*, workspace, visitor: Visitor) -> None:
    """Make the browser anonymous again (unbinding what attached it): it loses its contact, and so do the events
    its script sent. Events a server named the contact for (API, Shopify) stay on the contact's timeline."""
    visitor = Visitor.objects.select_for_update(of=("self",)).get(pk=visitor.pk, workspace=workspace)
    if visitor.contact_id is None:
        return
    TrackingEvent.objects.filter(visitor=visitor, contact_id=visitor.contact_id, source=EventSource.WEB).update(
        contact=None)
    Visitor.objects.filter(pk=visitor.pk).update(contact=None)


def _other_person(current: Contact, named: Contact) -> bool:
    """Two member ids on one browser are two people (a shared computer), not one to merge."""
    return bool(current.member_id and named.member_id and current.member_id != named.member_id)


@transaction.atomic
def visitor_identify(*, workspace, visitor_id: str, member_id: str = "", email: str = "", phone: str = "",
                     name: str = "") -> Visitor:
    """The shop's page says who this browser's person is (the script's `init`).

    - An anonymous visitor gets the contact `contact_identify` finds or creates, with its earlier events.
    - A visitor already known as another contact (say, bound through LINE before logging in) and now named by
      a member id is the same person: the two contacts are merged (reason: member id). If both contacts carry
      different member ids, another member logged in on the same browser: the visitor now speaks for the new one
      and nothing is merged.
    - Without a member id (email / phone / name only, which any page could claim), a known visitor's contact only
      gets the details it lacks; browser-given email and phone never merge contacts.
    """
    from .services import contact_identify, contact_update

    visitor = visitor_touch(workspace=workspace, visitor_id=visitor_id)
    current = _root(visitor.contact)
    member_id = (member_id or "").strip()
    if current is not None and not member_id:
        fill = {key: value for key, value in (("email", email), ("phone", phone), ("name", name))
                if (value or "").strip() and not getattr(current, key)}
        if fill:
            contact_update(workspace=workspace, contact=current, **fill)
        return visitor
    contact = contact_identify(workspace=workspace, member_id=member_id, phone=phone, email=email, name=name)
    if contact is None:
        return visitor
    if current is not None and _other_person(current, contact):
        Visitor.objects.filter(pk=visitor.pk).update(contact=contact)
    else:
        contact = visitor_attach_contact(workspace=workspace, visitor=visitor, contact=contact,
                                         reason=MergeReason.MEMBER_ID, detail=member_id)
    visitor.refresh_from_db()
    return visitor


# --- events --------------------------------------------------------------------------------------------------


def _occurred_at(value, *, now, shift: datetime.timedelta | None):
    """(datetime, None) or (None, error message)."""
    if value is None or value == "":
        return now, None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is None:
            return None, _("Use an ISO 8601 date and time, e.g. 2025-05-01T09:30:00+08:00.")
        value = parsed
    if not isinstance(value, datetime.datetime):
        return None, _("Use an ISO 8601 date and time, e.g. 2025-05-01T09:30:00+08:00.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    if shift:
        value += shift
    if value < EARLIEST:
        return None, _("This is before the year 2000: check the sender's clock.")
    if value > now + FUTURE_SLACK:
        return None, _("This is in the future: check the sender's clock.")
    return value, None


@dataclass
class _Row:
    index: int
    type: str
    properties: dict
    occurred_at: datetime.datetime
    dedupe_key: str
    contact: Contact | None = None
    contact_id: int | None = None
    member_id: str = ""
    visitor: Visitor | None = None
    visitor_id: str = ""
    unknown: bool = False  # names a contact that does not exist


def _check_item(index: int, item, *, prefix: str, now, shift) -> tuple[_Row | None, list[tuple[str, str]]]:
    """Validate what can be checked without the database."""
    at = f"{prefix}.{index}"
    if not isinstance(item, dict):
        return None, [(at, _("Each event is an object."))]
    errors = []
    kind = item.get("type")
    if kind not in EventType.values:
        errors.append((f"{at}.type", _("Unknown event type %(type)s: use %(types)s.") % {
            "type": json.dumps(kind, ensure_ascii=False)[:60], "types": ", ".join(EventType.values)}))
    properties = item.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        errors.append((f"{at}.properties", _("Properties are an object of name: value.")))
    else:
        try:
            size = len(json.dumps(properties, separators=(",", ":"), ensure_ascii=False).encode())
        except (TypeError, ValueError):
            size = None
            errors.append((f"{at}.properties", _("Properties must be plain JSON values.")))
        if size is not None and size > MAX_PROPERTIES_BYTES:
            errors.append((f"{at}.properties", _("At most %(n)d bytes of properties per event.") % {
                "n": MAX_PROPERTIES_BYTES}))
    occurred_at, problem = _occurred_at(item.get("occurred_at"), now=now, shift=shift)
    if problem:
        errors.append((f"{at}.occurred_at", problem))
    event_id = item.get("event_id")
    event_id = "" if event_id is None else str(event_id).strip()
    if len(event_id) > MAX_EVENT_ID:
        errors.append((f"{at}.event_id", _("At most %(n)d characters.") % {"n": MAX_EVENT_ID}))
    row = _Row(index=index, type=kind, properties=properties if isinstance(properties, dict) else {},
               occurred_at=occurred_at, dedupe_key=event_id)
    contact, visitor = item.get("contact"), item.get("visitor")
    if isinstance(contact, Contact):
        row.contact = contact
    elif item.get("contact_id") not in (None, ""):
        raw = item["contact_id"]
        if isinstance(raw, bool) or not str(raw).isdigit():
            errors.append((f"{at}.contact_id", _("A contact id is a whole number.")))
        else:
            row.contact_id = int(raw)
    elif item.get("member_id") not in (None, ""):
        row.member_id = str(item["member_id"]).strip()
    if isinstance(visitor, Visitor):
        row.visitor = visitor
    elif item.get("visitor_id") not in (None, ""):
        try:
            row.visitor_id = visitor_id_clean(item["visitor_id"], field=f"{at}.visitor_id")
        except ServiceError as exc:
            errors.append((exc.field, str(exc.message)))
    named = isinstance(contact, Contact) or isinstance(visitor, Visitor) or any(
        item.get(k) not in (None, "") for k in SUBJECT_KEYS)
    if not named:
        errors.append((f"{at}.contact_id", _("Name whose event this is: contact_id, member_id or visitor_id.")))
    return (None if errors else row), errors


def _resolve(workspace, rows: list[_Row], *, prefix: str) -> list[tuple[str, str]]:
    """Find contacts and visitors for every row with a handful of queries; errors for unknown contacts.
    Creates the visitors not seen before (a visitor id is minted by the browser, so a new one is no error)."""
    errors = []
    contacts = Contact.objects.for_workspace(workspace).select_related("merged_into")
    by_pk = {c.pk: c for c in contacts.filter(pk__in={r.contact_id for r in rows if r.contact_id})}
    by_member = {}
    for c in contacts.filter(member_id__in={r.member_id for r in rows if r.member_id}).order_by("-pk"):
        # A live contact wins over one merged away that kept the same member id.
        if c.member_id not in by_member or not c.merged_into_id:
            by_member[c.member_id] = c
    wanted = {r.visitor_id for r in rows if r.visitor_id}
    visitors = {}
    if wanted:
        scoped = Visitor.objects.for_workspace(workspace).select_related("contact")
        visitors = {v.visitor_id: v for v in scoped.filter(visitor_id__in=wanted)}
        missing = wanted - set(visitors)
        if missing:
            now = clock.now(workspace)
            Visitor.objects.bulk_create(
                [Visitor(workspace=workspace, visitor_id=v, first_seen_at=now, last_seen_at=now) for v in missing],
                ignore_conflicts=True)
            visitors.update({v.visitor_id: v for v in scoped.filter(visitor_id__in=missing)})
    for row in rows:
        at = f"{prefix}.{row.index}"
        if row.contact_id:
            row.contact = by_pk.get(row.contact_id)
            row.unknown = row.contact is None
            if row.unknown:
                errors.append((f"{at}.contact_id", _("No contact with id %(id)s.") % {"id": row.contact_id}))
        elif row.member_id:
            row.contact = by_member.get(row.member_id)
            row.unknown = row.contact is None
            if row.unknown:
                errors.append((f"{at}.member_id", _("No contact with member id %(id)s.") % {
                    "id": json.dumps(row.member_id, ensure_ascii=False)[:110]}))
        if row.visitor_id:
            row.visitor = visitors[row.visitor_id]
        row.contact = _root(row.contact)
    return errors


def _prepare(workspace, items, *, prefix: str, shift=None) -> tuple[list[_Row], list[tuple[str, str]]]:
    if not isinstance(items, list):
        return [], [(prefix, _("Send a list of events."))]
    if len(items) > MAX_BATCH:
        return [], [(prefix, _("At most %(n)d events per request.") % {"n": MAX_BATCH})]
    now = clock.now(workspace)
    rows, errors = [], []
    for index, item in enumerate(items):
        row, problems = _check_item(index, item, prefix=prefix, now=now, shift=shift)
        errors += problems
        if row is not None:
            rows.append(row)
    problems = _resolve(workspace, rows, prefix=prefix)
    return [r for r in rows if not r.unknown], errors + problems


def _store(workspace, rows: list[_Row], *, source: str) -> list[TrackingEvent]:
    """Insert the rows not stored before (same source and dedupe key), in one statement; returns the new ones."""
    # A visitor named together with a contact (API: member_id + visitor_id) is that contact's browser; an
    # anonymous one joins it now. A visitor already known as someone else is left as it is.
    for row in rows:
        if row.visitor is not None and row.contact is not None and row.visitor.contact_id is None:
            visitor_attach_contact(workspace=workspace, visitor=row.visitor, contact=row.contact,
                                   reason=MergeReason.MEMBER_ID)
            row.visitor.contact = row.contact
            row.visitor.contact_id = row.contact.pk
        elif row.contact is None and row.visitor is not None:
            row.contact = _root(row.visitor.contact)
    keys = {r.dedupe_key for r in rows if r.dedupe_key}
    seen = set()
    if keys:
        seen = set(TrackingEvent.objects.for_workspace(workspace).filter(source=source, dedupe_key__in=keys)
                   .values_list("dedupe_key", flat=True))
    fresh = []
    for row in rows:
        if row.dedupe_key:
            if row.dedupe_key in seen:
                continue
            seen.add(row.dedupe_key)
        fresh.append(TrackingEvent(workspace=workspace, contact=row.contact, visitor=row.visitor, type=row.type,
                                   properties=row.properties, source=source, dedupe_key=row.dedupe_key,
                                   occurred_at=row.occurred_at, received_at=clock.now(workspace)))
    if not fresh:
        return []
    try:
        with transaction.atomic():
            return TrackingEvent.objects.bulk_create(fresh)
    except IntegrityError:  # a concurrent delivery of the same events stored some of them first
        keys = [e.dedupe_key for e in fresh if e.dedupe_key]
        taken = set(TrackingEvent.objects.for_workspace(workspace).filter(source=source, dedupe_key__in=keys)
                    .values_list("dedupe_key", flat=True))
        fresh = [e for e in fresh if not e.dedupe_key or e.dedupe_key not in taken]
        return TrackingEvent.objects.bulk_create(fresh, ignore_conflicts=True)


@transaction.atomic
def events_record(*, workspace, events: list[dict], source: str) -> list[TrackingEvent]:
    """Store a batch of events (≤ 100), all or nothing: any bad item raises EventsInvalid naming every bad field
    (`events.3.type`) and nothing is stored. Returns the events stored; repeats of a stored (source, event_id)
    are skipped silently, so a sender may retry a batch.

    Each item: `type` (EventType), whose it is — `contact_id` | `member_id` (an existing contact) | `visitor_id`
    (created when new; its contact, if any, gets the event) — `properties` (object, ≤ 16 KB as JSON),
    `occurred_at` (ISO 8601 or datetime; default now; not before 2000 nor over a day ahead), `event_id` (dedupe
    key). Callers inside Tidings may pass `contact` / `visitor` objects instead of ids."""
    if source not in EventSource.values:
        raise ServiceError(_("Unknown event source."), field="source")
    rows, errors = _prepare(workspace, events, prefix="events")
    if errors:
        raise EventsInvalid(errors)
    return _store(workspace, rows, source=source)


def _clock_shift(workspace, sent_at) -> datetime.timedelta | None:
    """How far the sender's clock is behind ours, from the time it says it sent the request: the browser's clock
    dates its events, so a phone set an hour wrong still puts them at the right moment."""
    if not isinstance(sent_at, str) or not sent_at:
        return None
    sent = parse_datetime(sent_at)
    if sent is None:
        return None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=datetime.UTC)
    shift = clock.now(workspace) - sent
    # Network time is noise; correct only skew worth the name.
    return shift if abs(shift) > datetime.timedelta(seconds=30) else None


@transaction.atomic
def events_collect(*, workspace, visitor_id: str, events: list, identify: dict | None = None,
                   sent_at: str | None = None) -> CollectResult:
    """One request from the tracking script: touch the visitor, apply `identify` (the page's init), store the good
    events and report the bad ones. Unlike `events_record`, a bad item does not cost the good ones: the browser
    cannot fix a bad event by retrying, so the good ones are kept and the bad ones named (then dropped by the
    script). A bad visitor id or more than 100 events refuses the whole request.

    Script events name no contact (a browser may not claim to be contact 42): they belong to the visitor."""
    visitor = visitor_touch(workspace=workspace, visitor_id=visitor_id)
    if not isinstance(events, list):
        raise ServiceError(_("Send a list of events."), field="events")
    if len(events) > MAX_BATCH:
        raise ServiceError(_("At most %(n)d events per request.") % {"n": MAX_BATCH}, field="events")
    errors = []
    if identify:
        if not isinstance(identify, dict):
            errors.append(("identify", _("Identify is an object: member_id, email, phone, name.")))
        else:
            keys = {k: str(identify.get(k) or "") for k in ("member_id", "email", "phone", "name")}
            try:
                with transaction.atomic():
                    visitor = visitor_identify(workspace=workspace, visitor_id=visitor.visitor_id, **keys)
            except ServiceError as exc:
                errors.append((f"identify.{exc.field}" if exc.field else "identify", str(exc.message)))
    items = []
    for item in events:
        if isinstance(item, dict):
            item = {k: item.get(k) for k in ("type", "properties", "occurred_at", "event_id")} | {"visitor": visitor}
        items.append(item)
    rows, problems = _prepare(workspace, items, prefix="events", shift=_clock_shift(workspace, sent_at))
    stored = _store(workspace, rows, source=EventSource.WEB)
    return CollectResult(stored=len(stored), duplicates=len(rows) - len(stored), errors=errors + problems)


@transaction.atomic
def event_upsert(*, workspace, source: str, dedupe_key: str, type: str, properties: dict, occurred_at=None,
                 contact: Contact | None = None, visitor: Visitor | None = None) -> TrackingEvent:
    """One event per natural key that later deliveries refresh (a Shopify checkout is updated many times):
    created on first sight; afterwards its properties are replaced and a missing contact / visitor filled in,
    while `occurred_at` keeps the first moment."""
    if not dedupe_key:
        raise ServiceError(_("An upserted event needs a key."), field="dedupe_key")
    existing = (TrackingEvent.objects.for_workspace(workspace).select_for_update()
                .filter(source=source, dedupe_key=dedupe_key).first())
    item = {"type": type, "properties": properties, "occurred_at": occurred_at, "event_id": dedupe_key,
            "contact": contact, "visitor": visitor}
    if existing is None:
        rows, errors = _prepare(workspace, [item], prefix="events")
        if errors:
            raise EventsInvalid(errors)
        stored = _store(workspace, rows, source=source)
        if stored:
            return stored[0]
        existing = TrackingEvent.objects.get(workspace=workspace, source=source, dedupe_key=dedupe_key)
    # Validate the new properties the same way, without storing.
    _rows, errors = _prepare(workspace, [{**item, "occurred_at": None}], prefix="events")
    if errors:
        raise EventsInvalid(errors)
    existing.properties = properties
    fields = ["properties"]
    if contact is not None and existing.contact_id is None:
        existing.contact = _root(contact)
        fields.append("contact")
    if visitor is not None and existing.visitor_id is None:
        existing.visitor = visitor
        fields.append("visitor")
    existing.save(update_fields=fields)
    return existing


# --- selectors -----------------------------------------------------------------------------------------------


def visitor_get(workspace, visitor_id: str) -> Visitor | None:
    return Visitor.objects.for_workspace(workspace).filter(visitor_id=visitor_id).select_related("contact").first()


def visitor_by_cart_token(workspace, cart_token: str) -> Visitor | None:
    """The visitor whose script reported this shop cart token (`cart_token` in an event's properties), latest
    first. Used to attribute a shop's cart and checkout webhooks, which carry no buyer identity."""
    if not cart_token:
        return None
    event = (TrackingEvent.objects.for_workspace(workspace)
             .filter(source=EventSource.WEB, visitor__isnull=False, properties__cart_token=str(cart_token))
             .select_related("visitor__contact").order_by("-pk").first())
    return event.visitor if event else None


def event_by_key(workspace, source: str, dedupe_key: str) -> TrackingEvent | None:
    return (TrackingEvent.objects.for_workspace(workspace).filter(source=source, dedupe_key=dedupe_key)
            .select_related("visitor", "contact").first())


def contact_events(workspace, contact: Contact, limit: int = 50) -> list[TrackingEvent]:
    """The contact's website and shop events, newest first, for the profile's timeline."""
    return list(TrackingEvent.objects.for_workspace(workspace).filter(contact=contact)
                .select_related("visitor").order_by("-occurred_at", "-pk")[:limit])


def visitor_events(workspace, visitor: Visitor, limit: int = 50) -> list[TrackingEvent]:
    return list(TrackingEvent.objects.for_workspace(workspace).filter(visitor=visitor)
                .order_by("-occurred_at", "-pk")[:limit])


def events_list(workspace, *, contact: Contact | None = None, visitor: Visitor | None = None, type: str = ""):
    """Events newest first, optionally of one contact, one visitor, one type (a queryset, for paging)."""
    events = TrackingEvent.objects.for_workspace(workspace).select_related("visitor")
    if contact is not None:
        events = events.filter(contact=contact)
    if visitor is not None:
        events = events.filter(visitor=visitor)
    if type:
        events = events.filter(type=type)
    return events.order_by("-occurred_at", "-pk")
