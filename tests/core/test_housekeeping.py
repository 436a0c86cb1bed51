"""Housekeeping: each registered job runs on one worker per interval, and one that fails never stops the others."""

import datetime

import pytest
from django.core.cache import cache

from tidings.core import housekeeping
from tidings.core.housekeeping import housekeeping_job, housekeeping_run_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(monkeypatch):
    monkeypatch.setattr(housekeeping, "_JOBS", {})
    monkeypatch.setattr(housekeeping, "_next_ask", {})
    cache.clear()
    yield
    cache.clear()


def test_a_job_runs_once_per_interval_however_many_workers_ask(jobs):
    runs = []

    @housekeeping_job("test.sweep", every=datetime.timedelta(hours=1))
    def sweep():
        runs.append(1)
        return 3

    assert housekeeping_run_due() == {"test.sweep": 3}
    housekeeping._next_ask.clear()  # as another worker, which has not asked yet
    assert housekeeping_run_due() == {}  # not its turn: the first had it
    assert len(runs) == 1
    cache.delete("housekeeping:test.sweep")  # the hour has passed
    assert housekeeping_run_due() == {}  # this process looked five minutes ago at most: it waits for its next look
    housekeeping._next_ask.clear()
    assert housekeeping_run_due() == {"test.sweep": 3}


def test_a_failing_job_is_logged_and_the_others_still_run(jobs, caplog):
    @housekeeping_job("test.broken", every=datetime.timedelta(hours=1))
    def broken():
        raise OSError("disk gone")

    @housekeeping_job("test.fine", every=datetime.timedelta(hours=1))
    def fine():
        return 0

    assert housekeeping_run_due() == {"test.fine": 0}
    assert "housekeeping job test.broken failed" in caplog.text


def test_the_apps_register_their_file_clean_ups():
    names = {job.name for job in housekeeping.housekeeping_jobs()}
    assert {"contacts.files_expire", "inbox.conversation_exports_expire"} <= names


def test_a_workers_heartbeat_runs_the_jobs_due(jobs):
    from tidings.timers.worker import Worker

    runs = []
    housekeeping_job("test.beat", every=datetime.timedelta(hours=1))(lambda: runs.append(1) or 1)
    worker = Worker(run_tasks=True, run_timers=False)
    worker.beat()
    worker.beat()  # within the heartbeat interval: nothing again
    assert runs == [1]


def test_a_cache_that_cannot_be_reached_stops_no_worker(jobs, monkeypatch, caplog):
    from django.db.utils import ProgrammingError

    housekeeping_job("test.any", every=datetime.timedelta(hours=1))(lambda: 1)

    def missing_table(*args, **kwargs):
        raise ProgrammingError('relation "tidings_cache" does not exist')

    monkeypatch.setattr(housekeeping.cache, "add", missing_table)
    assert housekeeping_run_due() == {}
    assert "housekeeping job test.any failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_cache_table_when_it_is_missing():
    import importlib

    from django.conf import settings
    from django.db import connection

    migration = importlib.import_module("tidings.core.migrations.0002_cache_table")
    table = settings.CACHES["default"]["LOCATION"]
    with connection.schema_editor() as editor:
        editor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")
    assert table not in connection.introspection.table_names()
    with connection.schema_editor() as editor:
        migration.create_cache_table(None, editor)
    assert table in connection.introspection.table_names()
    assert cache.add("housekeeping:probe", True, timeout=5)
