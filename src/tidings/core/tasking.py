"""Enqueue background work so that it can never run before the data it reads is committed."""

import time
from functools import partial

from django.db import transaction


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Enqueue `task` as part of the current transaction's outcome.

    With the database task backend the task row is written in the same transaction as the data (a transactional
    outbox): both commit or neither, with one commit instead of two - a webhook receiver's write lock is taken once.
    With any other backend (a broker) the task is enqueued after the commit, so a worker cannot see it first.
    """
    from django_tasks import task_backends

    backend = task_backends[task.backend]
    if type(backend).__module__.startswith("django_tasks_db") and transaction.get_connection().in_atomic_block:
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(partial(task.enqueue, *args, **kwargs))


BEAT_EVERY = 5.0  # seconds; the worker's own heartbeat interval


def worker_beat(context):
    """A callable that tells the worker's heartbeat we are alive, for tasks that run longer than the heartbeat's
    staleness limit (a 100,000-row import takes a minute). Without it, `tasks_requeue_orphaned` would take the
    running task for a dead worker's and start it again beside itself. Only the database backend has workers."""
    from django_tasks import task_backends

    result = context.task_result
    backend = task_backends[result.backend]
    if not result.worker_ids or not type(backend).__module__.startswith("django_tasks_db"):
        return None
    worker_id = result.worker_ids[-1]
    last = [time.monotonic()]

    def beat():
        from tidings.core.services import worker_heartbeat

        now = time.monotonic()
        if now - last[0] >= BEAT_EVERY:
            worker_heartbeat(worker_id=worker_id)
            last[0] = now

    return beat
