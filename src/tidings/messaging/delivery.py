"""Delivering stored dispatches (DESIGN mechanism 2, SPEC C3): one provider request per dispatch, many per task.

Each dispatch is a small state machine:

    pending --claim (commit)--> sending --adapter.send (no transaction open)--> sent | failed | pending (retry)

A delivery task carries up to DELIVERY_TASK_SIZE dispatches (100) and works through them in rounds of up to DELIVERY_IN_FLIGHT (32): one
transaction reserves the round's rate-limit slots, one claims the round just before its requests, the requests run
at once (threads; each waits for its own slot), and one transaction records every outcome. So a broadcast costs a
few transactions per round instead of several per message, and a worker that dies leaves at most one round in
`sending`. Such a dispatch is sent again when the task is re-run (tasks_requeue_orphaned): LINE push and multicast
carry `X-Line-Retry-Key` derived from the dispatch id, so LINE answers a repeat with 409 and nothing is delivered
twice. Requests without an idempotency key (LINE PNP, the Graph API) are not resent: the dispatch is failed as
"outcome unknown" (docs/modules/messaging.md explains the gap).

Requests to one person go out in order: a round never holds two dispatches for the same recipient (or multicast
batch), so the later one waits for the next round.
"""

import datetime
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tidings.channels.events import SendResult
from tidings.channels.ratelimit import dispatch_limits, rate_reserve_many, rate_sleep_until
from tidings.channels.registry import adapter_for
from tidings.contacts.services import contacts_touch
from tidings.core import clock
from tidings.core.bulk import chunks, rows_update
from tidings.core.models import Workspace
from tidings.core.tasking import enqueue_on_commit
from tidings.timers.services import timer_schedule

from .events import message_events_recorded
from .models import MARKETING_PURPOSES, Dispatch, DispatchKind, DispatchStatus, EventKind, Message, MessageStatus, Purpose
from .rows import dispatch_events_insert, events_bulk

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # provider calls per dispatch before it is failed for good
BACKOFF_BASE = 2.0  # seconds before the first retry; doubles each attempt
BACKOFF_CAP = 600.0  # never wait longer than 10 minutes between attempts
RATE_WAIT = 20.0  # furthest ahead a round reserves rate-limit slots; a dispatch beyond it is rescheduled
ROUND_SPREAD = 1.0  # a round's requests start within this of its first: later ones wait unclaimed for another
RETRY_TIMER_KIND = "messaging.dispatch_retry"
PNP_OUTCOME_UNKNOWN = (
    "outcome unknown: the worker stopped during the LINE notification call; not resent to avoid a duplicate"
)
OUTCOME_UNKNOWN = (
    "outcome unknown: the worker stopped during the provider call, which has no idempotency key; "
    "not resent to avoid a duplicate"
)
_FINISHED = (DispatchStatus.SENT, DispatchStatus.FAILED)

# Which interaction time a sent message moves forward (SPEC D1).
_TOUCH_KIND = {Purpose.CHAT: "team", Purpose.API: "team", **{p: "marketing" for p in MARKETING_PURPOSES}}


# --- enqueueing ----------------------------------------------------------------------------------------------


def deliveries_enqueue_on_commit(dispatch_ids: list[int]) -> None:
    """One delivery task per DELIVERY_TASK_SIZE dispatches, enqueued with the storing transaction's outcome."""
    from .tasks import dispatches_deliver_task

    for group in chunks(list(dispatch_ids), settings.DELIVERY_TASK_SIZE):
        enqueue_on_commit(dispatches_deliver_task, group)


def dispatch_retry_due(*, workspace: Workspace, dispatch_id: int) -> bool:
    """A retry timer fell due: deliver again after commit if the dispatch still waits. True if re-enqueued."""
    if not Dispatch.objects.for_workspace(workspace).filter(pk=dispatch_id, status=DispatchStatus.PENDING).exists():
        return False
    deliveries_enqueue_on_commit([dispatch_id])
    return True


# --- delivering ----------------------------------------------------------------------------------------------


def dispatch_deliver(*, dispatch_id: int) -> str:
    """Deliver one dispatch; returns what happened (sent, failed, retry, rate-limited, superseded or skipped)."""
    return dispatches_deliver(dispatch_ids=[dispatch_id])[dispatch_id]


