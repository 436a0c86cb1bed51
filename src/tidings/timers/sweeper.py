"""Claims due timers and fires them exactly once, even when a sweeper process is killed mid-batch.

Two short transactions per batch:
1. claim: pick due, unleased rows (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer) and lease them;
2. fire: lock the rows still carrying our lease, run every handler in a savepoint, mark them done - all in one
   transaction, so a handler's effects and the done mark commit together. A process killed in step 2 commits
   nothing; its lease runs out and another sweeper retakes the rows.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Timer, TimerState
from .registry import handler_for

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def _retry_delay(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(10 * 2 ** (attempts - 1), 3600))


def claim_due(*, limit: int, workspace=None) -> tuple[list[int], datetime.datetime]:
    now = timezone.now()
    lease_until = now + datetime.timedelta(seconds=settings.TIMER_LEASE_SECONDS)
    due = Timer.objects.filter(state=TimerState.PENDING, fires_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if workspace is not None:
        due = due.filter(workspace=workspace)
    with transaction.atomic():
        ids = list(
            due.order_by("fires_at").select_for_update(skip_locked=True).values_list("id", flat=True)[:limit]
        )
        if ids:
            Timer.objects.filter(id__in=ids).update(lease_until=lease_until, attempts=F("attempts") + 1)
    return ids, lease_until


def fire_claimed(ids: list[int], lease_until: datetime.datetime) -> int:
    """Run the handlers of timers we leased; returns how many completed."""
    if not ids:
        return 0
    with transaction.atomic():
        # Rows whose lease changed were retaken by another sweeper after ours ran out: not ours to fire.
        timers = list(
            Timer.objects.select_for_update()
            .filter(id__in=ids, lease_until=lease_until, state=TimerState.PENDING)
            .select_related("workspace")
            .order_by("fires_at", "id")
        )
        done_ids = []
        for timer in timers:
            handler = handler_for(timer.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler registered for timer kind {timer.kind!r}")
                with transaction.atomic():
                    handler(timer)
            except Exception as exc:  # noqa: BLE001 - one bad timer must not stop the batch
                logger.exception("timer %s (%s) failed on attempt %s", timer.pk, timer.kind, timer.attempts)
                _record_failure(timer, exc)
            else:
                done_ids.append(timer.pk)
        if done_ids:
            Timer.objects.filter(id__in=done_ids).update(
                state=TimerState.DONE, fired_at=timezone.now(), lease_until=None, last_error=""
            )
    return len(done_ids)


def _record_failure(timer: Timer, exc: Exception) -> None:
    error = f"{exc.__class__.__name__}: {exc}"[:2000]
    if timer.attempts >= MAX_ATTEMPTS:
        Timer.objects.filter(pk=timer.pk).update(state=TimerState.FAILED, lease_until=None, last_error=error)
    else:
        Timer.objects.filter(pk=timer.pk).update(
            lease_until=None, last_error=error, fires_at=timezone.now() + _retry_delay(timer.attempts)
        )


def sweep_once(*, limit: int | None = None, workspace=None) -> int:
    """Claim and fire one batch; returns how many rows were claimed (0 when nothing is due)."""
    ids, lease_until = claim_due(limit=limit or settings.TIMER_BATCH_SIZE, workspace=workspace)
    fire_claimed(ids, lease_until)
    return len(ids)


def sweep_until_idle(*, workspace=None, limit: int | None = None) -> int:
    total = 0
    while claimed := sweep_once(limit=limit, workspace=workspace):
        total += claimed
    return total
