"""Background work of the notification shortcut. Tasks only call the cascade."""

from django_tasks import task


@task()
def notifications_start_task(notification_ids: list[int]) -> dict:
    """Start the cascade of the notifications one API call accepted. Safe to run again: only queued ones start."""
    from .cascade import notifications_start

    return {str(k): v for k, v in notifications_start(notification_ids=notification_ids).items()}
