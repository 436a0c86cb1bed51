"""The message pipeline (DESIGN mechanism 2, SPEC C3): every outbound message goes through here.

`message_send` / `message_send_bulk` / `message_send_pnp` validate, store `Message` rows (queued) grouped into
`Dispatch`es - one provider request each - and enqueue their delivery (delivery.py) when the transaction commits.
"""

import logging
import re
from collections.abc import Iterable
from functools import partial

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tidings.channels.content import contents_check_kinds, contents_dump, contents_parse
from tidings.channels.models import ChannelAccount
from tidings.channels.registry import adapter_for
from tidings.channels.selectors import account_for_channel
from tidings.contacts.models import ChannelIdentity, Contact
from tidings.contacts.selectors import contact_identity
from tidings.contacts.services import identity_upsert
from tidings.core import clock
from tidings.core.bulk import BATCH, chunks, db_value, quoted, rows_insert
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Workspace
from tidings.message_templates.selectors import template_check_send

from .delivery import deliveries_enqueue_on_commit
from .events import message_event_record, message_events_recorded
from .links import contents_have_links, links_prepare
from .models import (
    BulkSend,
    Direction,
    Dispatch,
    DispatchKind,
    DispatchStatus,
    EventKind,
    Message,
    MessageEvent,
    MessageStatus,
    Purpose,
    TrackedLink,
)
from .rows import dispatch_events_insert, events_bulk

logger = logging.getLogger(__name__)

# --- sending -------------------------------------------------------------------------------------------------


def _adapter(channel: str):
    try:
        return adapter_for(channel)
    except LookupError:
        raise ServiceError(_("Unknown channel."), field="channel") from None


def _channel_label(channel: str) -> str:
    from tidings.contacts.models import Channel

    try:
        return str(Channel(channel).label)
    except ValueError:
        return channel


def _contents(adapter, contents) -> list[dict]:
    """Parse and check the contents against the channel's limits; ServiceError names the field."""
    parsed = contents_parse(contents, field="messages")
    adapter.validate(parsed)
    contents_check_kinds(parsed, supported=adapter.supported_kinds, channel_name=_channel_label(adapter.channel))
    return contents_dump(parsed)


def _check_recipient(adapter, contents: list[dict], options: dict, last_inbound_at, at) -> None:
    """The channel's rules about this person right now (WhatsApp's and Messenger's 24-hour windows)."""
    check = getattr(adapter, "check_recipient", None)
    if check is not None:
        check(contents=contents, options=options, last_inbound_at=last_inbound_at, now=at)


def _send_options(purpose: str, source: str, tag: str | None) -> dict:
    options = {"aggregation_unit": aggregation_unit(purpose, source)}
    if tag:
        options["tag"] = tag  # Messenger message tag, for sends outside the 24-hour window
    return options


def _contact(workspace: Workspace, contact) -> Contact:
    contact_id = contact.pk if isinstance(contact, Contact) else contact
    found = Contact.objects.for_workspace(workspace).filter(pk=contact_id).first() if contact_id else None
    if found is None:
        raise NotFound(_("Unknown contact."), field="contact_id")
    return found


def _account(workspace: Workspace, channel: str, account: ChannelAccount | None) -> ChannelAccount:
    if account is None:
        account = account_for_channel(workspace, channel)
    elif account.workspace_id != workspace.pk or account.channel != channel or not account.is_active:
        account = None
    if account is None:
        raise ServiceError(
            _("No active %(channel)s account is connected.") % {"channel": _channel_label(channel)}, field="channel"
        )
    return account


def _identity(workspace: Workspace, contact: Contact, channel: str, account: ChannelAccount) -> ChannelIdentity:
    identity = contact_identity(contact, channel, account)
    if identity is None and channel == "sms" and contact.phone:
        # An SMS address is the phone number: a contact with a phone can be texted without having texted us.
        identity, _created = identity_upsert(workspace=workspace, account=account, external_id=contact.phone,
                                             contact=contact)
    if identity is None:
        raise ServiceError(
            _("This customer has no %(channel)s account connected.") % {"channel": _channel_label(channel)},
            field="channel",
        )
    return identity