def dispatches_deliver(*, dispatch_ids: list[int]) -> dict[int, str]:
    """Make the provider request of each dispatch and record its outcome; returns dispatch id -> what happened.

    Safe to run again at any point: a finished dispatch is skipped; one left `sending` is resent with the same retry
    key (push, multicast) or failed as unknown (LINE PNP, Graph API: no idempotency key).
    """
    outcomes = {pk: "skipped" for pk in dispatch_ids}
    queue = list(Dispatch.objects.select_related("account").filter(pk__in=dispatch_ids)
                 .exclude(status__in=_FINISHED).order_by("pk"))
    while queue:
        round_, queue = _next_round(queue, _in_flight())
        done, carried = _deliver_round(round_)
        outcomes.update(done)
        queue = sorted(carried + queue, key=lambda d: d.pk)
    return outcomes


def _in_flight() -> int:
    # In-process HTTP (tests) runs the fake provider on this thread's connection and transaction: one at a time.
    return 1 if settings.INPROCESS_HTTP else max(1, settings.DELIVERY_IN_FLIGHT)


def _order_key(dispatch: Dispatch):
    """Requests with the same key must reach the provider in order, so they never share a round."""
    options = dispatch.options or {}
    if dispatch.kind == DispatchKind.MULTICAST:
        return ("batch", options.get("batch"))  # several dispatches when the contents need several requests
    if dispatch.kind == DispatchKind.PNP:
        return ("phone", options.get("phone"))
    return ("recipient", options.get("recipient"))


def _next_round(queue: list[Dispatch], size: int) -> tuple[list[Dispatch], list[Dispatch]]:
    """The first dispatches of the queue (in id order) up to `size`, stopping before a second one with the same
    order key; and the rest."""
    keys = set()
    for index, dispatch in enumerate(queue):
        key = _order_key(dispatch)
        if index >= size or key in keys:
            return queue[:index], queue[index:]
        keys.add(key)
    return queue, []


def _resend_safe(dispatch: Dispatch) -> bool:
    """Whether a request that may already have reached the provider can be made again without a double send."""
    check = getattr(adapter_for(dispatch.account.channel), "resend_safe", None)
    return check(dispatch) if check is not None else True


def _deliver_round(dispatches: list[Dispatch]) -> tuple[dict[int, str], list[Dispatch]]:
    """Reserve, claim, send and record one round; returns the outcomes and the dispatches to carry to the next round
    (their slot was not close enough to the round's: they were neither reserved nor claimed)."""
    outcomes: dict[int, str] = {}
    # One left `sending` that cannot be resent needs no slot: the claim fails it.
    unknown = [d for d in dispatches if d.status == DispatchStatus.SENDING and not _resend_safe(d)]
    rated = [d for d in dispatches if d not in unknown]
    starts = rate_reserve_many([dispatch_limits(d.account, d.kind, (d.options or {}).get("recipient")) for d in rated],
                               timeout=RATE_WAIT, spread=ROUND_SPREAD)
    start_of = {d.pk: start for d, (start, reserved) in zip(rated, starts, strict=True) if reserved}
    unreserved = [(d, start) for d, (start, reserved) in zip(rated, starts, strict=True) if not reserved]
    if unreserved and not start_of and not unknown:
        # Nothing in this round can go within RATE_WAIT: come back when the first slot is free, attempt unspent.
        with transaction.atomic():
            for dispatch, start in unreserved:
                _schedule_retry(dispatch, delay=max(0.0, start - time.time()) + random.uniform(0.0, 1.0), tag="rate")
                outcomes[dispatch.pk] = "rate-limited"
        return outcomes, []
    if start_of:
        rate_sleep_until(min(start_of.values()))  # claim just before the requests: a worker dying now loses nothing
    claimed = _claim_many([d.pk for d in unknown] + list(start_of))
    if claimed:
        messages_of = _messages_of(claimed)
        results = _send_all([(d, messages_of[d.pk], start_of.get(d.pk)) for d in claimed])
        outcomes.update(_record_many(claimed, messages_of, results))
    return outcomes, [dispatch for dispatch, _start in unreserved]


