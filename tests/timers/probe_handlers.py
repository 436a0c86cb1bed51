"""Test-only timer handlers. Tests import this module; worker subprocesses load it through
TIDINGS_TIMER_HANDLER_MODULES=tests.timers.probe_handlers (with the repo root on PYTHONPATH).

Every firing is recorded as an AuditEntry (a table with no unique constraint), so a double firing would show up as
two rows for one key rather than be swallowed by a constraint.
"""

import os
import time

from tidings.core.models import AuditEntry
from tidings.core.services import audit_record
from tidings.timers.registry import timer_handler

FIRED = "probe.fired"


class ProbeError(Exception):
    pass


@timer_handler("probe.record")
def record(timer):
    if timer.payload.get("sleep"):  # widen the window in which a batch is in flight, for the kill test
        time.sleep(timer.payload["sleep"])
    if os.environ.get("PROBE_CALLS_FILE"):  # outside the database: survives the rollback of a killed batch
        with open(os.environ["PROBE_CALLS_FILE"], "a") as calls:
            calls.write(f"{timer.key}\n")
    audit_record(workspace=timer.workspace, actor=None, action=FIRED, target=timer, changes={"key": timer.key, "pid": os.getpid()})


@timer_handler("probe.fail")
def fail(timer):
    raise ProbeError(f"probe failure for {timer.key}")


@timer_handler("probe.write_then_raise")
def write_then_raise(timer):
    record(timer)
    raise ProbeError(f"wrote, then failed, for {timer.key}")


@timer_handler("probe.schedule_next")
def schedule_next(timer):
    """Schedules a follow-up relative to the workspace clock at firing time (test clock jumps)."""
    import datetime

    from tidings.timers.services import timer_schedule

    record(timer)
    if timer.payload.get("then"):
        timer_schedule(
            workspace=timer.workspace, kind="probe.record", key=timer.payload["then"],
            delay=datetime.timedelta(minutes=timer.payload.get("after_minutes", 30)),
        )


def firings(**filters):
    return AuditEntry.objects.filter(action=FIRED, **filters)


def fired_keys(workspace=None) -> list[str]:
    qs = firings() if workspace is None else firings(workspace=workspace)
    return sorted(qs.values_list("changes__key", flat=True))