def aggregation_unit(purpose: str, source: str) -> str:
    """LINE custom aggregation unit for one send: `[a-zA-Z0-9_]{1,30}`, from what sent it (e.g. broadcast_7)."""
    tail = re.sub(r"[^a-zA-Z0-9_]+", "_", source.split(":", 1)[-1] if source.startswith(purpose) else source)
    unit = f"{purpose}_{tail}".strip("_") if tail else purpose
    return unit[:30] or "tidings"


def _store(workspace, account, dispatches: list[Dispatch], messages: list[Message], links: list[TrackedLink], at):
    """Insert dispatches, messages (queued), their queued events and tracked links; deliver after commit."""
    Dispatch.objects.bulk_create(dispatches, batch_size=BATCH)
    Message.objects.bulk_create(messages, batch_size=BATCH)  # bulk_create picks up the dispatches' new ids
    TrackedLink.objects.bulk_create(links, batch_size=BATCH)
    MessageEvent.objects.bulk_create(
        (MessageEvent(workspace_id=workspace.pk, message=m, kind=EventKind.QUEUED, at=at) for m in messages),
        batch_size=BATCH,
    )
    # Listeners above (the inbox) learn of each push send as it is queued; multicasts report only outcomes.
    message_events_recorded(workspace_id=workspace.pk, kind=EventKind.QUEUED, message_ids=[m.pk for m in messages],
                            at=at)
    deliveries_enqueue_on_commit([d.pk for d in dispatches])


def _push_rows_insert(workspace, account, adapter, recipients: list[tuple[int, int]], contents: list[dict], purpose,
                      source, at, options) -> list[int]:
    """What _push_rows + _store do for many recipients of contents without tracked links, as plain multi-row
    INSERTs: one push dispatch per recipient (and per request's worth of contents) with its queued messages.
    Returns the dispatch ids."""
    d, m = partial(db_value, Dispatch), partial(db_value, Message)
    created = d("created_at", at)
    dispatch_rows = [
        (workspace.pk, account.pk, DispatchKind.PUSH, DispatchStatus.PENDING,
         d("options", {**options, "recipient": identity_id}), 0, created)
        for identity_id, _contact_id in recipients for _chunk in chunks(contents, adapter.max_messages_per_request)
    ]
    dispatch_ids = rows_insert(Dispatch, ["workspace", "account", "kind", "status", "options", "attempts",
                                          "created_at"], dispatch_rows)
    shared = (workspace.pk, account.pk, account.channel, Direction.OUTBOUND, purpose, source, MessageStatus.QUEUED,
              "", m("created_at", at), m("updated_at", at))
    prepared = [m("content", content) for content in contents]
    per_request = adapter.max_messages_per_request
    message_rows, next_dispatch = [], iter(dispatch_ids)
    for identity_id, contact_id in recipients:
        for start in range(0, len(contents), per_request):
            dispatch_id = next(next_dispatch)
            for position, content in enumerate(prepared[start:start + per_request]):
                message_rows.append((*shared, contact_id, identity_id, dispatch_id, position, content))
    message_ids = rows_insert(Message, ["workspace", "account", "channel", "direction", "purpose", "source", "status",
                                        "provider_message_id", "created_at", "updated_at", "contact", "identity",
                                        "dispatch", "position", "content"], message_rows)
    dispatch_events_insert(dispatch_ids, EventKind.QUEUED, at)
    message_events_recorded(workspace_id=workspace.pk, kind=EventKind.QUEUED, message_ids=message_ids, at=at)
    deliveries_enqueue_on_commit(dispatch_ids)
    return dispatch_ids


