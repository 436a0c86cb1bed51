"""Reads for the contact pages beyond what the contacts app offers: the list's search and paging (each way of
matching its own indexed query, and a capped count, so a million contacts stay fast), the rows' channels and tags in
two light queries, a contact's messages (the messaging app sits above contacts) and the events timeline made
readable."""

import re
from decimal import Decimal, InvalidOperation
from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from tidings.contacts.models import ChannelIdentity, Contact, ContactTag, Tag
from tidings.contacts.selectors import contact_ids_merged_into, contacts_filter
from tidings.messaging.models import Message

PAGE_SIZE = 50
# The list counts at most this many matches: past it the page says "1,000+", lists the first 1,000 and asks for a
# narrower search. Counting every match of a broad search among a million contacts is what would make the page slow.
COUNT_CAP = 1_000
ORDER = ("-created_at", "-pk")


def _tag_id(workspace, name: str) -> int | None:
    return Tag.objects.for_workspace(workspace).filter(name=name).values_list("pk", flat=True).first()


def search_conditions(workspace, q: str) -> list[Q]:
    """The ways a search term matches, as `contacts_filter` defines them: name, phone or email containing it
    (trigram indexes on PostgreSQL), member id or a tag name equal to it. Kept apart so each is its own query."""
    conditions = [Q(name__icontains=q), Q(member_id=q)]
    # Phones are stored as +digits: only a term of digits can be part of one (typed with spaces or dashes or not).
    # Emails are ASCII in practice. A term that cannot match is not searched for (a 2-character term has no
    # trigram, so its search reads the whole table).
    digits = re.sub(r"[\s\-().]", "", q)
    if re.fullmatch(r"\+?\d+", digits):
        conditions.append(Q(phone__icontains=digits))
    if q.isascii():
        conditions.append(Q(email__icontains=q))
    # The tag by its id, and only when one has this name: joined by name, PostgreSQL cannot tell "no such tag" from
    # "a tag on 5% of contacts" and walks every contact looking for it.
    tag_id = _tag_id(workspace, q)
    if tag_id is not None:
        conditions.append(Q(pk__in=ContactTag.objects.filter(tag_id=tag_id).values("contact_id")))
    return conditions


class ListResults:
    """The list's matches, sliceable like a queryset (what Paginator needs), newest first.

    Without a search term there is one query, `contacts_filter(...)`; with one, each way of matching (see
    `search_conditions`) is its own query — a single OR over name, phone, email, member id and tags can use no index
    at all, so PostgreSQL would read a million rows. Each query is first read unordered, up to the cap: that uses
    its best index (trigram, member id, tag) and, for a term matching few contacts, yields all of them, sorted
    here. Only a query with more matches than the cap is asked for its newest rows with ORDER BY … LIMIT,
    which then walks the created-at index and stops soon because matches are dense. (Asked that way for a rare term, PostgreSQL
    walks a million rows looking for 50 that are not there.)
    """

    def __init__(self, base: QuerySet[Contact], conditions: list[Q] | None = None, cap: int | None = None):
        self.arms = [base.filter(c) for c in conditions] if conditions else [base]
        self.cap = cap or COUNT_CAP

    @cached_property
    def _scan(self) -> tuple[dict, list]:
        small: dict[int, object] = {}
        big = []
        for arm in self.arms:
            # One pass: reading up to cap + 1 rows tells both whether it passes the cap and, if not, every match.
            rows = list(arm.order_by().values_list("pk", "created_at")[: self.cap + 1])
            if len(rows) > self.cap:
                big.append(arm)
            else:
                small.update(rows)
        return small, big

    def count_up_to_cap(self) -> int:
        """How many match; cap + 1 means "more than the cap"."""
        small, big = self._scan
        return self.cap + 1 if big else min(len(small), self.cap + 1)

    def ids(self, start: int, stop: int) -> list[int]:
        small, big = self._scan
        candidates = dict(small)
        for arm in big:
            candidates.update(arm.order_by(*ORDER).values_list("pk", "created_at")[:stop])
        newest = sorted(candidates.items(), key=lambda item: (item[1], item[0]), reverse=True)
        return [pk for pk, _at in newest[start:stop]]

    def __getitem__(self, window: slice) -> list[Contact]:
        ids = self.ids(window.start or 0, window.stop)
        rows = Contact.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("identities", queryset=ChannelIdentity.objects.only("id", "contact_id", "channel",
                                                                         "subscribed").order_by("channel")),
            Prefetch("tags", queryset=Tag.objects.only("id", "name").order_by("name")),
        )
        by_id = {c.pk: c for c in rows}
        return [by_id[pk] for pk in ids if pk in by_id]


