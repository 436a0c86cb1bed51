"""Calendar arithmetic in the workspace's time zone: billing months and the 3rd on which each is billed."""

import datetime
import zoneinfo

BILL_DAY = 3  # SPEC L3: the previous month is billed on the 3rd


def zone(workspace) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def local_date(workspace, at: datetime.datetime) -> datetime.date:
    return at.astimezone(zone(workspace)).date()


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def previous_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def local_midnight(workspace, day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=zone(workspace))


def month_bounds(workspace, month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[first day 00:00, next month's first day 00:00) in the workspace's zone."""
    month = month.replace(day=1)
    return local_midnight(workspace, month), local_midnight(workspace, next_month(month))


def bill_due_at(workspace, month: datetime.date) -> datetime.datetime:
    """When `month` is billed: 00:00 on the 3rd of the month after, workspace time."""
    return local_midnight(workspace, next_month(month.replace(day=1)).replace(day=BILL_DAY))


def next_bill_due(workspace, after: datetime.datetime) -> tuple[datetime.datetime, datetime.date]:
    """The first bill day strictly after `after`, and the month it bills."""
    today = local_date(workspace, after)
    month = previous_month(today) if today.day < BILL_DAY else today.replace(day=1)
    return bill_due_at(workspace, month), month
