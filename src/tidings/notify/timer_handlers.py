"""The SMS wait is a durable timer: it survives restarts and follows a sandbox's test clock."""

from tidings.timers.registry import timer_handler

from .cascade import WAIT_TIMER_KIND, notification_advance


@timer_handler(WAIT_TIMER_KIND)
def pnp_wait_over(timer):
    # Re-checks the notification: delivered meanwhile → nothing; otherwise the SMS goes out (or it fails).
    notification_advance(notification_id=timer.payload["notification_id"], timer_due_at=timer.due_at)
