"""Periodic clean-up jobs that no request or task triggers (old export files, abandoned uploads).

Apps register a job with `@housekeeping_job(name, every=…)` when they load; every worker calls `housekeeping_run_due`
with its heartbeat. The database cache, shared by every process, hands each job's turn to one worker per interval
(`cache.add` succeeds once), so ten workers do not all sweep the same files.
"""

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HousekeepingJob:
    name: str
    every: datetime.timedelta
    run: Callable[[], int]  # returns how many things it cleaned up, for the log


_JOBS: dict[str, HousekeepingJob] = {}
_next_ask: dict[str, float] = {}  # this process's next look at each job's turn (monotonic seconds)


def housekeeping_job(name: str, *, every: datetime.timedelta):
    """Register `func() -> int` to run about once per `every` on some worker."""

    def register(func: Callable[[], int]) -> Callable[[], int]:
        _JOBS[name] = HousekeepingJob(name=name, every=every, run=func)
        return func

    return register


def housekeeping_jobs() -> list[HousekeepingJob]:
    return list(_JOBS.values())


def housekeeping_run_due() -> dict[str, int]:
    """Run each job whose turn this process wins; returns name -> what it cleaned. A job that raises is logged and
    tried again at its next turn: a clean-up must never stop the worker."""
    done = {}
    now = time.monotonic()
    for job in housekeeping_jobs():
        if now < _next_ask.get(job.name, 0.0):
            continue
        # Asking costs a write to the shared cache: each process asks a dozen times per interval, not every beat.
        _next_ask[job.name] = now + job.every.total_seconds() / 12
        try:
            if not cache.add(f"housekeeping:{job.name}", True, timeout=job.every.total_seconds()):
                continue  # another worker has this turn (or this one had it less than `every` ago)
            done[job.name] = job.run()
        except Exception:  # noqa: BLE001 - logged; the next turn tries again
            logger.exception("housekeeping job %s failed", job.name)
            continue
        if done[job.name]:
            logger.info("housekeeping %s: %d cleaned up", job.name, done[job.name])
    return done