def _push_rows(workspace, account, adapter, identity, contact_id, contents, purpose, source, at, options):
    """Dispatches (push, ≤ the channel's messages per request) and messages for one recipient, links rewritten."""
    dispatches, messages, links = [], [], []
    for chunk in chunks(contents, adapter.max_messages_per_request):
        # The recipient is named for per-person rate limits (WhatsApp's pair limit).
        dispatch = Dispatch(workspace=workspace, account=account, kind=DispatchKind.PUSH,
                            options={**options, "recipient": identity.pk}, created_at=at)
        dispatches.append(dispatch)
        for position, content in enumerate(chunk):
            message = Message(
                workspace=workspace, contact_id=contact_id, identity=identity, account=account,
                channel=account.channel, purpose=purpose, source=source, dispatch=dispatch, position=position,
                created_at=at,
            )
            message.content, message_links = links_prepare(message, content)
            messages.append(message)
            links.extend(message_links)
    return dispatches, messages, links


@transaction.atomic
def message_send(
    *,
    workspace: Workspace,
    contact,
    channel: str,
    contents: list,
    purpose: str = Purpose.CHAT,
    source: str = "",
    account: ChannelAccount | None = None,
    tag: str | None = None,
) -> list[Message]:
    """Send contents to one contact on a channel: one Message per content, delivered in order by push.

    `contact` is a Contact or its id (another workspace's is NotFound). Refusals (ServiceError): unknown channel,
    no active account, no identity on that channel, content the channel cannot carry (field like
    `messages[0].text`), or contents the channel does not allow to this person now (outside a 24-hour window:
    WhatsApp only templates, Messenger only with an allowed `tag`).
    """
    adapter = _adapter(channel)
    contact = _contact(workspace, contact)
    contents = _contents(adapter, contents)
    account = _account(workspace, channel, account)
    template_check_send(account=account, contents=contents, purpose=purpose)  # WhatsApp templates (SPEC S8)
    identity = _identity(workspace, contact, channel, account)
    at = clock.now(workspace)
    options = _send_options(purpose, source, tag)
    _check_recipient(adapter, contents, options, identity.last_inbound_at, at)
    dispatches, messages, links = _push_rows(workspace, account, adapter, identity, contact.pk, contents, purpose,
                                             source, at, options)
    _store(workspace, account, dispatches, messages, links, at)
    return messages


@transaction.atomic
def message_send_pnp(
    *,
    workspace: Workspace,
    contact,
    contents: list,
    purpose: str = Purpose.NOTIFICATION,
    source: str = "",
    account: ChannelAccount | None = None,
    phone: str | None = None,
    delivery_tag: str | None = None,
) -> list[Message]:
    """A LINE notification message (PNP) to a contact's phone number, whether or not they are our LINE friend.

    The dispatch's options carry the E.164 phone and a delivery tag (the caller's, 16-100 characters and unique on
    the account, e.g. naming its notification; else a random one); LINE's `delivery` webhook echoes the tag, which
    is how the delivered event finds its message. Never resent blindly (no retry key on PNP).
    """
    import uuid

    adapter = _adapter("line")
    contact = _contact(workspace, contact)
    contents = _contents(adapter, contents)
    account = _account(workspace, "line", account)
    phone = phone or contact.phone
    if not phone:
        raise ServiceError(_("This customer has no phone number."), field="phone")
    from tidings.contacts.services import phone_normalize

    phone = phone_normalize(workspace=workspace, phone=phone)
    if len(contents) > adapter.max_messages_per_request:
        raise ServiceError(_("Too many messages for one notification."), field="messages")
    if delivery_tag is not None and not 16 <= len(delivery_tag) <= 100:
        raise ServiceError(_("A delivery tag has 16 to 100 characters."), field="delivery_tag")
    identity = contact_identity(contact, "line", account)
    at = clock.now(workspace)
    dispatch = Dispatch(workspace=workspace, account=account, kind=DispatchKind.PNP, created_at=at,
                        options={"phone": phone, "delivery_tag": delivery_tag or f"tidings-{uuid.uuid4().hex}"})
    messages = [
        Message(workspace=workspace, contact=contact, identity=identity, account=account, channel="line",
                purpose=purpose, source=source, dispatch=dispatch, position=position, content=content, created_at=at)
        for position, content in enumerate(contents)
    ]
    _store(workspace, account, [dispatch], messages, [], at)
    return messages


