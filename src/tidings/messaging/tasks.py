"""Background work of the pipeline. Tasks only call services; the state machine lives in services.py."""

from django_tasks import task


@task()
def dispatch_deliver_task(dispatch_id: int) -> str:
    """Deliver one Dispatch (one provider request). Idempotent: safe to run again after a crash or a duplicate."""
    from .services import dispatch_deliver

    return dispatch_deliver(dispatch_id=dispatch_id)
