"""Billing pages in a real browser: the balance with its warning bar, the usage chart, a bill's email."""

import datetime

import pytest

from tidings.billing.models import Bill
from tidings.billing.services import balance_top_up, billing_settings_update, bill_generate, sms_charge, sms_refund
from tidings.core import clock
from tidings.core.roles import Role
from tidings.timers.services import clock_advance

from .support import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def billed(workspace, make_member):
    admin = make_member(workspace, Role.ADMIN, name="Ada")
    billing_settings_update(workspace=workspace, actor=admin.user, low_balance_threshold="50", grace_minimum="0")
    first_day = clock.now(workspace).date()
    balance_top_up(workspace=workspace, actor=admin.user, amount="60", note="Bank transfer 0042")
    for day in range(5):
        for n in range(day + 1):
            charge = sms_charge(workspace=workspace, feature="notification" if n % 3 else "phone_binding",
                                segments=1 + n % 2, reference=f"order-{day}{n}")
        if day == 2:
            sms_refund(workspace=workspace, charge=charge)
        clock_advance(workspace=workspace, by=datetime.timedelta(days=1))
        workspace.refresh_from_db()
    bill_generate(workspace=workspace, month=first_day)
    return admin


def test_balance_usage_and_bill_pages(new_page, log_in, workspace, billed):
    page = new_page()
    log_in(page, billed)
    page.goto("/billing/")
    assert "balance is low" in page.inner_text("[data-billing-warning]")
    assert page.inner_text("[data-balance]").startswith("40.00")
    screenshot(page, "billing-balance")

    page.goto("/billing/usage")
    page.wait_for_function("window.Chart && Chart.getChart('usage-chart') !== undefined")
    points = page.evaluate("Chart.getChart('usage-chart').data.datasets[0].data.reduce((a, b) => a + b, 0)")
    assert points == 15  # every SMS charged in the last 30 days is on the chart
    screenshot(page, "billing-usage")

    bill = Bill.objects.get()
    page.goto(f"/billing/bills/{bill.pk}")
    frame = page.frame_locator("[data-bill-email] iframe")
    assert "LINE notification shortcut" in frame.locator("table").inner_text()
    screenshot(page, "billing-bill")


def test_marketer_sees_only_that_sms_is_paused(new_page, log_in, workspace, make_member):
    marketer = make_member(workspace, Role.MARKETER)
    balance_top_up(workspace=workspace, actor=None, amount="1")
    sms_charge(workspace=workspace, feature="notification", segments=1)
    page = new_page(width=390, height=800)
    log_in(page, marketer)
    bar = page.inner_text("[data-billing-warning]")
    assert "SMS is paused" in bar and "TWD" not in bar
    screenshot(page, "billing-bar-marketer")
