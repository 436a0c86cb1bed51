"""Background work of contact import and export. Tasks only call the services in imports.py and exports.py."""

import time

from django_tasks import task

BEAT_EVERY = 5.0  # seconds; the worker's own heartbeat interval


def _beat(context):
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


@task(takes_context=True)
def contact_import_task(context, import_id: int) -> str:
    """Run (or resume) an import or dry run. Safe to run twice: see imports.contact_import_run."""
    from .imports import contact_import_run

    return contact_import_run(import_id=import_id, beat=_beat(context))


@task(takes_context=True)
def contact_export_task(context, export_id: int) -> str:
    from .exports import contact_export_run

    return contact_export_run(export_id=export_id, beat=_beat(context))
