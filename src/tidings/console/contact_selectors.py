"""Reads for the contact pages beyond what the contacts app offers: the list's search and paging (each way of
matching its own indexed query, and a capped count, so a million contacts stay fast), the rows' channels and tags in
two light queries, a contact's messages (the messaging app sits above contacts) and the events timeline made
readable."""

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


def search_conditions(workspace, q: str) -> list[Q]:
    """The ways a search term matches, as `contacts_filter` defines them: name, phone or email containing it
    (trigram indexes on PostgreSQL), member id or a tag name equal to it. Kept apart so each is its own query."""
    tagged = ContactTag.objects.filter(tag__workspace=workspace, tag__name=q).values("contact_id")
    return [Q(name__icontains=q), Q(phone__icontains=q), Q(email__icontains=q), Q(member_id=q), Q(pk__in=tagged)]


class ListResults:
    """The list's matches, sliceable like a queryset (what Paginator needs), newest first.

    Without a search term it is `contacts_filter(...)` itself. With one, each way of matching (see
    `search_conditions`) is its own query, newest first and cut at what the page needs, and the results are merged:
    one OR over name, phone, email, member id and tags can use no index at all (PostgreSQL then reads a million
    rows), while each part alone uses its own — a trigram index, the member id index, the tag index — or, for a
    term that matches thousands, walks the newest contacts and stops after a page.
    """

    def __init__(self, base: QuerySet[Contact], conditions: list[Q] | None = None):
        self.arms = [base.filter(c) for c in conditions] if conditions else [base]

    def count_up_to(self, cap: int) -> int:
        """How many match, counting no further than cap (+1, to know the cap was passed)."""
        if len(self.arms) == 1:
            return self.arms[0].order_by()[:cap].count()
        seen: set[int] = set()
        for arm in self.arms:
            seen.update(arm.order_by().values_list("pk", flat=True)[:cap])
            if len(seen) >= cap:
                break
        return min(len(seen), cap)

    def ids(self, start: int, stop: int) -> list[int]:
        if len(self.arms) == 1:
            return list(self.arms[0].order_by(*ORDER).values_list("pk", flat=True)[start:stop])
        merged: dict[int, tuple] = {}
        for arm in self.arms:
            for pk, created_at in arm.order_by(*ORDER).values_list("pk", "created_at")[:stop]:
                merged[pk] = (created_at, pk)
        return [pk for pk, _key in sorted(merged.items(), key=lambda item: item[1], reverse=True)[start:stop]]

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
    """Counts `COUNT_CAP + 1` matches at most, so a broad search on a million contacts stays cheap."""

    def __init__(self, object_list: ListResults, per_page=PAGE_SIZE, cap=None):
        super().__init__(object_list, per_page)
        self.cap = cap or COUNT_CAP

    @cached_property
    def _counted(self) -> int:
        return self.object_list.count_up_to(self.cap + 1)

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap


def list_results(workspace, *, q: str = "", channel: str = "", tag: str = "", subscribed=None,
                 bound=None) -> ListResults:
    base = contacts_filter(workspace, channel=channel, tag=tag, subscribed=subscribed, bound=bound)
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
