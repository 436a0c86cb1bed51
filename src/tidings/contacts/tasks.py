"""Background work of contact import and export. Tasks only call the services in imports.py and exports.py."""

from django_tasks import task

from tidings.core.tasking import worker_beat


@task(takes_context=True)
def contact_import_task(context, import_id: int) -> str:
    """Run (or resume) an import or dry run. Safe to run twice: see imports.contact_import_run."""
    from .imports import contact_import_run

    return contact_import_run(import_id=import_id, beat=worker_beat(context))


@task(takes_context=True)
def contact_export_task(context, export_id: int) -> str:
    from .exports import contact_export_run

    return contact_export_run(export_id=export_id, beat=worker_beat(context))
