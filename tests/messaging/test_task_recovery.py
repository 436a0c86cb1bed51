"""Tasks whose worker died (no fresh heartbeat) go back to READY; a live worker's running task is left alone."""

import datetime

import pytest
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tidings.core.models import WorkerHeartbeat
from tidings.timers.task_recovery import tasks_requeue_orphaned

pytestmark = pytest.mark.django_db


def running(worker_ids):
    return DBTaskResult.objects.create(
        status=TaskResultStatus.RUNNING, started_at=timezone.now(), args_kwargs={"args": [1], "kwargs": {}},
        task_path="tidings.messaging.tasks.dispatch_deliver_task", worker_ids=worker_ids, backend_name="default",
        run_after=datetime.datetime(9999, 1, 1, tzinfo=datetime.timezone.utc),
    )


def test_only_tasks_of_dead_workers_are_requeued():
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="host:alive", last_seen=now)
    WorkerHeartbeat.objects.create(worker_id="host:stale", last_seen=now - datetime.timedelta(seconds=31))
    alive = running(["host:dead", "host:alive"])  # retaken by a live worker: its last claimant counts
    stale = running(["host:stale"])
    vanished = running(["host:gone"])  # heartbeat row removed
    done = running(["host:gone"])
    DBTaskResult.objects.filter(pk=done.pk).update(status=TaskResultStatus.SUCCESSFUL)

    assert tasks_requeue_orphaned() == 2
    states = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert states[alive.pk] == TaskResultStatus.RUNNING
    assert states[stale.pk] == states[vanished.pk] == TaskResultStatus.READY
    assert states[done.pk] == TaskResultStatus.SUCCESSFUL
    assert DBTaskResult.objects.get(pk=stale.pk).started_at is None
    assert DBTaskResult.objects.ready().filter(pk__in=[stale.pk, vanished.pk]).count() == 2  # claimable now
    assert tasks_requeue_orphaned() == 0
