"""Exactly-once under real worker processes: SIGKILL mid-sweep, and two workers racing for the same rows.

These run real `tidings worker --no-tasks` subprocesses against the test database, so they need committed data
(transactional tests). Every firing is an AuditEntry row - a table without a unique constraint - so a timer fired
twice would show as two rows.
"""

import collections
import time

import pytest
from django.db import connection

from tidings.core.models import WorkerHeartbeat
from tidings.timers.models import Timer, TimerState

from .conftest import bulk_timers, wait_for
from .probe_handlers import firings

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAIT = 120  # seconds; generous for a loaded CI machine, and every wait is bounded


def assert_each_fired_exactly_once(n: int):
    per_timer = collections.Counter(firings().values_list("target_id", flat=True))
    twice = {k: v for k, v in per_timer.items() if v != 1}
    assert not twice, f"{len(twice)} timers fired more than once, e.g. {list(twice.items())[:5]}"
    keys = set(firings().values_list("changes__key", flat=True))
    assert len(per_timer) == n and len(keys) == n
    assert Timer.objects.filter(state=TimerState.DONE).count() == n
    assert set(per_timer) == {str(pk) for pk in Timer.objects.values_list("pk", flat=True)}


def test_sigkill_mid_sweep_then_a_fresh_worker_fires_every_timer_exactly_once(workspace, workers, tmp_path):
    n = 10_000
    bulk_timers(workspace, n, payload={"sleep": 0.0005})
    started = time.monotonic()
    calls = tmp_path / "calls.txt"  # every handler call, written outside the database
    workers.env["PROBE_CALLS_FILE"] = str(calls)

    def handler_calls() -> int:
        return len(calls.read_text().splitlines()) if calls.exists() else 0

    first = workers.start(batch_size=100, lease_seconds=2)
    try:
        # Some batches committed, and the current one has started calling handlers.
        wait_for(
            lambda: firings().count() >= 500 and handler_calls() > firings().count(), timeout=WAIT, every=0.005,
            what="the first worker to fire some and be in the middle of a batch",
        )
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    workers.kill(first)  # SIGKILL: no cleanup, mid-transaction
    fired_before_kill = firings().count()
    lost = handler_calls() - fired_before_kill  # handlers that ran in the batch the kill rolled back
    assert 0 < fired_before_kill < n, "the worker finished before it could be killed; raise n"
    assert lost > 0, "the kill did not land inside a batch"

    workers.start(batch_size=100, lease_seconds=2)
    wait_for(
        lambda: not Timer.objects.filter(state=TimerState.PENDING).exists(), timeout=WAIT, what="every timer to fire"
    )
    assert_each_fired_exactly_once(n)
    print(
        f"\n[{connection.vendor}] killed after {fired_before_kill} firings with {lost} handler calls of the "
        f"batch in flight rolled back; all {n} exactly once in {time.monotonic() - started:.1f} s"
    )


def test_two_concurrent_workers_fire_each_timer_exactly_once(workspace, workers):
    n = 2_000
    workers.start(batch_size=50)
    workers.start(batch_size=50)
    wait_for(lambda: WorkerHeartbeat.objects.count() == 2, timeout=WAIT, what="both workers to start")
    bulk_timers(workspace, n)  # one transaction: both workers see all of them due at once
    wait_for(
        lambda: not Timer.objects.filter(state=TimerState.PENDING).exists(), timeout=WAIT, what="every timer to fire"
    )
    assert_each_fired_exactly_once(n)
    pids = collections.Counter(firings().values_list("changes__pid", flat=True))
    print(f"\n[{connection.vendor}] firings per worker: {dict(pids)}")
    if connection.vendor == "postgresql":  # SKIP LOCKED lets both work at once
        assert len(pids) == 2, f"both workers should have fired some: {dict(pids)}"
    # On SQLite one writer at a time: the worker that holds the lock often keeps winning it. Still exactly once.
