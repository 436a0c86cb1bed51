"""Background work of the inbox. Tasks only call the services (exports.py)."""

from django_tasks import task

# The worker-heartbeat helper of the contact import and export, shared rather than copied: an export of a long
# range outlives the heartbeat's staleness limit just the same.
from tidings.contacts.tasks import _beat as worker_beat


@task(takes_context=True)
def conversation_export_task(context, export_id: int) -> str:
    """Build (or rebuild) a conversation export. Safe to run twice: see exports.conversation_export_run."""
    from .exports import conversation_export_run

    return conversation_export_run(export_id=export_id, beat=worker_beat(context))
