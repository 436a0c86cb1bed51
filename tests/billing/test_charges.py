"""Charging SMS (L2), refusing below the grace minimum (L4), refunds, and the ledger's sums (L1)."""

from decimal import Decimal

import pytest

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.selectors import balance_get, ledger_sum
from tidings.billing.services import balance_adjust, balance_top_up, sms_charge, sms_refund, billing_settings_update
from tidings.core.errors import ServiceError

pytestmark = pytest.mark.django_db


def test_balance_is_the_sum_of_the_ledger(workspace, admin):
    balance_top_up(workspace=workspace, actor=admin.user, amount="500", note="bank transfer")
    sms_charge(workspace=workspace, feature="notification", segments=3, message_id=11)
    balance_adjust(workspace=workspace, actor=admin.user, amount="-20.5", note="correction")
    entry = sms_charge(workspace=workspace, feature="phone_binding", segments=1)
    assert balance_get(workspace) == Decimal("475.50") == ledger_sum(workspace) == entry.balance_after
    assert [e.kind for e in LedgerEntry.objects.for_workspace(workspace)] == [
        EntryKind.SMS_CHARGE, EntryKind.ADJUSTMENT, EntryKind.SMS_CHARGE, EntryKind.TOP_UP]


def test_charge_costs_one_unit_per_segment(workspace, admin):
    balance_top_up(workspace=workspace, actor=admin.user, amount="10")
    entry = sms_charge(workspace=workspace, feature="notification", segments=4, message_id=7, reference="order-1")
    assert (entry.amount, entry.segments, entry.feature, entry.channel, entry.message_id) == (
        Decimal("-4"), 4, "notification", "sms", 7)
    assert balance_get(workspace) == Decimal("6")


def test_charge_below_grace_is_refused_with_the_reason(workspace, admin):
    balance_top_up(workspace=workspace, actor=admin.user, amount="2")
    with pytest.raises(ServiceError) as refused:
        sms_charge(workspace=workspace, feature="notification", segments=3)
    assert refused.value.code == "balance_below_grace"
    assert "grace minimum" in str(refused.value.message) and "Top up" in str(refused.value.message)
    assert balance_get(workspace) == Decimal("2")  # nothing was written
    sms_charge(workspace=workspace, feature="notification", segments=2)  # exactly down to the minimum is allowed
    assert balance_get(workspace) == Decimal("0")


def test_negative_grace_minimum_allows_credit(workspace, admin):
    billing_settings_update(workspace=workspace, actor=admin.user, low_balance_threshold="100", grace_minimum="-5")
    sms_charge(workspace=workspace, feature="phone_binding", segments=5)
    assert balance_get(workspace) == Decimal("-5")
    with pytest.raises(ServiceError):
        sms_charge(workspace=workspace, feature="phone_binding", segments=1)


def test_refund_happens_once(workspace, admin):
    balance_top_up(workspace=workspace, actor=admin.user, amount="10")
    charge = sms_charge(workspace=workspace, feature="notification", segments=2, message_id=5)
    refund = sms_refund(workspace=workspace, charge=charge)
    assert sms_refund(workspace=workspace, charge=charge) is None
    assert (refund.amount, refund.segments, refund.message_id) == (Decimal("2"), -2, 5)
    assert balance_get(workspace) == Decimal("10")


def test_ledger_entries_cannot_be_changed(workspace, admin):
    entry = balance_top_up(workspace=workspace, actor=admin.user, amount="10")
    entry.amount = Decimal("1000")
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        LedgerEntry.objects.for_workspace(workspace).update(amount=5)
    with pytest.raises(TypeError):
        LedgerEntry.objects.for_workspace(workspace).delete()
    assert balance_get(workspace) == ledger_sum(workspace) == Decimal("10")
