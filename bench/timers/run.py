#!/usr/bin/env python
"""Durable-timer benchmark: N timers all due at one instant T, W real workers; how late do they fire?

    bench/run timers                                   # SQLite, 100,000 timers, 2 workers
    bench/run timers --database-url postgres://postgres@127.0.0.1:5432/postgres --workers 2

It makes a throwaway database (a SQLite file under var/, or a PostgreSQL database `tidings_bench` created and
dropped on the server named by --database-url), migrates it, starts W `tidings worker --no-tasks` processes, bulk-
inserts N no-op timers due at T = a few seconds ahead, waits until every one is done (bounded by --timeout), and
prints throughput from T to the last firing, the lateness distribution (fired_at - fires_at) and p99 / goal.
Workers are stopped and the database removed whatever happens.
"""

import argparse
import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench.common import Database, percentile, process_env  # noqa: E402
GOAL_P99_SECONDS = 2.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100_000, help="timers due at once (default 100000)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--database-url", help="a PostgreSQL server URL; a database tidings_bench is made on it")
    p.add_argument("--batch-size", type=int, help="TIDINGS_TIMER_BATCH_SIZE for the workers (default: settings)")
    p.add_argument("--lead", type=float, help="seconds from the start of the insert to T (default 3 + count/15000)")
    p.add_argument("--timeout", type=float, default=300, help="give up after this many seconds (default 300)")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def worker_env(db: Database, batch_size: int | None) -> dict:
    env = process_env(db, TIDINGS_TIMER_HANDLER_MODULES="bench.timers.handlers", TIDINGS_LOG_LEVEL="WARNING")
    if batch_size:
        env["TIDINGS_TIMER_BATCH_SIZE"] = str(batch_size)
    return env


def main() -> int:
    args = parse_args()
    db = Database(args.database_url, "tidings_bench")
    db.create()
    env = worker_env(db, args.batch_size)
    os.environ.update(env)
    sys.path[:0] = [str(REPO), str(REPO / "src")]
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from tidings.core.models import WorkerHeartbeat
    from tidings.core.services import workspace_create
    from tidings.timers.models import Timer, TimerState

    procs: list[subprocess.Popen] = []
    try:
        call_command("migrate", verbosity=0)
        vendor = connection.vendor
        batch = args.batch_size or settings.TIMER_BATCH_SIZE
        print(f"database: {vendor} ({db.url}); timers: {args.count:,}; workers: {args.workers}; batch: {batch}")

        for _ in range(args.workers):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tidings.cli", "worker", "--no-tasks"], env=env, cwd=REPO,
                    stdout=sys.stdout, stderr=sys.stderr,
                )
            )
        workspace = workspace_create(slug="bench", name="Bench")

        deadline = time.monotonic() + 60
        while WorkerHeartbeat.objects.count() < args.workers:  # every worker up before the timers go in
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("workers did not start")
            time.sleep(0.1)
        # Inserted already due at T (not parked and then updated, which would leave the table full of dead rows).
        lead = args.lead if args.lead is not None else 3 + args.count / 15_000
        due = timezone.now() + datetime.timedelta(seconds=lead)
        started = time.monotonic()
        with transaction.atomic():
            Timer.objects.bulk_create(
                (
                    Timer(workspace=workspace, kind="bench.noop", key=f"b{i}", due_at=due, fires_at=due)
                    for i in range(args.count)
                ),
                batch_size=5000,
            )
        insert_seconds = time.monotonic() - started
        if timezone.now() >= due:
            raise SystemExit(f"the insert took {insert_seconds:.1f} s, past T; give a longer --lead")
        print(f"inserted in {insert_seconds:.1f} s; all due at T = {due.isoformat(timespec='milliseconds')}")

        deadline = time.monotonic() + args.timeout
        pending = Timer.objects.filter(state=TimerState.PENDING)
        while pending.exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out with {pending.count():,} pending")
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited")
            time.sleep(0.2)

        rows = Timer.objects.values_list("state", "fires_at", "fired_at", "attempts")
        late = sorted((fired - fires).total_seconds() for _state, fires, fired, _a in rows)
        states = {s for s, *_ in rows}
        retried = sum(1 for *_x, a in rows if a != 1)
        last = Timer.objects.aggregate(m=Max("fired_at"))["m"]
        span = (last - due).total_seconds()
        p50, p95, p99 = (percentile(late, q) for q in (50, 95, 99))
        print(f"states: {sorted(states)}; claimed more than once: {retried}")
        print(f"fired {len(late):,} in {span:.2f} s from T: {len(late) / span:,.0f} timers/s")
        print(f"lateness p50 {p50:.2f} s, p95 {p95:.2f} s, p99 {p99:.2f} s, max {late[-1]:.2f} s")
        print(f"p99 / goal ({GOAL_P99_SECONDS:.0f} s): {p99 / GOAL_P99_SECONDS:.2f}")
        return 0 if states == {TimerState.DONE} else 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        connection.close()
        if not args.keep:
            db.drop()


if __name__ == "__main__":
    sys.exit(main())