def _recipients(workspace, identities, channel: str, account: ChannelAccount | None, *, last_inbound: bool,
                after: int | None = None) -> list[tuple]:
    """[(identity id, account id, contact id, last inbound at)], deduplicated, on active accounts of this workspace
    (only `account`'s when one is given). `after`: only identities with a greater id, in id order (what a resumable
    send has left). `last_inbound=False` leaves the time out (None): a channel without per-recipient checks does not
    need it, and converting 100,000 datetimes was a third of this query."""
    active = set(ChannelAccount.objects.for_workspace(workspace).filter(channel=channel, is_active=True)
                 .values_list("pk", flat=True))
    if account is not None:
        active &= {account.pk}
    if hasattr(identities, "values_list"):  # a query: filtered by the database
        fields = ["pk", "account_id", "contact_id"] + (["last_inbound_at"] if last_inbound else [])
        query = identities.filter(workspace=workspace, channel=channel, account_id__in=active)
        if after is not None:
            query = query.filter(pk__gt=after).order_by("pk")
        rows = query.values_list(*fields)
    else:
        rows = sorted((i.pk, i.account_id, i.contact_id, i.last_inbound_at) for i in identities
                      if i.workspace_id == workspace.pk and i.channel == channel and i.account_id in active
                      and (after is None or i.pk > after))
    out: list[tuple] = []
    seen: set[int] = set()  # a query joining tags or segments can name an identity twice
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            out.append((row[0], row[1], row[2], row[3] if last_inbound else None))
    return out


def _refused_rows(workspace, account, identity_id, contact_id, contents, purpose, source, at, error: ServiceError):
    """Failed messages (no dispatch) for a bulk recipient the channel does not allow now, so the sender sees why."""
    detail = {"status": None, "message": str(error.message), "field": error.field}
    return [
        Message(workspace=workspace, contact_id=contact_id, identity_id=identity_id, account=account,
                channel=account.channel, purpose=purpose, source=source, content=content, position=position,
                status=MessageStatus.FAILED, error=detail, created_at=at)
        for position, content in enumerate(contents)
    ]


# A broadcast stores one row per recipient: INSERT ... SELECT from the identities lets the database build them,
# instead of a Python object and a bound parameter per column per row (ten times faster at 100,000 recipients).


