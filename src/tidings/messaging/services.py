"""The message pipeline (DESIGN mechanism 2, SPEC C3): every outbound message goes through here.

`message_send` / `message_send_bulk` / `message_send_pnp` validate, store `Message` rows (queued) grouped into
`Dispatch`es - one provider request each - and enqueue one delivery task per dispatch when the transaction commits.

Delivery (`dispatch_deliver`, run by `tasks.dispatch_deliver_task`) is a small state machine per dispatch:

    pending --claim (commit)--> sending --adapter.send (no transaction open)--> sent | failed | pending (retry)

The provider call happens outside any transaction, and its outcome is recorded in one short transaction. A worker
that dies mid-call leaves the dispatch in `sending`; the task is re-run (tasks_requeue_orphaned) and sends again:
push and multicast carry `X-Line-Retry-Key` derived from the dispatch id, so LINE answers the repeat with 409 and
nothing is delivered twice. LINE notification messages (PNP) have no retry key, so a PNP dispatch found in
`sending` is not resent: it is failed with "outcome unknown" (docs/modules/messaging.md explains the gap).
"""

import datetime
import logging
import random
import re
from collections.abc import Iterable
from functools import partial

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tidings.channels.content import contents_check_kinds, contents_dump, contents_parse
from tidings.channels.events import SendResult
from tidings.channels.models import ChannelAccount
from tidings.channels.ratelimit import RateLimitTimeout, dispatch_limits, rate_wait_all
from tidings.channels.registry import adapter_for
from tidings.channels.selectors import account_for_channel
from tidings.contacts.models import ChannelIdentity, Contact
from tidings.contacts.selectors import contact_identity
from tidings.contacts.services import contacts_touch, identity_upsert
from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Workspace
from tidings.message_templates.selectors import template_check_send
from tidings.timers.services import timer_schedule

from .events import message_event_record, message_events_recorded
from .links import contents_have_links, links_prepare
from .models import (
    MARKETING_PURPOSES,
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

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # provider calls per dispatch before it is failed for good
BACKOFF_BASE = 2.0  # seconds before the first retry; doubles each attempt
BACKOFF_CAP = 600.0  # never wait longer than 10 minutes between attempts
RATE_WAIT = 20.0  # longest a delivery waits for the shared rate limit before rescheduling itself
RETRY_TIMER_KIND = "messaging.dispatch_retry"
PNP_OUTCOME_UNKNOWN = (
    "outcome unknown: the worker stopped during the LINE notification call; not resent to avoid a duplicate"
)
OUTCOME_UNKNOWN = (
    "outcome unknown: the worker stopped during the provider call, which has no idempotency key; "
    "not resent to avoid a duplicate"
)
BATCH = 2000  # rows per bulk INSERT

# Which interaction time a sent message moves forward (SPEC D1).
_TOUCH_KIND = {Purpose.CHAT: "team", Purpose.API: "team", **{p: "marketing" for p in MARKETING_PURPOSES}}


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


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]


def _enqueue_all(dispatch_ids: list[int]) -> None:
    from .tasks import dispatch_deliver_task

    for dispatch_id in dispatch_ids:
        dispatch_deliver_task.enqueue(dispatch_id)


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
    transaction.on_commit(partial(_enqueue_all, [d.pk for d in dispatches]))


def _push_rows(workspace, account, adapter, identity, contact_id, contents, purpose, source, at, options):
    """Dispatches (push, ≤ the channel's messages per request) and messages for one recipient, links rewritten."""
    dispatches, messages, links = [], [], []
    for chunk in _chunks(contents, adapter.max_messages_per_request):
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


def _recipients(workspace, identities, channel: str, account: ChannelAccount | None) -> dict[int, list[tuple]]:
    """account id -> [(identity id, contact id, external id, last inbound at)], deduplicated, active accounts of
    this workspace."""
    if hasattr(identities, "values_list"):
        rows = identities.filter(workspace=workspace, channel=channel).values_list(
            "pk", "contact_id", "external_id", "account_id", "last_inbound_at")
    else:
        rows = [(i.pk, i.contact_id, i.external_id, i.account_id, i.last_inbound_at) for i in identities
                if i.workspace_id == workspace.pk and i.channel == channel]
    active = set(ChannelAccount.objects.for_workspace(workspace).filter(channel=channel, is_active=True)
                 .values_list("pk", flat=True))
    if account is not None:
        active &= {account.pk}
    out: dict[int, dict[int, tuple]] = {}
    for pk, contact_id, external_id, account_id, last_inbound_at in rows:
        if account_id in active:
            out.setdefault(account_id, {})[pk] = (pk, contact_id, external_id, last_inbound_at)
    return {account_id: list(by_pk.values()) for account_id, by_pk in out.items()}


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


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


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
        f"INSERT INTO {_q(Message._meta.db_table)} ({', '.join(_q(c) for c in columns)}) "
        f"SELECT {', '.join(['%s'] * len(values))}, {_q('contact_id')}, {_q('id')} "
        f"FROM {_q(ChannelIdentity._meta.db_table)} WHERE {_q('id')} IN ({', '.join(['%s'] * len(identity_ids))}) "
        f"ORDER BY {_q('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values.values(), *identity_ids])


