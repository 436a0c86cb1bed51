"""Who sees which conversations, the inbox list with its tabs and filters, and one conversation's history."""

import datetime
from collections.abc import Callable

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from tidings.contacts.models import ChannelIdentity, Contact, ContactTag
from tidings.core import clock
from tidings.core.models import Membership
from tidings.core.roles import Role, SALES_ROLES
from tidings.messaging.models import Message

from .models import Conversation, ConversationActivity, ConversationState

WHATSAPP_WINDOW = datetime.timedelta(hours=24)

# Sales roles see the conversations of customers bound to them. The OMO module (staff binding) registers a
# function membership → Q over Conversation naming those customers; until then, a salesperson sees what is
# assigned to them (e.g. by a keyword auto-assign rule).
_SALES_SCOPES: list[Callable[[Membership], Q]] = []


def register_sales_scope(func: Callable[[Membership], Q]) -> Callable[[Membership], Q]:
    if func not in _SALES_SCOPES:
        _SALES_SCOPES.append(func)
    return func


def visibility(membership: Membership) -> Q:
    """CS Agents: assigned to them or unassigned; sales roles: their bound customers (and assigned to them);
    Admin, Supervisor, CS Manager: everything in the workspace."""
    if membership.role == Role.CS_AGENT:
        return Q(assignee=membership) | Q(assignee__isnull=True)
    if membership.role in SALES_ROLES:
        scope = Q(assignee=membership)
        for func in _SALES_SCOPES:
            scope |= func(membership)
        return scope
    if membership.role == Role.MARKETER:
        return Q(pk__in=[])
    return Q()


def conversations_visible(membership: Membership) -> QuerySet[Conversation]:
    return Conversation.objects.for_workspace(membership.workspace).filter(visibility(membership))


def conversation_get(membership: Membership, conversation_id) -> Conversation | None:
    """A conversation this member may see, else None (another workspace's, or not theirs to see)."""
    try:
        conversation_id = int(conversation_id)
    except (TypeError, ValueError):
        return None
    return (conversations_visible(membership).select_related("contact", "identity", "account", "assignee__user")
            .filter(pk=conversation_id).first())


def conversation_get_for_takeover(membership: Membership, conversation_id) -> Conversation | None:
    """CS roles may take over any conversation of the workspace (SPEC I2), even one they cannot list."""
    from tidings.core.permissions import CS_ROLES

    if membership.role in CS_ROLES:
        try:
            return (Conversation.objects.for_workspace(membership.workspace)
                    .select_related("contact", "identity", "account", "assignee__user")
                    .filter(pk=int(conversation_id)).first())
        except (TypeError, ValueError):
            return None
    return conversation_get(membership, conversation_id)


# A search term matching at most this many customers (or chat names) is looked up once and the list filtered by
# those ids; a commoner one (a number prefix shared by half the customers) is filtered while the list is read.
SEARCH_ID_CAP = 20000
SEARCH_ID_LOOKUPS = 500


def _among(field: str, ids: list[int]) -> Q:
    """`field` is one of `ids`. A few ids are looked up one by one in the index; many travel to PostgreSQL as one
    array it hashes while reading the list, not as thousands of query parameters that cost more to plan than to
    run."""
    if connection.vendor == "postgresql" and len(ids) > SEARCH_ID_LOOKUPS:
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", [ids])})
    return Q(**{f"{field}__in": ids})


def _search(queryset: QuerySet[Conversation], workspace_id: int, q: str) -> QuerySet[Conversation]:
    """Name, phone and email of the customer, or the chat display name, containing `q` (any case).

    The customers and identities are searched on their own (trigram indexes serve `icontains` on PostgreSQL), not
    through a join, which would read every conversation with its customer for each search."""
    q = " ".join((q or "").split())
    if not q:
        return queryset
    matches = Q(name__icontains=q)
    if any(ch.isdigit() for ch in q):  # phones are digits: a term without one cannot match (nor cost a scan)
        matches |= Q(phone__icontains=q)
    if q.isascii():
        matches |= Q(email__icontains=q)
    contacts = Contact.objects.filter(workspace_id=workspace_id).filter(matches).values_list("pk", flat=True)
    identities = (ChannelIdentity.objects.filter(workspace_id=workspace_id, display_name__icontains=q)
                  .values_list("pk", flat=True))
    contact_ids = list(contacts[:SEARCH_ID_CAP + 1])
    identity_ids = list(identities[:SEARCH_ID_CAP + 1])
    if len(contact_ids) > SEARCH_ID_CAP or len(identity_ids) > SEARCH_ID_CAP:
        # So common a term matches a good share of rows: join each conversation read (newest first) to its customer
        # and chat name and stop as soon as the page or the capped count is full, rather than hash every match.
        joined = Q(contact__name__icontains=q) | Q(identity__display_name__icontains=q)
        if any(ch.isdigit() for ch in q):
            joined |= Q(contact__phone__icontains=q)
        if q.isascii():
            joined |= Q(contact__email__icontains=q)
        return queryset.filter(joined)
    return queryset.filter(_among("contact_id", contact_ids) | _among("identity_id", identity_ids))


