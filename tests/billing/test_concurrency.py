"""Concurrent SMS charges never drive the balance wrong (L1): real threads, real transactions, real row locks."""

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.selectors import balance_get, ledger_sum
from tidings.billing.services import balance_top_up, sms_charge
from tidings.core.errors import ServiceError

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
CHARGES_EACH = 10


def _run_in_threads(target) -> list:
    errors, barrier = [], threading.Barrier(THREADS)

    def work(n):
        try:
            barrier.wait()
            target(n)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@pytest.fixture
def db_is_concurrent():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:") or \
            "mode=memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("an in-memory SQLite database is not shared between threads")


def test_concurrent_charges_keep_the_balance_equal_to_the_ledger(workspace, db_is_concurrent):
    balance_top_up(workspace=workspace, actor=None, amount="1000")

    def charge(n):
        for i in range(CHARGES_EACH):
            sms_charge(workspace=workspace, feature="notification", segments=1 + (i % 3), message_id=n * 100 + i)

    assert _run_in_threads(charge) == []
    charges = LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.SMS_CHARGE)
    spent = sum(1 + (i % 3) for i in range(CHARGES_EACH)) * THREADS
    assert charges.count() == THREADS * CHARGES_EACH
    assert balance_get(workspace) == ledger_sum(workspace) == Decimal(1000 - spent)
    # Every entry's balance_after is a distinct step of one sequence: no two charges read the same balance.
    afters = sorted(charges.values_list("balance_after", flat=True))
    assert len(set(afters)) == len(afters)


def test_concurrent_charges_stop_exactly_at_the_grace_minimum(workspace, db_is_concurrent):
    balance_top_up(workspace=workspace, actor=None, amount="25")
    refused = []

    def charge(n):
        for _ in range(CHARGES_EACH):
            try:
                sms_charge(workspace=workspace, feature="phone_binding", segments=1)
            except ServiceError as exc:
                refused.append(exc.code)

    assert _run_in_threads(charge) == []
    assert balance_get(workspace) == ledger_sum(workspace) == Decimal("0")
    assert LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.SMS_CHARGE).count() == 25
    assert refused == ["balance_below_grace"] * (THREADS * CHARGES_EACH - 25)
