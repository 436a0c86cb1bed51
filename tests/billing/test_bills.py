"""The monthly bill (L3): on the 3rd, workspace time, last month's SMS per feature and channel, emailed once."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail

from tidings.billing.models import Bill, EmailStatus
from tidings.billing.periods import bill_due_at, next_bill_due
from tidings.billing.services import BILL_TIMER_KIND, balance_top_up, bill_generate, sms_charge, sms_refund
from tidings.core import clock
from tidings.core.services import workspace_update
from tidings.timers.models import Timer, TimerState
from tidings.timers.services import clock_advance
from tidings.billing.timer_handlers import monthly_bill
from tidings.timers.sweeper import sweep_until_idle

pytestmark = pytest.mark.django_db


def _set_clock(workspace, when: datetime.datetime):
    """Move the sandbox clock to `when` (forward only), firing what falls due."""
    clock_advance(workspace=workspace, by=when - clock.now(workspace))
    workspace.refresh_from_db()


@pytest.fixture
def billed_workspace(workspace, admin):
    workspace_update(workspace=workspace, actor=None, billing_email="accounts@acme.test")
    workspace.refresh_from_db()
    return workspace


def test_next_bill_is_the_next_3rd_at_midnight_workspace_time(workspace):
    taipei = datetime.timezone(datetime.timedelta(hours=8))
    due, month = next_bill_due(workspace, datetime.datetime(2026, 11, 2, 15, 59, tzinfo=datetime.UTC))  # 23:59 Taipei
    assert (due, month) == (datetime.datetime(2026, 11, 3, tzinfo=taipei), datetime.date(2026, 10, 1))
    due, month = next_bill_due(workspace, datetime.datetime(2026, 11, 2, 16, 0, tzinfo=datetime.UTC))  # the 3rd
    assert (due, month) == (datetime.datetime(2026, 12, 3, tzinfo=taipei), datetime.date(2026, 11, 1))
    assert bill_due_at(workspace, datetime.date(2026, 12, 1)) == datetime.datetime(2027, 1, 3, tzinfo=taipei)


def test_the_timer_bills_last_month_on_the_3rd_and_emails_it_once(billed_workspace, run_commits):
    ws = billed_workspace
    now = clock.now(ws)
    balance_top_up(workspace=ws, actor=None, amount="100")  # creates the account and the first bill timer
    [timer] = Timer.objects.filter(workspace=ws, kind=BILL_TIMER_KIND)
    month = datetime.date.fromisoformat(timer.payload["month"])
    assert month == next_bill_due(ws, now)[1]
    sms_charge(workspace=ws, feature="notification", segments=2, message_id=1)
    sms_charge(workspace=ws, feature="notification", segments=1, message_id=2)
    refunded = sms_charge(workspace=ws, feature="notification", segments=3, message_id=3)
    sms_refund(workspace=ws, charge=refunded)
    sms_charge(workspace=ws, feature="phone_binding", segments=1, message_id=4)

    # One minute before the 3rd: nothing yet.
    run_commits(_set_clock, ws, timer.due_at - datetime.timedelta(minutes=1))
    assert not Bill.objects.exists() and mail.outbox == []
    run_commits(_set_clock, ws, timer.due_at)
    bill = Bill.objects.get()
    assert bill.month == month and bill.total == Decimal("4") and (bill.sms_count, bill.segments) == (4, 7)
    lines = {(line["feature"], line["channel"]): line for line in bill.lines}
    assert lines[("notification", "sms")]["messages"] == 3 and lines[("notification", "sms")]["cost"] == "3.00"
    assert lines[("notification", "sms")]["refunded"] == 1
    assert lines[("phone_binding", "sms")]["cost"] == "1.00"
    [email] = mail.outbox
    assert email.to == ["accounts@acme.test"] and f"{month:%Y-%m}" in email.subject
    assert "Phone binding" in email.body and "4.00" in email.body
    assert email.alternatives[0][0] == bill.email_html and "4.00" in bill.email_html
    assert bill.email_status == EmailStatus.SENT and bill.emailed_at is not None

    # The next 3rd is scheduled; running the sweeper again or generating again changes nothing.
    assert Timer.objects.filter(workspace=ws, kind=BILL_TIMER_KIND, state=TimerState.PENDING).count() == 1
    run_commits(sweep_until_idle)
    timer.refresh_from_db()
    run_commits(monthly_bill, timer)  # the same timer fired a second time, as a re-run sweeper would
    again, created = run_commits(bill_generate, workspace=ws, month=month)
    assert (again.pk, created) == (bill.pk, False)
    assert Bill.objects.count() == 1 and len(mail.outbox) == 1


def test_a_clock_jump_over_months_bills_each_month_once(billed_workspace, run_commits):
    ws = billed_workspace
    balance_top_up(workspace=ws, actor=None, amount="100")
    sms_charge(workspace=ws, feature="notification", segments=1)
    first = Timer.objects.get(workspace=ws, kind=BILL_TIMER_KIND)
    run_commits(_set_clock, ws, first.due_at + datetime.timedelta(days=70))
    months = list(Bill.objects.order_by("month").values_list("month", "sms_count"))
    assert len(months) == 3 and months[0][1] == 1 and [m[1] for m in months[1:]] == [0, 0]
    # Only the month with usage is emailed; the empty ones are kept, marked as not needing an email.
    assert len(mail.outbox) == 1
    assert list(Bill.objects.order_by("month").values_list("email_status", flat=True)) == [
        EmailStatus.SENT, EmailStatus.SKIPPED, EmailStatus.SKIPPED]


def test_a_bill_without_billing_email_goes_to_the_admins(workspace, admin, run_commits):
    balance_top_up(workspace=workspace, actor=None, amount="5")
    sms_charge(workspace=workspace, feature="phone_binding", segments=1)
    timer = Timer.objects.get(workspace=workspace, kind=BILL_TIMER_KIND)
    run_commits(_set_clock, workspace, timer.due_at)
    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]
