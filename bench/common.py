"""What every benchmark shares: a throwaway database, made up front and dropped at the end."""

import os
from pathlib import Path
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
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def process_env(db: Database, **settings: str) -> dict:
    """The environment for the benchmark's Tidings processes (server, workers) on `db`, plus TIDINGS_* overrides."""
    return {
        **os.environ,
        "DATABASE_URL": db.url,
        "DJANGO_SETTINGS_MODULE": "tidings.settings",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        **settings,
    }
