import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from tests.timers import probe_handlers  # noqa: F401 - registers the probe.* kinds in this process
from tidings.timers.models import Timer

REPO = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test is using (the test database), for a worker subprocess."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


class Workers:
    """Real `tidings worker --no-tasks` subprocesses on the test database; all killed at teardown."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, *, batch_size=100, lease_seconds=2, interval=0.05) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "tidings.settings",
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
            "TIDINGS_TIMER_HANDLER_MODULES": "tests.timers.probe_handlers",
            "TIDINGS_TIMER_LEASE_SECONDS": str(lease_seconds),
            "TIDINGS_TIMER_BATCH_SIZE": str(batch_size),
            "TIDINGS_LOG_LEVEL": "WARNING",
        }
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tidings.cli", "worker", "--no-tasks", "--interval", str(interval)],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def kill(self, proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("worker-*.log")))

    def kill_all(self):
        for proc in self.procs:
            self.kill(proc)


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
