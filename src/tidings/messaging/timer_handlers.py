"""Durable timers of the pipeline: a retry after backoff is a timer, so it survives restarts and test clocks."""

from tidings.timers.registry import timer_handler

from .delivery import RETRY_TIMER_KIND, dispatch_retry_due


@timer_handler(RETRY_TIMER_KIND)
def dispatch_retry(timer):
    # Re-checks that the dispatch still waits; the task is enqueued when the timer's transaction commits.
    dispatch_retry_due(workspace=timer.workspace, dispatch_id=timer.payload["dispatch_id"])
