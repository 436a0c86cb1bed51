"""Takes due timers and fires them exactly once, even when a sweeper process is killed mid-batch.

One transaction per batch (`_sweep_batch`): read the earliest due rows, locking them (FOR UPDATE SKIP LOCKED on
PostgreSQL; SQLite has one writer, taken up front by its IMMEDIATE transactions), run their handlers, mark them
done. A handler's effects and the done mark commit together or not at all; a process killed mid-batch commits
nothing and the rows are due again at once. One write per timer.

Handlers registered `outside_transaction` (they call out over HTTP) use the lease protocol instead: `claim_due`
leases the rows (`lease_until`, `attempts` + 1) and commits; `fire_claimed` runs them holding only the lease and
marks each done if it still carries that lease. A row's lease only ever moves forward, so "lease_until equals the
value we wrote" identifies our claim: a sweeper whose lease ran out and was retaken finds nothing to fire. A batch
takes only the leading run of one kind of handler, so due order holds across the two. docs/timers.md has the
argument in full.

Speed: a batch runs every handler inside a single savepoint with no per-timer savepoint; only if a handler raises
is that savepoint rolled back and the batch re-run with a savepoint per timer, so one failing timer neither stops
nor leaks into the others. Rolled-back work (including `transaction.on_commit` callbacks) never happened, so
re-running a handler there is safe.
"""

import datetime
import itertools
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from tidings.core.models import Workspace

from .models import Timer, TimerState
from .registry import handler_for, outside_transaction_kinds

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5

# The columns a handler and the sweeper need; `last_error` and `created_at` stay in the database.
_FIRE_FIELDS = ("id", "workspace_id", "kind", "key", "due_at", "fires_at", "payload", "state", "lease_until", "attempts")


class UnknownTimerKind(LookupError):
    pass


def _retry_delay(attempts: int) -> datetime.timedelta:
    """Back-off after a failed attempt: 10 s, 20 s, 40 s, ... capped at an hour."""
    return datetime.timedelta(seconds=min(10 * 2 ** (attempts - 1), 3600))


def _due(now: datetime.datetime, workspace=None):
    due = Timer.objects.filter(state=TimerState.PENDING, fires_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if workspace is not None:
        due = due.filter(workspace=workspace)
    return due


def claim_due(*, limit: int, workspace=None) -> tuple[list[int], datetime.datetime]:
    """Lease up to `limit` due timers; returns their ids, earliest first, and the lease they now carry."""
    rows, lease_until = _claim(limit=limit, workspace=workspace)
    return [pk for pk, _kind in rows], lease_until


def _claim(*, limit: int, workspace=None) -> tuple[list[tuple[int, str]], datetime.datetime]:
    """Lease up to `limit` due timers; returns (id, kind) pairs in due order and the lease.

    One statement, `UPDATE ... WHERE id IN (SELECT ... LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING id`: one round
    trip, and no list of ids sent back to the database.
    """
    now = timezone.now()
    lease_until = now + datetime.timedelta(seconds=settings.TIMER_LEASE_SECONDS)
    due = _due(now, workspace).order_by("fires_at", "id")
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        pick_sql, pick_params = due.values("id")[:limit].query.sql_with_params()
        table = connection.ops.quote_name(Timer._meta.db_table)
        lease_param = Timer._meta.get_field("lease_until").get_db_prep_value(lease_until, connection)
        # PostgreSQL would happily plan `IN (subquery)` as a join over the whole table; ANY(ARRAY(...)) makes it pick
        # the few rows first. SQLite evaluates `IN (subquery)` once, as a set.
        picked = f"= ANY(ARRAY({pick_sql}))" if connection.vendor == "postgresql" else f"IN ({pick_sql})"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET lease_until = %s, attempts = attempts + 1 WHERE id {picked} "
                "RETURNING id, kind, fires_at",
                [lease_param, *pick_params],
            )
            rows = sorted(cursor.fetchall(), key=lambda row: (row[2], row[0]))  # RETURNING has no order
    return [(pk, kind) for pk, kind, _fires_at in rows], lease_until