def _dispatch_events_insert(dispatch_ids: list[int], kind: str, at, *, only_status: str | None = None) -> None:
    """The same event on every message of these dispatches; an event already there is left as it is."""
    field = MessageEvent._meta.get_field
    at_value = field("at").get_db_prep_save(at, connection)
    data = field("data").get_db_prep_save({}, connection)
    status = f" AND {_q('status')} = %s" if only_status else ""
    for chunk in _chunks(dispatch_ids, 500):
        sql = (
            f"INSERT INTO {_q(MessageEvent._meta.db_table)} "
            f"({_q('workspace_id')}, {_q('message_id')}, {_q('kind')}, {_q('at')}, {_q('data')}) "
            f"SELECT {_q('workspace_id')}, {_q('id')}, %s, %s, %s FROM {_q(Message._meta.db_table)} "
            f"WHERE {_q('dispatch_id')} IN ({', '.join(['%s'] * len(chunk))}){status} "
            f"ON CONFLICT DO NOTHING"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [kind, at_value, data, *chunk, *([only_status] if only_status else [])])


@transaction.atomic
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
) -> list[Dispatch]:
    """Send the same contents to many identities: multicast batches of ≤ the channel's recipients per request.

    Identities on other workspaces, other channels or inactive accounts are left out (and on another account than
    `account`, when one is given). Contents with tracked links go out as one push per recipient instead, because a
    multicast carries identical messages and each recipient's links must be their own. A recipient the channel
    does not allow now (outside a 24-hour window) gets failed messages carrying the reason, and no request.
    """
    adapter = _adapter(channel)
    contents = _contents(adapter, contents)
    if account is not None:
        account = _account(workspace, channel, account)
    by_account = _recipients(workspace, identities, channel, account)
    at = clock.now(workspace)
    options = _send_options(purpose, source, tag)
    per_recipient = contents_have_links(contents) or adapter.max_recipients_per_request <= 1
    checks = getattr(adapter, "check_recipient", None) is not None
    accounts = {a.pk: a for a in ChannelAccount.objects.filter(pk__in=list(by_account))}
    all_dispatches: list[Dispatch] = []
    for account_id, recipients in by_account.items():
        acct = accounts[account_id]
        template_check_send(account=acct, contents=contents, purpose=purpose)  # WhatsApp templates (SPEC S8)
        dispatches, messages, links = [], [], []
        if per_recipient:
            refused = []
            for identity_id, contact_id, _external, last_inbound_at in recipients:
                if checks:
                    try:
                        _check_recipient(adapter, contents, options, last_inbound_at, at)
                    except ServiceError as error:
                        refused += _refused_rows(workspace, acct, identity_id, contact_id, contents, purpose,
                                                 source, at, error)
                        continue
                d, m, ln = _push_rows(workspace, acct, adapter, ChannelIdentity(pk=identity_id), contact_id,
                                      contents, purpose, source, at, options)
                dispatches += d
                messages += m
                links += ln
            _store(workspace, acct, dispatches, messages, links, at)
            if refused:
                Message.objects.bulk_create(refused, batch_size=BATCH)
                _events_bulk(workspace.pk, [m.pk for m in refused], EventKind.FAILED, at, refused[0].error)
        else:
            plan = []
            for batch in _chunks(recipients, adapter.max_recipients_per_request):
                identity_ids = [recipient[0] for recipient in batch]
                for chunk in _chunks(contents, adapter.max_messages_per_request):
                    dispatch = Dispatch(workspace=workspace, account=acct, kind=DispatchKind.MULTICAST,
                                        options=dict(options), created_at=at)
                    dispatches.append(dispatch)
                    plan.append((dispatch, identity_ids, chunk))
            Dispatch.objects.bulk_create(dispatches, batch_size=BATCH)
            for dispatch, identity_ids, chunk in plan:
                for position, content in enumerate(chunk):
                    _multicast_messages_insert(dispatch, identity_ids, position, content, purpose, source, at)
            _dispatch_events_insert([d.pk for d in dispatches], EventKind.QUEUED, at)
            transaction.on_commit(partial(_enqueue_all, [d.pk for d in dispatches]))
        all_dispatches += dispatches
    return all_dispatches


