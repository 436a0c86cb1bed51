"""The background worker: runs queued tasks (django-tasks database backend), sweeps due timers, beats a heart."""

import logging
import os
import signal
import socket
import time

from django.db import connections
from django.db.utils import OperationalError

from tidings.core.housekeeping import housekeeping_run_due
from tidings.core.services import worker_heartbeat, worker_heartbeat_remove

from .sweeper import seconds_until_next_due, sweep_once
from .task_recovery import tasks_requeue_orphaned

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 5.0


def _drop_broken_connections() -> None:
    """Keep the connection between loops (reconnecting per batch costs more than a batch), unless it broke."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()


class Worker:
    def __init__(self, *, interval: float = 0.2, run_tasks: bool = True, run_timers: bool = True):
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.interval = interval
        self.run_tasks = run_tasks
        self.run_timers = run_timers
        self.running = True
        self._task_runner = None
        self._last_beat = 0.0

    def stop(self, signum=None, frame=None):
        self.running = False

    def _tasks(self):
        if self._task_runner is None:
            from django_tasks_db.management.commands.db_worker import Worker as TaskWorker

            self._task_runner = TaskWorker(
                queue_names=["*"], interval=self.interval, batch=False, backend_name="default",
                startup_delay=False, max_tasks=None, worker_id=self.worker_id, excluded_queue_names=[],
            )
        return self._task_runner

    def run_one_task(self) -> bool:
        from django_tasks_db.models import DBTaskResult
        from django_tasks_db.utils import exclusive_transaction

        tasks = DBTaskResult.objects.ready().filter(backend_name="default")
        with exclusive_transaction(tasks.db):
            task_result = tasks.get_locked()
            if task_result is not None:
                task_result.claim(self.worker_id)
        if task_result is None:
            return False
        self._tasks().run_task(task_result)
        return True

    def beat(self):
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_EVERY:
            worker_heartbeat(worker_id=self.worker_id)
            if self.run_tasks:
                # Tasks a SIGKILLed worker held would otherwise stay RUNNING forever.
                tasks_requeue_orphaned()
                housekeeping_run_due()
            self._last_beat = now

    def idle_wait(self) -> float:
        """Sleep the idle interval, or less when a timer falls due sooner, so a worker is awake when it does."""
        if not self.run_timers:
            return self.interval
        until = seconds_until_next_due()
        if until is None or until <= 0:  # nothing pending, or due but leased/backing off: poll at the interval
            return self.interval
        return min(self.interval, until)

    def run(self):
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info("worker %s started (tasks=%s timers=%s)", self.worker_id, self.run_tasks, self.run_timers)
        try:
            while self.running:
                _drop_broken_connections()
                busy = False
                wait = self.interval
                try:
                    self.beat()
                    if self.run_timers:
                        busy |= sweep_once() > 0
                    if self.run_tasks:
                        busy |= self.run_one_task()
                    if not busy:
                        wait = self.idle_wait()
                except OperationalError as exc:  # database briefly locked or restarting: try again shortly
                    logger.warning("worker %s: %s", self.worker_id, exc)
                    connections.close_all()
                if not busy:
                    time.sleep(wait)
        finally:
            try:
                worker_heartbeat_remove(worker_id=self.worker_id)
            except OperationalError:
                pass
            logger.info("worker %s stopped", self.worker_id)
