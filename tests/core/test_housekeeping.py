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
