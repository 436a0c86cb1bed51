"""SQLite writers of one process, and of several, take the write lock in turn, and every way out of a transaction
gives it back."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction

from tidings.core.models import Workspace
from tidings.core.sqlite_backend.base import writer_lock_path

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("the process-wide write lock is SQLite's")


def in_thread(target):
    def run():
        try:
            target()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_second_writer_waits_for_the_first_to_commit_then_goes():
    order, inside, finish = [], threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            Workspace.objects.create(slug="first", name="First")
            order.append("first in")
            inside.set()
            finish.wait(5)
            order.append("first out")

    def second():
        inside.wait(5)
        with transaction.atomic():
            order.append("second in")
            Workspace.objects.create(slug="second", name="Second")

    threads = [in_thread(first), in_thread(second)]
    inside.wait(5)
    finish.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]
    assert set(Workspace.objects.values_list("slug", flat=True)) >= {"first", "second"}


def test_a_rollback_and_a_closed_connection_give_the_lock_back():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Workspace.objects.create(slug="undone", name="Undone")
        1 / 0  # noqa: B018
    assert not Workspace.objects.filter(slug="undone").exists()

    def left_open():
        transaction.atomic().__enter__()  # a transaction its thread never finishes…
        Workspace.objects.create(slug="abandoned", name="Abandoned")
        # …until close_all() in in_thread closes the connection

    def after():
        with transaction.atomic():  # would wait 30 s and fail if the lock had not come back
            done.append(Workspace.objects.create(slug="after", name="After"))

    done = []
    in_thread(left_open).join(10)
    in_thread(after).join(10)
    assert done and not Workspace.objects.filter(slug="abandoned").exists()


def _raw_connection_of_a_thread(before_close=None):
    """Run one query on a new thread, optionally change its connection, close it as a request's end does; returns
    the sqlite3 connection object that thread used."""
    seen = []

    def run():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            if before_close is not None:
                before_close(cursor)
        seen.append(connection.connection)

    in_thread(run).join(10)
    return seen[0]


def test_the_next_thread_reuses_a_connection_closed_outside_a_transaction():
    first = _raw_connection_of_a_thread()
    assert _raw_connection_of_a_thread() is first


def test_a_connection_closed_inside_a_transaction_is_not_reused():
    kept = []

    def left_open():
        transaction.atomic().__enter__()
        Workspace.objects.create(slug="left-open", name="Left open")
        kept.append(connection.connection)

    in_thread(left_open).join(10)
    assert _raw_connection_of_a_thread() is not kept[0]
    assert not Workspace.objects.filter(slug="left-open").exists()


def test_a_reused_connection_enforces_foreign_keys_again():
    first = _raw_connection_of_a_thread(lambda cursor: cursor.execute("PRAGMA foreign_keys = OFF"))
    flags = []
    reused = _raw_connection_of_a_thread(lambda cursor: flags.append(cursor.execute("PRAGMA foreign_keys").fetchone()))
    assert reused is first
    assert flags == [(1,)]


def _another_process(code: str) -> subprocess.Popen:
    """A Python process on this test database that prints "in" once it holds what `code` takes, then waits for a
    line on stdin before letting go."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
           "DJANGO_SETTINGS_MODULE": "tidings.settings"}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "in"
    return proc


def test_a_writer_waits_for_another_process_holding_the_queue_and_gives_up_with_a_clear_error():
    holder = _another_process(f"""
        import fcntl, os, sys
        fd = os.open({writer_lock_path(connection.settings_dict["NAME"])!r}, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("in", flush=True)
        sys.stdin.readline()
    """)
    options = connection.settings_dict.setdefault("OPTIONS", {})
    saved = dict(options)
    options["timeout"] = 0.3
    try:
        with pytest.raises(OperationalError, match="other processes' writers"), transaction.atomic():
            Workspace.objects.create(slug="too-soon", name="Too soon")
    finally:
        options.clear()
        options.update(saved)
        holder.communicate("go\n", timeout=10)
    with transaction.atomic():
        Workspace.objects.create(slug="after-release", name="After release")
    assert Workspace.objects.filter(slug="after-release").exists()
    assert not Workspace.objects.filter(slug="too-soon").exists()


def test_writers_of_two_processes_take_turns_and_both_commit():
    other = _another_process("""
        import sys, django
        django.setup()
        from django.db import transaction
        from tidings.core.models import Workspace
        with transaction.atomic():
            Workspace.objects.create(slug="other-process", name="Other process")
            print("in", flush=True)
            sys.stdin.readline()
    """)
    order = []

    def mine():
        with transaction.atomic():
            order.append("mine in")
            Workspace.objects.create(slug="this-process", name="This process")

    thread = in_thread(mine)
    thread.join(0.5)
    order.append("other out")
    other.communicate("go\n", timeout=30)
    thread.join(10)
    assert other.returncode == 0
    assert order == ["other out", "mine in"]
    assert set(Workspace.objects.values_list("slug", flat=True)) >= {"other-process", "this-process"}


def test_a_process_writing_back_to_back_lets_a_waiting_process_in_at_its_next_commit():
    # A bulk send storing its parts one transaction after another used to keep every other process out until its
    # last part: it found the lock free again before a waiting process's next poll.
    busy = _another_process("""
        import sys, time, django
        django.setup()
        from django.db import transaction
        from tidings.core.models import Workspace
        Workspace.objects.create(slug="busy", name="0")
        end, first = time.monotonic() + 4, True
        while time.monotonic() < end:
            with transaction.atomic():
                Workspace.objects.filter(slug="busy").update(name=str(time.monotonic()))
                if first:
                    print("in", flush=True)
                    first = False
                time.sleep(0.05)
    """)
    try:
        started = time.monotonic()
        with transaction.atomic():
            waited = time.monotonic() - started
            Workspace.objects.create(slug="let-in", name="Let in")
    finally:
        busy.communicate(timeout=30)
    assert busy.returncode == 0
    assert waited < 0.3, f"waited {waited:.2f} s"  # one or two of the other's 50 ms transactions, not its 4 s
