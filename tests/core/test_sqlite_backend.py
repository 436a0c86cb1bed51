"""SQLite writers of one process take the write lock in turn, and every way out of a transaction gives it back."""

import threading

import pytest
from django.db import connection, connections, transaction

from tidings.core.models import Workspace

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
