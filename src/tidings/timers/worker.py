"""The background worker: runs queued tasks (django-tasks database backend), sweeps due timers, beats a heart."""

import logging
import os
import signal
import socket
import time

from django.db import close_old_connections
from django.db.utils import OperationalError

from tidings.core.services import worker_heartbeat, worker_heartbeat_remove

from .sweeper import sweep_once

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 5.0


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
            self._last_beat = now

    def run(self):
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info("worker %s started (tasks=%s timers=%s)", self.worker_id, self.run_tasks, self.run_timers)
        try:
            while self.running:
                close_old_connections()
                busy = False
                try:
                    self.beat()
                    if self.run_timers:
                        busy |= sweep_once() > 0
                    if self.run_tasks:
                        busy |= self.run_one_task()
                except OperationalError as exc:  # database briefly locked or restarting: try again shortly
                    logger.warning("worker %s: %s", self.worker_id, exc)
                if not busy:
                    time.sleep(self.interval)
        finally:
            worker_heartbeat_remove(worker_id=self.worker_id)
            logger.info("worker %s stopped", self.worker_id)
