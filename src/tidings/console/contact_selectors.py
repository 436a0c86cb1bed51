"""Reads for the contact pages beyond what the contacts app offers: the list's paging (a capped count, so a million
contacts never cost a full COUNT), the rows' channels and tags in two light queries, a contact's messages (the
messaging app sits above contacts) and the events timeline made readable."""

from decimal import Decimal, InvalidOperation
from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet

from tidings.contacts.models import ChannelIdentity, Contact, Tag
from tidings.contacts.selectors import contact_ids_merged_into
from tidings.messaging.models import Message

PAGE_SIZE = 50
# The list counts at most this many matches: past it the page says "10,000+" and asks for a narrower search.
COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts `COUNT_CAP + 1` rows at most (SELECT COUNT(*) FROM (… LIMIT cap+1)), so page links stop at the cap."""

    def __init__(self, object_list, per_page=PAGE_SIZE, cap=None):
        super().__init__(object_list, per_page)
        self.cap = cap or COUNT_CAP

    @cached_property
    def _counted(self) -> int:
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap


def contacts_page(contacts: QuerySet[Contact], number) -> object:
    """One page of the list, newest first, with each row's identities and tags fetched alongside."""
    rows = contacts.order_by("-created_at", "-id").prefetch_related(
        Prefetch("identities", queryset=ChannelIdentity.objects.only("id", "contact_id", "channel", "subscribed")
                 .order_by("channel")),
        Prefetch("tags", queryset=Tag.objects.only("id", "name").order_by("name")),
    )
    return CappedPaginator(rows).get_page(number)


def row_channels(contact: Contact) -> list[dict]:
    """The channels a row shows as icons: one per channel, subscribed if any identity on it is."""
    seen: dict[str, bool] = {}
    for identity in contact.identities.all():
        seen[identity.channel] = seen.get(identity.channel, False) or identity.subscribed
    return [{"channel": channel, "subscribed": subscribed} for channel, subscribed in seen.items()]


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
