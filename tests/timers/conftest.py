import datetime
import time

import pytest
from django.utils import timezone

from tests.support.workers import WorkerProcesses
from tests.timers import probe_handlers  # noqa: F401 - registers the probe.* kinds in this process
from tidings.timers.models import Timer


class Workers(WorkerProcesses):
    """`tidings worker --no-tasks` processes: timers only, with the probe handlers loaded."""

    def start(self, *, batch_size=100, lease_seconds=2, interval=0.05):
        return self.spawn(["--no-tasks", "--interval", str(interval)], {
            "TIDINGS_TIMER_HANDLER_MODULES": "tests.timers.probe_handlers",
            "TIDINGS_TIMER_LEASE_SECONDS": str(lease_seconds),
            "TIDINGS_TIMER_BATCH_SIZE": str(batch_size),
        })


@pytest.fixture
def workers(tmp_path):
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.kill_all()


def wait_for(predicate, *, timeout: float, every: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def bulk_timers(workspace, n: int, *, kind="probe.record", prefix="t", due=None, payload=None) -> None:
    due = due or timezone.now() - datetime.timedelta(seconds=1)
    Timer.objects.bulk_create(
        (Timer(workspace=workspace, kind=kind, key=f"{prefix}{i}", due_at=due, fires_at=due, payload=payload or {})
            for i in range(n)),
        batch_size=1000,
    )
