"""`tidings billing migrate-sms-quota`: a former SMS quota becomes balance 1:1, once (L1)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.selectors import balance_get, ledger_sum
from tidings.billing.services import balance_top_up
from tidings.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("billing", *args, stdout=out)
    return out.getvalue()


def test_quota_becomes_one_balance_adjustment_once(workspace):
    balance_top_up(workspace=workspace, actor=None, amount="10")
    first = run("migrate-sms-quota", "--workspace", "acme", "--quota", "1200")
    assert "balance 1210" in first
    second = run("migrate-sms-quota", "--workspace", "acme", "--quota", "1200")
    assert "Already migrated" in second and "nothing added" in second
    [entry] = LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.ADJUSTMENT)
    assert (entry.amount, entry.note) == (Decimal("1200"), "SMS balance migration")
    assert balance_get(workspace) == ledger_sum(workspace) == Decimal("1210")
    assert AuditEntry.objects.filter(workspace=workspace, action="billing.sms_quota_migrate").count() == 1


def test_the_note_is_stored_stable_and_shown_translated(workspace):
    run("migrate-sms-quota", "--workspace", "acme", "--quota", "5")
    entry = LedgerEntry.objects.for_workspace(workspace).get()
    with translation.override("zh-hant"):
        shown = entry.note_display
    assert entry.note == "SMS balance migration"  # what is stored never depends on the language
    assert shown == "簡訊餘額移轉"  # the wording the issue gives (SMS 簡訊餘額移轉)


def test_unknown_workspace_and_negative_quota_are_refused(workspace):
    with pytest.raises(CommandError, match="No workspace"):
        run("migrate-sms-quota", "--workspace", "nope", "--quota", "5")
    with pytest.raises(CommandError, match="0 or more"):
        run("migrate-sms-quota", "--workspace", "acme", "--quota", "-5")
    assert not LedgerEntry.objects.exists()
