"""Background work for channels: processing stored webhook events."""

from django_tasks import task

from . import inbound


@task()
def webhook_events_process(event_ids: list[int]) -> None:
    """The events of one webhook body, in order (a Graph body batches up to 1,000 statuses): one task, not one each."""
    for event_id in event_ids:
        inbound.webhook_event_process(event_id=event_id)


@task()
def webhook_event_process(event_id: int) -> None:
    """One event: what earlier versions enqueued; still run so tasks queued before an upgrade are processed."""
    inbound.webhook_event_process(event_id=event_id)