def fire_claimed(
    ids: list[int], lease_until: datetime.datetime, *, kinds: list[tuple[int, str]] | None = None
) -> int:
    """Run the handlers of timers we leased; returns how many completed. `kinds`: (id, kind) in due order, as
    `_claim` returns them (read from the table when not given)."""
    if not ids:
        return 0
    io_kinds = outside_transaction_kinds()
    if not io_kinds:
        return _fire_in_transaction(ids, lease_until)
    # Keep due order across the two ways of firing: consecutive runs of each, earliest first (a status callback
    # due before a retry must be seen before it).
    ordered = kinds or Timer.objects.filter(id__in=ids).order_by("fires_at", "id").values_list("id", "kind")
    fired = 0
    for outside, run in itertools.groupby(ordered, key=lambda row: row[1] in io_kinds):
        run_ids = [pk for pk, _kind in run]
        fired += (_fire_outside_transaction if outside else _fire_in_transaction)(run_ids, lease_until)
    return fired


def _fire_outside_transaction(ids: list[int], lease_until: datetime.datetime) -> int:
    """Handlers that call out (registry: outside_transaction): run holding only our lease, then mark done.

    At least once: a crash between the call and the done mark runs the handler again after the lease.
    """
    timers = list(
        Timer.objects.filter(id__in=ids, lease_until=lease_until, state=TimerState.PENDING)
        .select_related("workspace").order_by("fires_at", "id")
    )
    fired = 0
    for timer in timers:
        if timer.attempts > MAX_ATTEMPTS:
            _record_failure(timer, RuntimeError(f"no sweeper completed it in {timer.attempts} claims"), final=True)
            continue
        try:
            _call(timer)
        except Exception as exc:  # noqa: BLE001 - one bad timer must not stop the batch
            logger.warning("timer %s (%s %s) failed on attempt %s: %s", timer.pk, timer.kind, timer.key,
                           timer.attempts, exc)
            _record_failure(timer, exc, final=timer.attempts >= MAX_ATTEMPTS)
            continue
        fired += Timer.objects.filter(pk=timer.pk, lease_until=lease_until, state=TimerState.PENDING).update(
            state=TimerState.DONE, fired_at=timezone.now(), lease_until=None, last_error=""
        )
    return fired


def _fire_in_transaction(ids: list[int], lease_until: datetime.datetime) -> int:
    with transaction.atomic():
        # Rows whose lease changed were retaken by another sweeper after ours ran out; rows no longer pending were
        # cancelled or replaced meanwhile. Neither is ours to fire. FOR UPDATE (PostgreSQL) holds them against a
        # retake or a cancel until we commit; SQLite's write lock, taken at BEGIN, does the same.
        timers = list(
            Timer.objects.filter(id__in=ids, lease_until=lease_until, state=TimerState.PENDING)
            .only(*_FIRE_FIELDS)
            .order_by("fires_at", "id")
            .select_for_update(of=("self",))
        )
        return _fire_locked(timers)


def _fire_locked(timers: list[Timer], *, count_attempt: bool = False) -> int:
    """Inside the caller's transaction, on rows it holds: run the handlers, mark the completed ones done.

    `count_attempt`: the rows were taken without a lease claim, so this firing is their attempt.
    """
    if not timers:
        return 0
    workspaces = Workspace.objects.in_bulk({t.workspace_id for t in timers})
    for timer in timers:
        timer.workspace = workspaces[timer.workspace_id]
        if count_attempt:
            timer.attempts += 1
    gave_up = [t for t in timers if t.attempts > MAX_ATTEMPTS]  # claimed again and again, never completed
    for timer in gave_up:
        _record_failure(timer, RuntimeError(f"no sweeper completed it in {timer.attempts} claims"), final=True)
    runnable = [t for t in timers if t.attempts <= MAX_ATTEMPTS]
    done_ids = _run_fast(runnable)
    if done_ids is None:
        done_ids = _run_isolated(runnable)
    if done_ids:
        Timer.objects.filter(id__in=done_ids).update(
            state=TimerState.DONE, fired_at=timezone.now(), lease_until=None, last_error="",
            attempts=F("attempts") + (1 if count_attempt else 0),
        )
    return len(done_ids)