def conversations_filter(membership: Membership, *, state: str = "", channel: str = "", assignee: str = "",
                         tag: str = "", q: str = "") -> QuerySet[Conversation]:
    """The inbox list: visible conversations, most recent first. `assignee` is a membership id, "me" or
    "unassigned"; `tag` a tag name on the customer; `q` searches name, phone, email and channel display name."""
    queryset = conversations_visible(membership)
    if state:
        queryset = queryset.filter(state=state)
    if channel:
        queryset = queryset.filter(channel=channel)
    if assignee == "me":
        queryset = queryset.filter(assignee=membership)
    elif assignee == "unassigned":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee:
        try:
            queryset = queryset.filter(assignee_id=int(assignee))
        except ValueError:
            queryset = queryset.none()
    if tag:
        # A subquery, not a join through the customer: PostgreSQL can then read the list newest first and stop.
        tagged = ContactTag.objects.filter(tag__workspace_id=membership.workspace_id, tag__name=tag)
        queryset = queryset.filter(contact_id__in=tagged.values("contact_id"))
    queryset = _search(queryset, membership.workspace_id, q)
    return queryset.order_by("-last_message_at", "-id")


# While searching, a tab's badge counts at most this many (shown as "1,000+"): a common term (a surname, a number
# prefix) matches tens of thousands of conversations, and an exact count would have to visit every one.
SEARCH_COUNT_CAP = 1000


def _tab_counts(base: QuerySet[Conversation], cap: int | None) -> dict[str, int]:
    counts = {state: 0 for state in ConversationState.values}
    if cap is not None:
        for state in counts:
            counts[state] = base.filter(state=state).order_by()[:cap + 1].count()
        return counts
    counts.update({row["state"]: row["n"] for row in base.order_by().values("state").annotate(n=Count("id"))})
    return counts


def state_counts(membership: Membership, *, cap: int | None = None, **filters) -> dict[str, int]:
    """How many conversations each tab holds under the same filters (the tabs' badges). With `cap`, each count
    stops at cap + 1 (a caller shows "cap+"), reading each tab newest first until then."""
    filters.pop("state", None)
    return _tab_counts(conversations_filter(membership, **filters), cap)


def conversations_page(membership: Membership, *, limit: int, cap: int | None = None, state: str = "", **filters
                       ) -> tuple[list[Conversation], dict[str, int]]:
    """One tab's first `limit` + 1 conversations (the extra one says there are more) and every tab's count, with a
    search term looked up once for both."""
    base = conversations_filter(membership, **filters)
    rows = base.filter(state=state) if state else base
    rows = list(rows.select_related("contact", "identity", "account", "assignee__user")[:limit + 1])
    return rows, _tab_counts(base, cap)


def conversation_messages(conversation: Conversation, *, before_id: int | None = None, limit: int = 50
                          ) -> list[Message]:
    """The latest `limit` messages of the conversation (older than `before_id` when paging back), oldest first."""
    messages = Message.objects.filter(workspace_id=conversation.workspace_id, identity_id=conversation.identity_id)
    if before_id:
        messages = messages.filter(pk__lt=before_id)
    latest = list(messages.select_related(None).order_by("-created_at", "-id")[:limit])
    latest.reverse()
    return latest


def conversation_activities(conversation: Conversation) -> QuerySet[ConversationActivity]:
    return conversation.activities.select_related("actor__user", "previous_assignee__user", "assignee__user")


def reply_window_remaining(conversation: Conversation) -> datetime.timedelta | None:
    """Time left in the 24-hour customer-service window (WhatsApp, Messenger, Instagram); None when closed or the
    channel has none."""
    if conversation.channel not in ("whatsapp", "messenger", "instagram"):
        return None
    last = conversation.identity.last_inbound_at
    if last is None:
        return None
    left = last + WHATSAPP_WINDOW - clock.now(conversation.workspace)
    return left if left.total_seconds() > 0 else None
