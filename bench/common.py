"""What every benchmark shares: a throwaway database, made up front and dropped at the end."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]


class Database:
    """A SQLite file under var/ by default; with a PostgreSQL server URL, a database `name` made on that server."""

    def __init__(self, server_url: str | None, name: str):
        self.server_url = server_url
        self.name = name
        if server_url is None:
            (REPO / "var").mkdir(exist_ok=True)
            self.path = REPO / "var" / f"{name}-{os.getpid()}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            parts = urlsplit(server_url)
            self.url = urlunsplit(parts._replace(path=f"/{name}"))
            self.admin_url = urlunsplit(parts._replace(path="/postgres"))

    def _admin(self, sql: str):
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self):
        if self.server_url is None:
            self.drop()
        else:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            self._admin(f"CREATE DATABASE {self.name}")

    def drop(self):
        if self.server_url is None:
            for suffix in ("", "-wal", "-shm", "-writer", "-writer-waiters"):  # the backend's cross-process queue
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

# Realistic customer names and tags for the list benchmarks (Hong Kong and Taiwan brands).
SURNAMES = ["陳", "李", "張", "黃", "王", "林", "劉", "吳", "蔡", "楊", "何", "梁", "周", "鄭", "謝", "郭", "許", "羅"]
GIVEN = ["美玲", "志明", "嘉欣", "偉明", "詠詩", "振華", "雅婷", "家豪", "宗翰", "怡君", "承恩", "小美", "俊傑", "淑芬",
         "建宏", "佩珊", "子軒", "欣怡", "冠宇", "思妤"]
FIRST = ["Amy", "Ben", "Chloe", "David", "Emily", "Frank", "Grace", "Henry", "Ivy", "Jason", "Karen", "Leo", "Mandy",
         "Nick", "Olivia", "Peter", "Queenie", "Ray", "Sandy", "Tony"]
LAST = ["Chan", "Wong", "Lee", "Cheung", "Lau", "Ng", "Ho", "Lam", "Tsai", "Huang", "Lin", "Chen", "Wu", "Liu"]
TAGS = ["VIP", "回購客", "新客", "珍珠奶茶控", "台北信義店", "香港銅鑼灣店", "優惠券", "官網會員", "電子報", "生日月",
        "高消費", "沉睡客", "英文客服", "團購", "外送", "門市自取", "SMS", "LINE 好友", "WhatsApp", "活動 2025"]


def sql_text_array(values) -> str:
    """A PostgreSQL ARRAY literal of these values as text, for INSERT … SELECT fills."""
    return "ARRAY[" + ",".join("'" + str(v).replace("'", "''") + "'" for v in values) + "]"


def process_env(db: Database, **settings: str) -> dict:
    """The environment for the benchmark's Tidings processes (server, workers) on `db`, plus TIDINGS_* overrides."""
    return {
        **os.environ,
        "DATABASE_URL": db.url,
        "DJANGO_SETTINGS_MODULE": "tidings.settings",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        **settings,
    }


def analyze() -> None:
    """PostgreSQL statistics after a bulk insert, as autovacuum gives a database in use: without them the planner
    scanned all 100,000 LINE identities for each multicast's messages."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Tidings processes (`tidings serve`, `tidings worker`) started for a run, each in its own process group."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, argv, env):
        proc = subprocess.Popen([sys.executable, "-m", "tidings.cli", *argv], env=env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=sys.stderr, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.procs = []

    def check(self):
        if any(p.poll() is not None for p in self.procs):
            raise SystemExit("a worker or the server exited")


def server_start(procs: Processes, env: dict, port: int, server_workers: int = 1):
    """`tidings serve` on 127.0.0.1:port, returned once /healthz answers."""
    import httpx

    server = procs.start(["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(server_workers)],
                         env)
    while True:
        if server.poll() is not None:
            raise SystemExit("the server exited at start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)


def workers_start(procs: Processes, env: dict, count: int, deadline: float) -> None:
    """`count` task workers, returned once every one has sent its first heartbeat (up and idle)."""
    from tidings.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.all().delete()
    for _ in range(count):
        procs.start(["worker"], env)
    while WorkerHeartbeat.objects.count() < count:
        procs.check()
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start")
        time.sleep(0.1)


@contextlib.contextmanager
def tidings_bench(database_url: str | None, db_name: str, *, timeout: float, keep: bool = False, **settings: str):
    """A fresh, migrated database and this process set up on it for a benchmark that starts Tidings processes.

    Yields the run: `env` for the processes (DATABASE_URL, TIDINGS_BASE_URL on a free port, task backend in the
    database, plus `settings`), `port`, `procs` and `deadline`. Processes are stopped and the database dropped
    (unless `keep`) whatever happens, SIGTERM included.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    db = Database(database_url, db_name)
    port = free_port()
    env = process_env(db, TIDINGS_BASE_URL=f"http://127.0.0.1:{port}", TIDINGS_LOG_LEVEL="ERROR",
                      TIDINGS_TASK_BACKEND="django_tasks_db.DatabaseBackend", **settings)
    os.environ.update(env)
    sys.path[:0] = [str(REPO), str(REPO / "src")]
    db.create()
    procs = Processes()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield SimpleNamespace(env=env, port=port, procs=procs, deadline=time.monotonic() + timeout)
    finally:
        procs.stop_all()
        from django.db import connections

        connections.close_all()
        if not keep:
            db.drop()


def timed_send(send, *, procs: Processes, deadline: float):
    """Call `send()` (a pipeline send that returns its dispatches), wait until every dispatch made since is sent or
    failed, and time it: returns (those dispatches, seconds storing, seconds from the call to the last `sent_at`)."""
    from django.db.models import Max
    from django.utils import timezone

    from tidings.messaging.models import Dispatch, DispatchStatus

    before = Dispatch.objects.aggregate(m=Max("pk"))["m"] or 0
    t0 = timezone.now()
    started = time.monotonic()
    send()
    stored = time.monotonic() - started
    mine = Dispatch.objects.filter(pk__gt=before)
    while mine.exclude(status__in=[DispatchStatus.SENT, DispatchStatus.FAILED]).exists():
        procs.check()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out with {mine.exclude(status=DispatchStatus.SENT).count()} dispatches unsent")
        time.sleep(0.05)
    last = mine.aggregate(last=Max("sent_at"))["last"]
    return mine, stored, (last - t0).total_seconds()


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values already sorted ascending; NaN for none."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]