# --- delivering ----------------------------------------------------------------------------------------------


def _resend_safe(dispatch: Dispatch) -> bool:
    """Whether a request that may already have reached the provider can be made again without a double send."""
    check = getattr(adapter_for(dispatch.account.channel), "resend_safe", None)
    return check(dispatch) if check is not None else True


def _claim(dispatch_id: int) -> Dispatch | None:
    """pending (or sending, after a crash) -> sending with one more attempt, committed before the provider call.

    Returns the dispatch with its new attempt number, or None when there is nothing to send. A dispatch found in
    `sending` means a worker died during the call: when the provider has no idempotency key for it (LINE PNP, the
    Graph API) it is failed as "outcome unknown", not resent.
    """
    with transaction.atomic():
        # of=self: lock the dispatch only, not the account and workspace rows every worker shares (PostgreSQL).
        dispatch = (Dispatch.objects.select_for_update(of=("self",)).select_related("account", "workspace")
                    .filter(pk=dispatch_id).first())
        if dispatch is None or dispatch.status in (DispatchStatus.SENT, DispatchStatus.FAILED):
            return None
        if dispatch.status == DispatchStatus.SENDING and not _resend_safe(dispatch):
            _fail(dispatch, {"message": PNP_OUTCOME_UNKNOWN if dispatch.kind == DispatchKind.PNP
                             else OUTCOME_UNKNOWN})
            return None
        if not dispatch.account.is_active:
            _fail(dispatch, {"message": str(_("The channel account was disconnected before this was sent."))})
            return None
        dispatch.status = DispatchStatus.SENDING
        dispatch.attempts += 1
        dispatch.save(update_fields=["status", "attempts"])
        return dispatch


def dispatch_deliver(*, dispatch_id: int) -> str:
    """Make the provider request for one dispatch and record its outcome. Returns what happened (for logs/tests).

    Safe to run again at any point: a finished dispatch is skipped; one left `sending` is resent with the same retry
    key (push, multicast) or failed as unknown (LINE PNP, Graph API: no idempotency key).
    """
    dispatch = Dispatch.objects.select_related("account").filter(pk=dispatch_id).first()
    if dispatch is None or dispatch.status in (DispatchStatus.SENT, DispatchStatus.FAILED):
        return "skipped"
    account = dispatch.account
    if not (dispatch.status == DispatchStatus.SENDING and not _resend_safe(dispatch)):
        try:
            rate_wait_all(dispatch_limits(account, dispatch.kind, (dispatch.options or {}).get("recipient")),
                          timeout=RATE_WAIT)
        except RateLimitTimeout:  # the budget is saturated by other senders: come back shortly, attempt unspent
            with transaction.atomic():
                _schedule_retry(dispatch, delay=random.uniform(1.0, 5.0), tag="rate")
            return "rate-limited"
    claimed = _claim(dispatch_id)
    if claimed is None:
        return "skipped"
    messages = _dispatch_messages(claimed)
    adapter = adapter_for(account.channel)
    try:
        result = adapter.send(claimed.account, claimed, messages)
    except Exception as exc:  # a bug or an unmapped network error: treat as transient, keep the reason
        logger.exception("dispatch %s: adapter.send raised", dispatch_id)
        result = SendResult(outcome="retry", error={"message": f"{type(exc).__name__}: {exc}"})
    return _record(claimed, messages, result)


_ROW_FIELDS = ("id", "workspace_id", "contact_id", "identity_id", "account_id", "channel", "purpose", "source",
               "dispatch_id", "position", "status")


def _dispatch_messages(dispatch: Dispatch) -> list[Message]:
    """The dispatch's messages ordered by (identity, position), as adapters take them.

    A multicast has up to 500 recipients sharing the same contents: only the first recipient's rows carry `content`
    (the adapter renders those), and identities are not joined (the adapter fetches the user ids in one query).
    Building 1,000 full model instances per request was most of the pipeline's own cost.
    """
    ordered = dispatch.messages.order_by("identity_id", "position")
    if dispatch.kind != DispatchKind.MULTICAST:
        return list(ordered.select_related("identity"))
    rows = list(ordered.only(*_ROW_FIELDS))
    if rows:
        first = rows[0].identity_id
        contents = dict(dispatch.messages.filter(identity_id=first).values_list("position", "content"))
        for message in rows:
            if message.identity_id == first:
                message.content = contents[message.position]
    return rows


