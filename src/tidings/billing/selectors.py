"""Reads of the balance, the ledger, bills and SMS usage (SPEC L1, L3-L5)."""

import datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from tidings.core.errors import NotFound
from tidings.core.models import Workspace

from .models import Bill, BillingAccount, EntryKind, Feature, LedgerEntry
from .periods import zone

USAGE_KINDS = (EntryKind.SMS_CHARGE, EntryKind.REFUND)


def billing_account(workspace: Workspace) -> BillingAccount | None:
    """The account row, or None while the workspace has never used billing."""
    return BillingAccount.objects.filter(workspace=workspace).first()


def balance_get(workspace: Workspace) -> Decimal:
    account = billing_account(workspace)
    return account.balance if account else Decimal("0.00")


def ledger_sum(workspace: Workspace) -> Decimal:
    """The balance recomputed from the ledger (what `balance_get` must always equal)."""
    return LedgerEntry.objects.for_workspace(workspace).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def low_balance_warning(workspace: Workspace, *, detailed: bool = True) -> str | None:
    """The console's warning bar, or None. `detailed` (members who may see billing) names the amounts and also warns
    below the low-balance threshold; others hear only that SMS is paused, which affects their notifications."""
    account = billing_account(workspace)
    if account is None:
        return None
    values = {"balance": account.balance, "minimum": account.grace_minimum,
              "threshold": account.low_balance_threshold, "currency": workspace.currency}
    if account.balance - 1 < account.grace_minimum:  # the cheapest SMS (one segment) would be refused
        if not detailed:
            return _("SMS is paused: the prepaid balance has run out. Ask an Admin to top it up.")
        return _("SMS is paused: the balance of %(balance)s %(currency)s has reached the grace minimum of "
                 "%(minimum)s. Top up to resume SMS for notifications and phone binding.") % values
    if detailed and account.balance < account.low_balance_threshold:
        return _("The balance is low: %(balance)s %(currency)s, below your threshold of %(threshold)s. Top up "
                 "before SMS stops at %(minimum)s.") % values
    return None


def ledger_entries(workspace: Workspace, *, kind: str = "", feature: str = "", start: datetime.datetime | None = None,
                   end: datetime.datetime | None = None) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.for_workspace(workspace).select_related("created_by")
    if kind:
        entries = entries.filter(kind=kind)
    if feature:
        entries = entries.filter(feature=feature)
    if start is not None:
        entries = entries.filter(created_at__gte=start)
    if end is not None:
        entries = entries.filter(created_at__lt=end)
    return entries


def ledger_entry_get(workspace: Workspace, entry_id: int) -> LedgerEntry:
    entry = LedgerEntry.objects.for_workspace(workspace).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound()
    return entry


def bills_list(workspace: Workspace) -> QuerySet[Bill]:
    return Bill.objects.for_workspace(workspace)


def bill_get(workspace: Workspace, bill_id: int) -> Bill:
    bill = Bill.objects.for_workspace(workspace).filter(pk=bill_id).first()
    if bill is None:
        raise NotFound()
    return bill


# --- usage (L3 bills, L5 statistics) ---------------------------------------------------------------------------


def _usage(workspace: Workspace, start: datetime.datetime, end: datetime.datetime) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.for_workspace(workspace).filter(kind__in=USAGE_KINDS, created_at__gte=start,
                                                              created_at__lt=end).order_by()


_TOTALS = {
    # SMS sent and charged, net of refunds; refunded ones are counted separately.
    "n_charged": Count("id", filter=Q(kind=EntryKind.SMS_CHARGE)),
    "n_refunded": Count("id", filter=Q(kind=EntryKind.REFUND)),
    "seg_charged": Sum("segments", filter=Q(kind=EntryKind.SMS_CHARGE)),
    "seg_refunded": Sum("segments", filter=Q(kind=EntryKind.REFUND)),
    "net": Sum("amount"),
}


def _row(values: dict) -> dict:
    return {
        "messages": values["n_charged"], "refunded": values["n_refunded"], "segments": values["seg_charged"] or 0,
        "refunded_segments": -(values["seg_refunded"] or 0),
        "cost": -(values["net"] or Decimal("0")).quantize(Decimal("0.01")),
    }


def usage_lines(workspace: Workspace, *, start: datetime.datetime, end: datetime.datetime) -> list[dict]:
    """SMS usage per (feature, channel) in [start, end): messages, segments, refunds and net cost."""
    rows = _usage(workspace, start, end).values("feature", "channel").annotate(**_TOTALS).order_by("feature",
                                                                                                  "channel")
    return [{"feature": row["feature"], "channel": row["channel"], **_row(row)} for row in rows]


def usage_by_day(workspace: Workspace, *, start: datetime.datetime, end: datetime.datetime,
                 feature: str = "", channel: str = "") -> list[dict]:
    """One row per workspace-local day in [start, end), zero-filled, for the chart and the export."""
    usage = _usage(workspace, start, end)
    if feature:
        usage = usage.filter(feature=feature)
    if channel:
        usage = usage.filter(channel=channel)
    rows = {row["day"]: row for row in usage.annotate(day=TruncDate("created_at", tzinfo=zone(workspace)))
            .values("day").annotate(**_TOTALS)}
    days, day = [], start.astimezone(zone(workspace)).date()
    last = (end - datetime.timedelta(microseconds=1)).astimezone(zone(workspace)).date()
    while day <= last:
        row = rows.get(day)
        days.append({"day": day, **(_row(row) if row else {"messages": 0, "refunded": 0, "segments": 0,
                                                           "refunded_segments": 0, "cost": Decimal("0")})})
        day += datetime.timedelta(days=1)
    return days


def usage_totals(workspace: Workspace, *, start: datetime.datetime, end: datetime.datetime) -> dict:
    return _row(_usage(workspace, start, end).aggregate(**_TOTALS))


def feature_label(value: str) -> str:
    return str(Feature(value).label) if value in Feature.values else value


def channel_label(value: str) -> str:
    return {"sms": "SMS"}.get(value, value)


def usage_export_rows(workspace: Workspace, *, start: datetime.datetime, end: datetime.datetime) -> list[list]:
    """One row per SMS charged in [start, end): local time, feature, channel, phone, segments, cost, status, error,
    reference. Phone, delivery status and error come from the message, when it still exists."""
    from tidings.messaging.models import Message

    charges = list(LedgerEntry.objects.for_workspace(workspace).filter(
        kind=EntryKind.SMS_CHARGE, created_at__gte=start, created_at__lt=end).order_by("created_at", "id")
        .select_related("refund"))
    ids = {c.message_id for c in charges if c.message_id}
    messages = {m.pk: m for m in Message.objects.for_workspace(workspace).filter(pk__in=ids)
                .select_related("identity", "contact")}
    tz = zone(workspace)
    rows = []
    for charge in charges:
        message = messages.get(charge.message_id)
        phone = ""
        if message is not None:
            phone = (message.identity.external_id if message.identity else "") or message.contact.phone
        refunded = getattr(charge, "refund", None) is not None
        status = _("Refunded") if refunded else (message.get_status_display() if message else _("Charged"))
        error = ""
        if message is not None and message.error:
            error = str(message.error.get("ErrorMessage") or message.error.get("message") or message.error)
        rows.append([charge.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), feature_label(charge.feature),
                     channel_label(charge.channel), phone, charge.segments, float(-charge.amount), str(status), error,
                     charge.reference])
    return rows