def _claim_many(dispatch_ids: list[int]) -> list[Dispatch]:
    """pending (or sending, after a crash) -> sending with one more attempt, committed before the provider calls.

    Returns the dispatches to send, with their new attempt numbers. A dispatch found in `sending` means a worker died
    during its call: when the provider has no idempotency key for it (LINE PNP, the Graph API) it is failed as
    "outcome unknown", not resent.
    """
    with transaction.atomic():
        # of=self: lock the dispatches only, not the account and workspace rows every worker shares (PostgreSQL).
        rows = list(Dispatch.objects.select_for_update(of=("self",)).select_related("account", "workspace")
                    .filter(pk__in=dispatch_ids).order_by("pk"))
        claimed = []
        for dispatch in rows:
            if dispatch.status in _FINISHED:
                continue
            if dispatch.status == DispatchStatus.SENDING and not _resend_safe(dispatch):
                _fail(dispatch, {"message": PNP_OUTCOME_UNKNOWN if dispatch.kind == DispatchKind.PNP
                                 else OUTCOME_UNKNOWN})
            elif not dispatch.account.is_active:
                _fail(dispatch, {"message": str(_("The channel account was disconnected before this was sent."))})
            else:
                claimed.append(dispatch)
        Dispatch.objects.filter(pk__in=[d.pk for d in claimed]).update(status=DispatchStatus.SENDING,
                                                                       attempts=F("attempts") + 1)
        for dispatch in claimed:
            dispatch.status, dispatch.attempts = DispatchStatus.SENDING, dispatch.attempts + 1
    return claimed


@dataclass(slots=True)
class MulticastRow:
    """One recipient's message of a multicast, as the adapter and the recorder read it. A multicast has up to 500
    recipients: model instances (and their identities) for each were most of the pipeline's own cost."""

    pk: int
    identity_id: int
    contact_id: int
    purpose: str
    position: int
    external_id: str  # the recipient's provider id (LINE userId)
    content: dict | None = None  # only on the first recipient's rows: the adapter renders those


def _messages_of(dispatches: list[Dispatch]) -> dict[int, list]:
    """Each dispatch's messages ordered by (identity, position), as adapters take them, with the recipients'
    external ids loaded so no request needs a query: Message instances (with their identity) for a push or a PNP,
    MulticastRows for a multicast."""
    out: dict[int, list] = {d.pk: [] for d in dispatches}
    single = [d.pk for d in dispatches if d.kind != DispatchKind.MULTICAST]
    for message in (Message.objects.filter(dispatch_id__in=single).select_related("identity")
                    .order_by("dispatch_id", "identity_id", "position")):
        out[message.dispatch_id].append(message)
    for dispatch in dispatches:
        if dispatch.kind != DispatchKind.MULTICAST:
            continue
        rows = [MulticastRow(*row) for row in dispatch.messages.order_by("identity_id", "position").values_list(
            "pk", "identity_id", "contact_id", "purpose", "position", "identity__external_id")]
        if rows:
            first = rows[0].identity_id
            contents = dict(dispatch.messages.filter(identity_id=first).values_list("position", "content"))
            for row in rows:
                if row.identity_id == first:
                    row.content = contents[row.position]
        out[dispatch.pk] = rows
    return out


_pool: ThreadPoolExecutor | None = None


def _send_all(requests: list[tuple[Dispatch, list, float | None]]) -> list[SendResult]:
    """Every request of a round at once, each when its rate-limit slot comes; results in request order."""
    global _pool
    if len(requests) == 1 or _in_flight() == 1:
        return [_send(*request) for request in requests]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_in_flight(), thread_name_prefix="deliver")
    return list(_pool.map(lambda request: _send(*request, own_thread=True), requests))


def _send(dispatch: Dispatch, messages: list, start: float | None, own_thread: bool = False) -> SendResult:
    if start is not None:
        rate_sleep_until(start)
    try:
        return adapter_for(dispatch.account.channel).send(dispatch.account, dispatch, messages)
    except Exception as exc:  # a bug or an unmapped network error: treat as transient, keep the reason
        logger.exception("dispatch %s: adapter.send raised", dispatch.pk)
        return SendResult(outcome="retry", error={"message": f"{type(exc).__name__}: {exc}"})
    finally:
        if own_thread:
            connections.close_all()  # an adapter that looked something up must not leave a connection per thread


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


