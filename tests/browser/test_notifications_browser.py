"""The notification pages in Chromium: the live SMS count agrees with the count the charge uses, the custom scenario
field follows the scenario, and the overview's chart draws (screenshots with TIDINGS_SCREENSHOTS=folder)."""

import datetime

import pytest

from tidings.billing.sms import sms_segments
from tidings.core import clock
from tidings.notify.models import Notification, NotificationStep
from tidings.notify.services import setting_create

from .support import screenshot

pytestmark = pytest.mark.browser

SAMPLES = [
    "", "Your order A1001 has shipped", "a" * 160, "a" * 161, "a" * 306, "a" * 307, "[" * 80, "[" * 81, "€" * 77,
    "您的訂單已出貨" * 10, "您" * 70, "您" * 71, "您" * 134, "您" * 135, "😀" * 35, "😀" * 36, "訂單😀" * 30,
    "Order {order_id}: 已出貨", "a" * 152 + "[",
]


def _records(workspace, setting):
    """A few weeks of sends to draw: push, LINE notification messages (some delivered) and SMS."""
    now = clock.now(workspace)
    for day in range(14):
        at = now - datetime.timedelta(days=day)
        for i in range(day % 5 + 2):
            notification = Notification.objects.create(
                workspace=workspace, setting=setting, phone=f"+8869120{day:02d}{i:03d}", methods=setting.methods,
                texts={}, status="delivered" if i % 3 else "sent", stage="line_pnp", created_at=at)
            method, status = [("line_push", "sent"), ("line_pnp", "delivered"), ("line_pnp", "sent")][i % 3]
            NotificationStep.objects.create(workspace=workspace, notification=notification, setting=setting,
                                            method=method, status=status, created_at=at, sent_at=at)
            if status == "sent" and method == "line_pnp":
                NotificationStep.objects.create(workspace=workspace, notification=notification, setting=setting,
                                                method="sms", status="sent", created_at=at, sent_at=at)


def test_the_sms_counter_matches_the_billing_count_and_the_chart_draws(new_page, log_in, workspace, admin):
    setting = setting_create(workspace=workspace, actor=None, data={
        "name": "Order shipped", "scenario": "shipped", "methods": ["line_push", "line_pnp", "sms"],
        "sms_wait_minutes": 30, "content": {"line_push": "Hi {name}, order {order_id} shipped",
                                            "line_pnp": "Order {order_id} shipped", "sms": "Order {order_id} shipped"}})
    setting_create(workspace=workspace, actor=None, data={
        "name": "Ready for pickup", "scenario": "delivered_store", "methods": ["line_pnp", "sms"],
        "sms_wait_minutes": 60, "content": {"line_pnp": "Order {order_id} is at {store}", "sms": "Pick up {order_id}"}})
    _records(workspace, setting)
    page = new_page()
    log_in(page, admin)

    page.goto("/notifications/add")
    for text in SAMPLES:
        got = page.evaluate("t => window.tidingsSmsSegments(t)", text)
        segments, encoding = sms_segments(text)
        assert (got["segments"], got["encoding"]) == (segments, encoding), text
    page.fill("textarea[name=sms]", "您的訂單 {order_id} 已出貨，請留意簡訊通知。" * 3)
    assert page.text_content("[data-sms-encoding]") == "UCS-2"
    assert page.text_content("[data-sms-segments]") == "2"
    assert page.is_hidden("[data-custom-scenario]")
    page.select_option("select[name=scenario]", "custom")
    assert page.is_visible("[data-custom-scenario]")
    page.fill("input[name=name]", "Repair done")
    page.fill("input[name=custom_scenario]", "Repair completed")
    page.fill("input[name=sms_wait_minutes]", "3")
    page.fill("textarea[name=line_push]", "Hi {name}")
    page.fill("textarea[name=line_pnp]", "Repair {order_id} completed")
    page.locator("[data-sms-counter]").scroll_into_view_if_needed()
    screenshot(page, "notifications-form")
    page.click("form[data-notification-form] button[type=submit]")
    assert "from 5 to 1440" in page.text_content(".field.has-error")
    page.locator(".field.has-error").scroll_into_view_if_needed()
    screenshot(page, "notifications-form-error")

    page.goto("/notifications/")
    assert page.locator("[data-notification-settings] tbody tr").count() == 2
    screenshot(page, "notifications-overview")
    page.click(f"tr[data-setting='{setting.pk}'] a:has-text('Statistics')")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('notify-chart'))")
    datasets = page.evaluate("() => Chart.getChart(document.getElementById('notify-chart')).data.datasets.length")
    assert datasets == 6  # sent and delivered for each of the three methods
    screenshot(page, "notifications-detail")
