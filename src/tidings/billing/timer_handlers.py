"""The monthly bill is a durable timer on the workspace clock: due on the 3rd, it bills the month before and
schedules the next 3rd (services.bill_due). Sandbox test clocks move it like any timer."""

import datetime

from tidings.timers.registry import timer_handler

from .services import BILL_TIMER_KIND, bill_due


@timer_handler(BILL_TIMER_KIND)
def monthly_bill(timer):
    bill_due(workspace=timer.workspace, month=datetime.date.fromisoformat(timer.payload["month"]))
