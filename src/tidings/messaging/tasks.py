"""Background work of the pipeline. Tasks only call services; the state machine lives in delivery.py."""

from django_tasks import task


@task()
def dispatches_deliver_task(dispatch_ids: list[int]) -> dict[str, int]:
    """Deliver a group of dispatches (one provider request each). Idempotent: safe to run again after a crash or a
    duplicate. Returns how many ended each way, for the task log."""
    from .delivery import dispatches_deliver

    counts: dict[str, int] = {}
    for outcome in dispatches_deliver(dispatch_ids=dispatch_ids).values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@task()
def dispatch_deliver_task(dispatch_id: int) -> str:
    """One dispatch: what earlier versions enqueued; still run so tasks queued before an upgrade are delivered."""
    from .delivery import dispatch_deliver

    return dispatch_deliver(dispatch_id=dispatch_id)
