"""Reads of the notification shortcut, always within one workspace: settings, notifications with their steps, and
the overview's statistics (N3) - sent and delivered per method, totals and a daily series for the chart."""

import datetime
import zoneinfo

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from .models import (
    METHOD_ORDER,
    Method,
    Notification,
    NotificationSetting,
    NotificationStatus,
    NotificationStep,
    StepStatus,
)


def settings_list(workspace) -> QuerySet[NotificationSetting]:
    return NotificationSetting.objects.for_workspace(workspace).order_by("-created_at", "-id")


def setting_get(workspace, setting_id) -> NotificationSetting | None:
    try:
        return NotificationSetting.objects.for_workspace(workspace).filter(pk=int(setting_id)).first()
    except (TypeError, ValueError):
        return None


def notification_get(workspace, notification_id) -> Notification | None:
    try:
        return Notification.objects.for_workspace(workspace).filter(pk=int(notification_id)).first()
    except (TypeError, ValueError):
        return None


def notification_steps(notification: Notification) -> list[NotificationStep]:
    """Its steps in the order the cascade tries them."""
    order = {m.value: i for i, m in enumerate(METHOD_ORDER)}
    return sorted(NotificationStep.objects.filter(notification=notification), key=lambda s: order[s.method])


def _zone(workspace):
    try:
        return zoneinfo.ZoneInfo(workspace.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def period_bounds(workspace, start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[start 00:00, the day after end 00:00) in the workspace's time zone."""
    zone = _zone(workspace)
    return (datetime.datetime.combine(start, datetime.time(), zone),
            datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), zone))


# A step counts as sent once the provider accepted it, and as delivered when a delivery report came. LINE push has no
# delivery report: a push accepted for a subscribed friend counts as delivered (as the original's overview does).
_SENT = Q(status__in=[StepStatus.SENT, StepStatus.DELIVERED])
_DELIVERED = Q(status=StepStatus.DELIVERED) | Q(method=Method.LINE_PUSH, status=StepStatus.SENT)


def overview(workspace, *, start: datetime.date, end: datetime.date, setting_id=None) -> dict:
    """Per setting: triggered and completed notifications, and per method sent / delivered / failed, in the period.

    `{"settings": {setting id: {"triggered", "completed", "methods": {method: {"sent", "delivered", "failed",
    "rate"}}}}, "totals": {same for all}}`
    """
    lower, upper = period_bounds(workspace, start, end)
    notifications = Notification.objects.for_workspace(workspace).filter(created_at__gte=lower, created_at__lt=upper)
    steps = NotificationStep.objects.for_workspace(workspace).filter(created_at__gte=lower, created_at__lt=upper)
    if setting_id is not None:
        notifications, steps = notifications.filter(setting_id=setting_id), steps.filter(setting_id=setting_id)
    done = Q(status__in=[NotificationStatus.SENT, NotificationStatus.DELIVERED])
    empty = lambda: {"triggered": 0, "completed": 0, "methods": {m.value: _rates(0, 0, 0) for m in METHOD_ORDER}}  # noqa: E731
    out, totals = {}, empty()
    for row in notifications.values("setting_id").annotate(n=Count("id"), done=Count("id", filter=done)):
        entry = out.setdefault(row["setting_id"], empty())
        entry["triggered"], entry["completed"] = row["n"], row["done"]
        totals["triggered"] += row["n"]
        totals["completed"] += row["done"]
    rows = steps.values("setting_id", "method").annotate(
        sent=Count("id", filter=_SENT), delivered=Count("id", filter=_DELIVERED),
        failed=Count("id", filter=Q(status=StepStatus.FAILED)))
    for row in rows:
        entry = out.setdefault(row["setting_id"], empty())
        entry["methods"][row["method"]] = _rates(row["sent"], row["delivered"], row["failed"])
        total = totals["methods"][row["method"]]
        totals["methods"][row["method"]] = _rates(total["sent"] + row["sent"], total["delivered"] + row["delivered"],
                                                  total["failed"] + row["failed"])
    return {"settings": out, "totals": totals}


def _rates(sent: int, delivered: int, failed: int) -> dict:
    return {"sent": sent, "delivered": delivered, "failed": failed,
            "rate": round(100 * delivered / sent, 1) if sent else None}


def daily_series(workspace, *, start: datetime.date, end: datetime.date, setting_id=None) -> dict:
    """For the chart: `{"days": ["2026-11-01", …], "methods": {method: {"sent": [...], "delivered": [...]}}}`,
    one value per day of the period in the workspace's time zone."""
    lower, upper = period_bounds(workspace, start, end)
    steps = NotificationStep.objects.for_workspace(workspace).filter(created_at__gte=lower, created_at__lt=upper)
    if setting_id is not None:
        steps = steps.filter(setting_id=setting_id)
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    series = {m.value: {"sent": [0] * len(days), "delivered": [0] * len(days)} for m in METHOD_ORDER}
    rows = (steps.annotate(day=TruncDate("created_at", tzinfo=_zone(workspace))).values("day", "method")
            .annotate(sent=Count("id", filter=_SENT), delivered=Count("id", filter=_DELIVERED)))
    for row in rows:
        i = index.get(row["day"])
        if i is not None:
            series[row["method"]]["sent"][i] = row["sent"]
            series[row["method"]]["delivered"][i] = row["delivered"]
    return {"days": [d.isoformat() for d in days], "methods": series}


def send_records(workspace, *, start: datetime.date, end: datetime.date, setting_id=None) -> QuerySet[NotificationStep]:
    """Every send record (one step = one send) in the period, oldest first, for the export."""
    lower, upper = period_bounds(workspace, start, end)
    steps = NotificationStep.objects.for_workspace(workspace).filter(created_at__gte=lower, created_at__lt=upper)
    if setting_id is not None:
        steps = steps.filter(setting_id=setting_id)
    return steps.select_related("notification", "notification__contact", "setting").order_by("created_at", "id")


def recent_notifications(workspace, *, setting_id=None, limit: int = 20) -> list[Notification]:
    notifications = Notification.objects.for_workspace(workspace).select_related("contact").order_by("-created_at",
                                                                                                     "-id")
    if setting_id is not None:
        notifications = notifications.filter(setting_id=setting_id)
    items = list(notifications[:limit])
    steps: dict[int, list] = {}
    for step in NotificationStep.objects.filter(notification__in=items):
        steps.setdefault(step.notification_id, []).append(step)
    order = {m.value: i for i, m in enumerate(METHOD_ORDER)}
    for item in items:
        item.step_list = sorted(steps.get(item.pk, []), key=lambda s: order[s.method])
    return items