class CappedPaginator(Paginator):
    """Counts up to the results' cap, so a broad search on a million contacts stays cheap."""

    def __init__(self, object_list: ListResults, per_page=None):
        super().__init__(object_list, per_page or PAGE_SIZE)
        self.cap = object_list.cap

    @cached_property
    def _counted(self) -> int:
        return self.object_list.count_up_to_cap()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap


def list_results(workspace, *, q: str = "", channel: str = "", tag: str = "", subscribed=None,
                 bound=None) -> ListResults:
    base = contacts_filter(workspace, channel=channel, subscribed=subscribed, bound=bound)
    if tag:
        # contacts_filter's tag filter, by the tag's id: joined by name, PostgreSQL misjudges how many contacts
        # carry it (and for a name no tag has, walks every contact).
        tag_id = _tag_id(workspace, tag)
        base = base.filter(pk__in=ContactTag.objects.filter(tag_id=tag_id).values("contact_id")) if tag_id \
            else base.none()
    return ListResults(base, search_conditions(workspace, q) if q else None)


def contacts_page(results: ListResults, number):
    """One page of the list, with each row's identities and tags fetched alongside."""
    return CappedPaginator(results).get_page(number)


def matching_ids(results: ListResults, limit: int) -> list[int]:
    """The ids of the first `limit` matches (bulk actions on "everything this search matches")."""
    return results.ids(0, limit)


CHANNEL_BADGES = {"line": ("LINE", "LINE"), "whatsapp": ("WA", "WhatsApp"), "messenger": ("M", "Messenger"),
                  "instagram": ("IG", "Instagram"), "sms": ("SMS", "SMS")}


def row_channels(contact: Contact) -> list[dict]:
    """The channels a row shows as badges: one per channel, faded unless some identity on it is subscribed."""
    seen: dict[str, bool] = {}
    for identity in contact.identities.all():
        seen[identity.channel] = seen.get(identity.channel, False) or identity.subscribed
    badges = []
    for channel, subscribed in seen.items():
        label, name = CHANNEL_BADGES.get(channel, ("?", channel))
        badges.append({"channel": channel, "label": label, "off": not subscribed,
                       "title": name if subscribed else f"{name} · {_('not subscribed')}"})
    return badges


def list_row(contact: Contact) -> dict:
    """What a list row shows, worked out here rather than in the template (50 rows render on every keystroke)."""
    tags = [tag.name for tag in contact.tags.all()]
    return {"contact": contact, "channels": row_channels(contact), "tags": tags[:3], "more_tags": max(0, len(tags) - 3)}


def tag_names(workspace, limit: int = 500) -> list[str]:
    """Tag names for pickers (datalists), alphabetical."""
    return list(Tag.objects.for_workspace(workspace).order_by("name").values_list("name", flat=True)[:limit])


def identities_of(contact: Contact) -> list[ChannelIdentity]:
    return list(contact.identities.select_related("account").order_by("channel", "created_at"))


def recent_messages(workspace, contact: Contact, limit: int = 20) -> list[dict]:
    """The contact's latest messages on any channel — its own and those of contacts merged into it, which stay on
    their ids — newest first, each with a one-line summary."""
    messages = (Message.objects.for_workspace(workspace).filter(contact_id__in=contact_ids_merged_into(contact))
                .select_related("account").order_by("-created_at", "-id")[:limit])
    return [{"message": m, "summary": message_summary(m.content)} for m in messages]


def message_summary(content) -> str:
    """A line of text for a message's content: its text, a template's body, or the kind of content."""
    if isinstance(content, list):
        return " · ".join(filter(None, (message_summary(part) for part in content)))
    if not isinstance(content, dict):
        return str(content or "")
    for key in ("text", "alt_text", "body", "title", "name"):
        value = content.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return f"[{content.get('type', '?')}]"


def _number(value):
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def event_view(event) -> dict:
    """A timeline entry: the event with its products (name, price, quantity) and order total, whatever the sender's
    shape — a flat product (`view_product`), `items: [...]` (cart, checkout) or an order (`transaction_id`)."""
    props = event.properties if isinstance(event.properties, dict) else {}
    raw_items = props.get("items") if isinstance(props.get("items"), list) else []
    if not raw_items and (props.get("name") or props.get("id") or props.get("product_id")):
        raw_items = [props]
    items = []
    for item in raw_items[:10]:
        if not isinstance(item, dict):
            continue
        items.append({
            "name": str(item.get("name") or item.get("title") or item.get("id") or item.get("product_id") or ""),
            "variant": str(item.get("variant") or ""),
            "price": _number(item.get("price")),
            "quantity": item.get("quantity"),
        })
    return {"event": event, "type": event.type, "items": items, "more": max(0, len(raw_items) - 10),
            "order": str(props.get("transaction_id") or props.get("order_id") or ""),
            "amount": _number(props.get("amount") or props.get("value")),
            "currency": str(props.get("currency") or "")}
