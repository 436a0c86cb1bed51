"""Background work of the inbox. Tasks only call the services (exports.py)."""

from django_tasks import task

from tidings.core.tasking import worker_beat


@task(takes_context=True)
def conversation_export_task(context, export_id: int) -> str:
    """Build (or rebuild) a conversation export. Safe to run twice: see exports.conversation_export_run."""
    from .exports import conversation_export_run

    return conversation_export_run(export_id=export_id, beat=worker_beat(context))
