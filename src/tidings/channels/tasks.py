"""Background work for channels: processing stored webhook events."""

from django_tasks import task

from . import inbound


@task()
def webhook_event_process(event_id: int) -> None:
    inbound.webhook_event_process(event_id=event_id)
