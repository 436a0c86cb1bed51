"""Enqueue background work so that it can never run before the data it reads is committed."""

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