def _fail(dispatch: Dispatch, error: dict) -> None:
    at = clock.now(dispatch.workspace)
    Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.FAILED, last_error=error)
    dispatch.status, dispatch.last_error = DispatchStatus.FAILED, error
    pending = dispatch.messages.filter(status=MessageStatus.QUEUED)
    ids = list(pending.values_list("pk", flat=True))
    pending.update(status=MessageStatus.FAILED, error=error, updated_at=at)
    events_bulk(dispatch.workspace_id, ids, EventKind.FAILED, at, error)


def _record_many(dispatches: list[Dispatch], messages_of: dict[int, list], results: list[SendResult]
                 ) -> dict[int, str]:
    """One short transaction: the outcome of each dispatch's attempt `dispatch.attempts`, unless another run has
    taken that dispatch over meanwhile ("superseded": it records nothing)."""
    outcomes: dict[int, str] = {}
    with transaction.atomic():
        current = {row["pk"]: (row["status"], row["attempts"]) for row in
                   Dispatch.objects.select_for_update().filter(pk__in=[d.pk for d in dispatches])
                   .values("pk", "status", "attempts")}
        sent = []
        for dispatch, result in zip(dispatches, results, strict=True):
            if current.get(dispatch.pk) != (DispatchStatus.SENDING, dispatch.attempts):
                outcomes[dispatch.pk] = "superseded"
                continue
            outcome = result.outcome
            if outcome == "retry" and dispatch.attempts >= MAX_ATTEMPTS:
                outcome = "failed"
            if outcome == "sent":
                sent.append((dispatch, result))
            elif outcome == "failed":
                _fail(dispatch, result.error or {"message": "failed", "status": result.http_status})
            else:
                outcome = "retry"
                Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.PENDING,
                                                               last_error=result.error)
                _schedule_retry(dispatch, delay=_backoff(dispatch.attempts, result.retry_after), tag="backoff")
            outcomes[dispatch.pk] = outcome
        by_workspace: dict[int, list] = {}
        for dispatch, result in sent:
            by_workspace.setdefault(dispatch.workspace_id, []).append((dispatch, result))
        for group in by_workspace.values():
            _record_sent(group, messages_of)
    return outcomes


def _record_sent(sent: list[tuple[Dispatch, SendResult]], messages_of: dict[int, list]) -> None:
    """Dispatches of one workspace that the provider accepted, in a handful of statements however many."""
    workspace = sent[0][0].workspace
    at = clock.now(workspace)
    ids = [dispatch.pk for dispatch, _result in sent]
    Dispatch.objects.filter(pk__in=ids).update(status=DispatchStatus.SENT, sent_at=at, last_error=None)
    provider_ids = []
    for dispatch, result in sent:
        if dispatch.kind != DispatchKind.MULTICAST:
            for message, provider_id in zip(messages_of[dispatch.pk], result.provider_message_ids or [],
                                            strict=False):
                message.provider_message_id = provider_id
                provider_ids.append((message.pk, provider_id))
    rows_update(Message, ["provider_message_id"], provider_ids)
    Message.objects.filter(dispatch_id__in=ids, status=MessageStatus.QUEUED).update(status=MessageStatus.SENT,
                                                                                    updated_at=at)
    dispatch_events_insert(ids, EventKind.SENT, at)
    messages = [message for pk in ids for message in messages_of[pk]]
    message_events_recorded(workspace_id=workspace.pk, kind=EventKind.SENT, message_ids=[m.pk for m in messages],
                            at=at, purposes={m.purpose for m in messages})
    touched: dict[str, set[int]] = {}
    for message in messages:
        if message.purpose in _TOUCH_KIND:
            touched.setdefault(_TOUCH_KIND[message.purpose], set()).add(message.contact_id)
    for kind, contact_ids in touched.items():
        contacts_touch(contact_ids=contact_ids, kind=kind, at=at)