def _multicast_messages_insert(dispatch: Dispatch, identity_ids: list[int], position: int, content: dict,
                               purpose: str, source: str, at) -> None:
    """One queued Message per identity (its contact, the same content) for one multicast dispatch."""
    field = Message._meta.get_field
    values = {
        "workspace_id": dispatch.workspace_id, "account_id": dispatch.account_id, "channel": dispatch.account.channel,
        "direction": Direction.OUTBOUND, "purpose": purpose, "source": source,
        "content": field("content").get_db_prep_save(content, connection), "status": MessageStatus.QUEUED,
        "dispatch_id": dispatch.pk, "position": position, "provider_message_id": "",
        "created_at": field("created_at").get_db_prep_save(at, connection),
        "updated_at": field("updated_at").get_db_prep_save(at, connection),
    }
    columns = [*values, "contact_id", "identity_id"]
    sql = (
        f"INSERT INTO {quoted(Message._meta.db_table)} ({', '.join(quoted(c) for c in columns)}) "
        f"SELECT {', '.join(['%s'] * len(values))}, {quoted('contact_id')}, {quoted('id')} "
        f"FROM {quoted(ChannelIdentity._meta.db_table)} WHERE {quoted('id')} IN ({', '.join(['%s'] * len(identity_ids))}) "
        f"ORDER BY {quoted('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values.values(), *identity_ids])


# A resumable bulk send commits a part at a time: 20 requests' worth (10,000 LINE recipients), but at least 1,000
# recipients, so a channel without multicast (a request per person) does not pay a transaction per 20 people.
BULK_PART_REQUESTS = 20
BULK_PART_MIN = 1_000


def message_send_bulk(
    *,
    workspace: Workspace,
    identities: Iterable[ChannelIdentity],
    channel: str,
    contents: list,
    purpose: str = Purpose.BROADCAST,
    source: str = "",
    account: ChannelAccount | None = None,
    tag: str | None = None,
    resume_key: str | None = None,
) -> list[Dispatch]:
    """Send the same contents to many identities: multicast batches of ≤ the channel's recipients per request.

    Identities on other workspaces, other channels or inactive accounts are left out (and on another account than
    `account`, when one is given). Contents with tracked links go out as one push per recipient instead, because a
    multicast carries identical messages and each recipient's links must be their own. A recipient the channel
    does not allow now (outside a 24-hour window) gets failed messages carrying the reason, and no request.

    Without `resume_key` everything is stored in one transaction and delivery starts when it commits. With one (a
    broadcast's id, say), recipients are stored in identity order, a part at a time (BULK_PART_*), each committed
    with the send's progress (BulkSend): the first multicasts are on their way while the rest is stored, and no
    transaction holds the database for a whole broadcast. Called again with the same key, the send stores only
    the recipients after the last part committed (a crash in between loses and repeats nothing); once finished, it
    sends nothing and returns []. Inside a transaction the parts commit with it.
    """
    adapter = _adapter(channel)
    contents = _contents(adapter, contents)
    if account is not None:
        account = _account(workspace, channel, account)
    checks = getattr(adapter, "check_recipient", None) is not None
    store = partial(_bulk_store, workspace=workspace, adapter=adapter, contents=contents, purpose=purpose,
                    source=source, options=_send_options(purpose, source, tag), checks=checks)
    if resume_key is None:
        with transaction.atomic():
            recipients = _recipients(workspace, identities, channel, account, last_inbound=checks)
            return store(recipients, accounts=_bulk_accounts(recipients, contents, purpose),
                         at=clock.now(workspace), first_batch=0)
    progress, _created = BulkSend.objects.get_or_create(workspace=workspace, key=resume_key)
    if progress.finished_at is not None:
        return []
    recipients = _recipients(workspace, identities, channel, account, last_inbound=checks, after=progress.cursor)
    accounts = _bulk_accounts(recipients, contents, purpose)
    at = clock.now(workspace)
    per_request = max(1, adapter.max_recipients_per_request)
    part_size = max(BULK_PART_MIN, BULK_PART_REQUESTS * per_request)
    batches_per_part = part_size // per_request + 1
    dispatches: list[Dispatch] = []
    for number, part in enumerate(chunks(recipients, part_size)):
        with transaction.atomic():
            # Locked and read again: a second run of the same send (a retried task) stores nothing twice.
            progress = BulkSend.objects.select_for_update().get(pk=progress.pk)
            part = [recipient for recipient in part if recipient[0] > progress.cursor]
            if progress.finished_at is not None or not part:
                continue
            dispatches += store(part, accounts=accounts, at=at, first_batch=number * batches_per_part)
            BulkSend.objects.filter(pk=progress.pk).update(cursor=part[-1][0], stored=F("stored") + len(part))
    BulkSend.objects.filter(pk=progress.pk, finished_at=None).update(finished_at=clock.now(workspace))
    return dispatches


def _bulk_accounts(recipients: list[tuple], contents: list[dict], purpose: str) -> dict[int, ChannelAccount]:
    """The recipients' accounts by id, each checked for the contents (WhatsApp templates, SPEC S8) before anything
    is stored, so a refusal never leaves half a send behind."""
    accounts = {a.pk: a for a in ChannelAccount.objects.filter(pk__in={r[1] for r in recipients})}
    for acct in accounts.values():
        template_check_send(account=acct, contents=contents, purpose=purpose)
    return accounts


def _bulk_store(recipients: list[tuple], *, workspace, adapter, accounts, contents, purpose, source, options, checks,
                at, first_batch: int) -> list[Dispatch]:
    """Store one transaction's worth of a bulk send (see message_send_bulk); delivery is enqueued on commit."""
    by_account: dict[int, list[tuple]] = {}
    for recipient in recipients:
        by_account.setdefault(recipient[1], []).append(recipient)
    per_recipient = contents_have_links(contents) or adapter.max_recipients_per_request <= 1
    all_dispatches: list[Dispatch] = []
    for account_id, group in by_account.items():
        acct = accounts[account_id]
        dispatches, messages, links = [], [], []
        if per_recipient:
            refused = []
            allowed = []
            for identity_id, _account_id, contact_id, last_inbound_at in group:
                if checks:
                    try:
                        _check_recipient(adapter, contents, options, last_inbound_at, at)
                    except ServiceError as error:
                        refused += _refused_rows(workspace, acct, identity_id, contact_id, contents, purpose,
                                                 source, at, error)
                        continue
                allowed.append((identity_id, contact_id))
            if contents_have_links(contents):  # each message its own links: rows built one by one
                for identity_id, contact_id in allowed:
                    d, m, ln = _push_rows(workspace, acct, adapter, ChannelIdentity(pk=identity_id), contact_id,
                                          contents, purpose, source, at, options)
                    dispatches += d
                    messages += m
                    links += ln
                _store(workspace, acct, dispatches, messages, links, at)
            else:
                ids = _push_rows_insert(workspace, acct, adapter, allowed, contents, purpose, source, at, options)
                dispatches = [Dispatch(pk=pk, workspace=workspace, account=acct, kind=DispatchKind.PUSH,
                                       created_at=at) for pk in ids]
            if refused:
                Message.objects.bulk_create(refused, batch_size=BATCH)
                events_bulk(workspace.pk, [m.pk for m in refused], EventKind.FAILED, at, refused[0].error)
        else:
            plan = []
            for number, batch in enumerate(chunks(group, adapter.max_recipients_per_request), start=first_batch):
                identity_ids = [recipient[0] for recipient in batch]
                for chunk in chunks(contents, adapter.max_messages_per_request):
                    # A batch's dispatches go to the same people in order: delivery keeps them apart by "batch".
                    dispatch = Dispatch(workspace=workspace, account=acct, kind=DispatchKind.MULTICAST,
                                        options={**options, "batch": number}, created_at=at)
                    dispatches.append(dispatch)
                    plan.append((dispatch, identity_ids, chunk))
            Dispatch.objects.bulk_create(dispatches, batch_size=BATCH)
            for dispatch, identity_ids, chunk in plan:
                for position, content in enumerate(chunk):
                    _multicast_messages_insert(dispatch, identity_ids, position, content, purpose, source, at)
            dispatch_events_insert([d.pk for d in dispatches], EventKind.QUEUED, at)
            deliveries_enqueue_on_commit([d.pk for d in dispatches])
        all_dispatches += dispatches
    return all_dispatches


# --- tracked links -------------------------------------------------------------------------------------------


def tracked_link_click(*, token: str, at=None) -> str | None:
    """Count a click on a tracked link and record `clicked` on its message (once however many clicks).

    Returns the URL to redirect to, or None for an unknown token.
    """
    with transaction.atomic():
        link = TrackedLink.objects.select_related("message", "workspace").filter(token=token).first()
        if link is None:
            return None
        TrackedLink.objects.filter(pk=link.pk).update(clicks=F("clicks") + 1)
        message_event_record(message=link.message, kind=EventKind.CLICKED, at=at or clock.now(link.workspace),
                             data={"url": link.url})
    return link.url
