"""Putting back tasks whose worker died (django-tasks-db leaves a SIGKILLed worker's task RUNNING forever).

A RUNNING task is orphaned when the worker that claimed it last (`worker_ids[-1]`) has no heartbeat fresher than
`stale_after` seconds: it went back to READY, and the next worker runs it again. Tasks must therefore be safe to run
twice (the message pipeline's are: see messaging/services.py). Workers beat every few seconds between tasks, so a
single task that runs longer than `stale_after` would look orphaned; keep tasks shorter than that.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from tidings.core.models import WorkerHeartbeat

STALE_AFTER = 30.0  # seconds without a heartbeat before a worker's running task is taken back


def tasks_requeue_orphaned(*, stale_after: float = STALE_AFTER) -> int:
    """Return RUNNING tasks of dead workers to READY (and clear started_at). Returns how many were requeued."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - datetime.timedelta(seconds=stale_after)
    alive = set(WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).values_list("worker_id", flat=True))
    orphaned = [
        pk for pk, worker_ids in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
        .values_list("pk", "worker_ids")
        if not worker_ids or worker_ids[-1] not in alive
    ]
    if not orphaned:
        return 0
    with transaction.atomic():
        # Still RUNNING: a task that finished meanwhile keeps its result.
        return DBTaskResult.objects.filter(pk__in=orphaned, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        )
