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