def _sweep_batch(*, limit: int, workspace=None) -> tuple[int, int]:
    """Take the earliest due timers and fire them; returns (taken, fired).

    The leading run of in-transaction timers is taken, fired and marked done in ONE transaction: its rows are
    locked (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's single writer) from the moment they are read, so a
    crashed sweeper commits nothing and the rows are due again at once - no lease needed, one write per timer.
    A leading run of outside-transaction timers is leased in that transaction instead and fired after it commits
    (fire_claimed's lease protocol). Taking only the leading run keeps due order across the two.
    """
    now = timezone.now()
    io_kinds = outside_transaction_kinds()
    due = _due(now, workspace).order_by("fires_at", "id").only(*_FIRE_FIELDS)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        head = list(due[:limit])
        if not head:
            return 0, 0
        outside = head[0].kind in io_kinds
        run = list(itertools.takewhile(lambda t: (t.kind in io_kinds) == outside, head))
        if not outside:
            return len(run), _fire_locked(run, count_attempt=True)
        lease_until = now + datetime.timedelta(seconds=settings.TIMER_LEASE_SECONDS)
        ids = [t.pk for t in run]
        Timer.objects.filter(id__in=ids).update(lease_until=lease_until, attempts=F("attempts") + 1)
    return len(ids), _fire_outside_transaction(ids, lease_until)


class _BatchFailed(Exception):
    pass


def _call(timer: Timer) -> None:
    handler = handler_for(timer.kind)
    if handler is None:
        raise UnknownTimerKind(f"no handler registered for timer kind {timer.kind!r}")
    handler(timer)


def _run_fast(timers: list[Timer]) -> list[int] | None:
    """Every handler under one savepoint. None if any raised (the savepoint is then rolled back: nothing stays)."""
    try:
        with transaction.atomic():
            for timer in timers:
                try:
                    _call(timer)
                except Exception as exc:  # noqa: BLE001
                    raise _BatchFailed from exc
    except _BatchFailed:
        return None
    return [t.pk for t in timers]


def _run_isolated(timers: list[Timer]) -> list[int]:
    """A savepoint per handler: one that raises is rolled back alone, recorded as failed, and the rest go on."""
    done_ids = []
    for timer in timers:
        try:
            with transaction.atomic():
                _call(timer)
        except Exception as exc:  # noqa: BLE001 - one bad timer must not stop the batch
            logger.warning(
                "timer %s (%s %s) failed on attempt %s: %s", timer.pk, timer.kind, timer.key, timer.attempts, exc,
                exc_info=not isinstance(exc, UnknownTimerKind),
            )
            _record_failure(timer, exc, final=timer.attempts >= MAX_ATTEMPTS)
        else:
            done_ids.append(timer.pk)
    return done_ids


def _record_failure(timer: Timer, exc: Exception, *, final: bool) -> None:
    error = f"{exc.__class__.__name__}: {exc}"[:2000]
    if final:
        Timer.objects.filter(pk=timer.pk).update(
            state=TimerState.FAILED, lease_until=None, last_error=error, attempts=timer.attempts
        )
    else:
        Timer.objects.filter(pk=timer.pk).update(
            lease_until=None, last_error=error, fires_at=timezone.now() + _retry_delay(timer.attempts),
            attempts=timer.attempts,
        )


def sweep_once(*, limit: int | None = None, workspace=None) -> int:
    """Claim and fire one batch; returns how many rows were claimed (0 when nothing is due)."""
    taken, _fired = _sweep_batch(limit=limit or settings.TIMER_BATCH_SIZE, workspace=workspace)
    return taken


def sweep_until_idle(*, workspace=None, limit: int | None = None) -> int:
    """Sweep until nothing is due; returns how many timers fired (failures and retries not counted)."""
    fired = 0
    while True:
        taken, fired_now = _sweep_batch(limit=limit or settings.TIMER_BATCH_SIZE, workspace=workspace)
        if not taken:
            return fired
        fired += fired_now


def seconds_until_next_due() -> float | None:
    """How long until the earliest pending timer is due (<= 0 if one already is); None when none is pending."""
    earliest = Timer.objects.filter(state=TimerState.PENDING).aggregate(t=Min("fires_at"))["t"]
    if earliest is None:
        return None
    return (earliest - timezone.now()).total_seconds()