def _backoff(attempt: int, retry_after: float | None) -> float:
    """Exponential with full jitter between half and all of the step, capped; never sooner than Retry-After."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempt - 1))
    delay = random.uniform(step / 2, step)
    return min(BACKOFF_CAP, max(delay, retry_after or 0.0))


def _schedule_retry(dispatch: Dispatch, *, delay: float, tag: str) -> None:
    timer_schedule(
        workspace=dispatch.workspace, kind=RETRY_TIMER_KIND, key=f"dispatch-retry:{dispatch.pk}:{tag}",
        delay=datetime.timedelta(seconds=delay), payload={"dispatch_id": dispatch.pk}, replace=True,
    )


def _events_bulk(workspace_id: int, message_ids: list[int], kind: str, at, data: dict | None = None) -> None:
    """The same event on many messages at once; one per (message, kind) as with message_event_record."""
    MessageEvent.objects.bulk_create(
        (MessageEvent(workspace_id=workspace_id, message_id=pk, kind=kind, at=at, data=data or {})
         for pk in message_ids),
        batch_size=BATCH, ignore_conflicts=True,
    )
    message_events_recorded(workspace_id=workspace_id, kind=kind, message_ids=message_ids, at=at, data=data)


def _fail(dispatch: Dispatch, error: dict) -> None:
    """Inside the caller's transaction: the dispatch and its unsent messages failed, the provider's error kept."""
    at = clock.now(dispatch.workspace)
    Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.FAILED, last_error=error)
    dispatch.status, dispatch.last_error = DispatchStatus.FAILED, error
    pending = dispatch.messages.filter(status=MessageStatus.QUEUED)
    ids = list(pending.values_list("pk", flat=True))
    pending.update(status=MessageStatus.FAILED, error=error, updated_at=at)
    _events_bulk(dispatch.workspace_id, ids, EventKind.FAILED, at, error)


def _record(dispatch: Dispatch, messages: list[Message], result: SendResult) -> str:
    """One short transaction: the outcome of attempt `dispatch.attempts`, unless another run has taken over."""
    with transaction.atomic():
        current = Dispatch.objects.select_for_update().filter(pk=dispatch.pk).values("status", "attempts").first()
        if current != {"status": DispatchStatus.SENDING, "attempts": dispatch.attempts}:
            return "superseded"
        outcome = result.outcome
        if outcome == "retry" and dispatch.attempts >= MAX_ATTEMPTS:
            outcome = "failed"
        if outcome == "sent":
            _record_sent(dispatch, messages, result)
        elif outcome == "failed":
            _fail(dispatch, result.error or {"message": "failed", "status": result.http_status})
        else:
            Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.PENDING, last_error=result.error)
            _schedule_retry(dispatch, delay=_backoff(dispatch.attempts, result.retry_after), tag="backoff")
            outcome = "retry"
    return outcome


def _record_sent(dispatch: Dispatch, messages: list[Message], result: SendResult) -> None:
    at = clock.now(dispatch.workspace)
    Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.SENT, sent_at=at, last_error=None)
    ids = result.provider_message_ids or []
    if ids and dispatch.kind != DispatchKind.MULTICAST:
        for message, provider_id in zip(messages, ids, strict=False):
            Message.objects.filter(pk=message.pk).update(provider_message_id=provider_id)
    Message.objects.filter(dispatch=dispatch, status=MessageStatus.QUEUED).update(status=MessageStatus.SENT,
                                                                                 updated_at=at)
    _dispatch_events_insert([dispatch.pk], EventKind.SENT, at)
    message_events_recorded(workspace_id=dispatch.workspace_id, kind=EventKind.SENT,
                            message_ids=[m.pk for m in messages], at=at)
    purpose = messages[0].purpose if messages else None
    if purpose in _TOUCH_KIND:
        contacts_touch(contact_ids={m.contact_id for m in messages}, kind=_TOUCH_KIND[purpose], at=at)


def dispatch_retry_due(*, workspace: Workspace, dispatch_id: int) -> bool:
    """A retry timer fell due: deliver again after commit if the dispatch still waits. True if re-enqueued."""
    if not Dispatch.objects.for_workspace(workspace).filter(pk=dispatch_id, status=DispatchStatus.PENDING).exists():
        return False
    transaction.on_commit(partial(_enqueue_all, [dispatch_id]))
    return True


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
