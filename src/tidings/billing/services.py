"""Every write to the balance (SPEC L1-L4). Keyword-only, workspace first, one transaction each.

Every ledger write goes through `_append`, which holds the workspace's `BillingAccount` row locked
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises writers) from reading the
balance to storing the entry and the new balance, so concurrent charges queue and the balance is always the sum.
"""

import datetime
import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tidings.core import clock
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import User, Workspace
from tidings.core.services import audit_record
from tidings.core.tasking import enqueue_on_commit
from tidings.timers.services import timer_schedule

from . import emails
from .models import (
    DEFAULT_THRESHOLDS,
    MIGRATION_NOTE,
    REFUND_NOTE,
    Bill,
    BillingAccount,
    EmailStatus,
    EntryKind,
    Feature,
    LedgerEntry,
    LowBalanceEmail,
)
from .periods import bill_due_at, local_date, month_bounds, next_bill_due, next_month

logger = logging.getLogger(__name__)

SMS_UNIT_PRICE = Decimal("1")  # SPEC L2: one unit of balance per SMS segment
MAX_AMOUNT = Decimal("100000000")
BILL_TIMER_KIND = "billing.monthly_bill"
MIGRATION_KEY = "sms-quota-migration"


# --- the account and the ledger ------------------------------------------------------------------------------


def _account_for_update(workspace: Workspace) -> BillingAccount:
    """The workspace's account row, locked until the transaction ends; created (and its bills scheduled) if new."""
    account = BillingAccount.objects.select_for_update().filter(workspace=workspace).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            account = BillingAccount.objects.create(
                workspace=workspace, low_balance_threshold=Decimal(DEFAULT_THRESHOLDS.get(workspace.currency, 0)),
                created_at=clock.now(workspace))
    except IntegrityError:  # created by a concurrent writer, which has committed by now
        return BillingAccount.objects.select_for_update().get(workspace=workspace)
    bill_timer_schedule(workspace=workspace)
    return account


def _append(account: BillingAccount, *, kind: str, amount: Decimal, actor: User | None = None, **fields) -> LedgerEntry:
    workspace = account.workspace
    at = clock.now(workspace)
    account.balance = account.balance + amount
    entry = LedgerEntry.objects.create(workspace=workspace, kind=kind, amount=amount, balance_after=account.balance,
                                       created_by=actor, created_at=at, **fields)
    BillingAccount.objects.filter(pk=account.pk).update(balance=account.balance, updated_at=timezone.now())
    if amount < 0 and account.balance < account.low_balance_threshold:
        _low_balance_note(account, at)
    return entry


def _money(value, field: str, *, allow_negative: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ServiceError(_("Enter an amount, e.g. 500 or 12.50."), field=field) from None
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise ServiceError(_("Enter an amount with at most two decimal places."), field=field)
    if not allow_negative and amount <= 0:
        raise ServiceError(_("The amount must be more than zero."), field=field)
    return amount.quantize(Decimal("0.01"))


def _note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise ServiceError(_("Say why: the note is kept with the transaction."), field="note")
    if len(note) > 500:
        raise ServiceError(_("The note can be at most 500 characters."), field="note")
    return note


@transaction.atomic
def balance_top_up(*, workspace: Workspace, actor: User | None, amount, note: str = "",
                   reference: str = "") -> LedgerEntry:
    """Add prepaid balance (an Admin records a payment received). Audited."""
    amount = _money(amount, "amount")
    note = _note(note, required=False)
    account = _account_for_update(workspace)
    before = account.balance
    entry = _append(account, kind=EntryKind.TOP_UP, amount=amount, actor=actor, note=note, reference=reference[:200])
    audit_record(workspace=workspace, actor=actor, action="billing.top_up", target=entry,
                 changes={"balance": [str(before), str(entry.balance_after)], "note": [None, note]})
    return entry


@transaction.atomic
def balance_adjust(*, workspace: Workspace, actor: User | None, amount, note: str) -> LedgerEntry:
    """Correct the balance up or down with a reason (a refund outside SMS, a goodwill credit…). Audited."""
    amount = _money(amount, "amount", allow_negative=True)
    if amount == 0:
        raise ServiceError(_("An adjustment of zero changes nothing."), field="amount")
    note = _note(note, required=True)
    account = _account_for_update(workspace)
    before = account.balance
    entry = _append(account, kind=EntryKind.ADJUSTMENT, amount=amount, actor=actor, note=note)
    audit_record(workspace=workspace, actor=actor, action="billing.adjust", target=entry,
                 changes={"balance": [str(before), str(entry.balance_after)], "note": [None, note]})
    return entry


@transaction.atomic
def sms_quota_migrate(*, workspace: Workspace, quota: int,
                      actor: User | None = None) -> tuple[LedgerEntry | None, bool]:
    """Convert a former SMS quota 1:1 into balance: one "balance adjustment" noted "SMS balance migration".

    Idempotent per workspace: a second run adds nothing and returns (the first entry, False). A quota of 0 writes
    nothing: (None, False).
    """
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
        raise ServiceError(_("The SMS quota must be a whole number of 0 or more."), field="quota")
    account = _account_for_update(workspace)  # lock first: two concurrent runs queue here
    existing = LedgerEntry.objects.for_workspace(workspace).filter(once_key=MIGRATION_KEY).first()
    if existing is not None or quota == 0:
        return existing, False
    entry = _append(account, kind=EntryKind.ADJUSTMENT, amount=Decimal(quota) * SMS_UNIT_PRICE, actor=actor,
                    note=MIGRATION_NOTE, once_key=MIGRATION_KEY, channel="sms")
    audit_record(workspace=workspace, actor=actor, action="billing.sms_quota_migrate", target=entry,
                 changes={"quota": [None, quota], "balance": [str(entry.balance_after - entry.amount),
                                                             str(entry.balance_after)]})
    return entry, True


@transaction.atomic
def billing_settings_update(*, workspace: Workspace, actor: User | None, low_balance_threshold,
                            grace_minimum) -> BillingAccount:
    """The low-balance threshold (warning bar and email) and the grace minimum (below it SMS is refused)."""
    threshold = _money(low_balance_threshold, "low_balance_threshold", allow_negative=True)
    grace = _money(grace_minimum, "grace_minimum", allow_negative=True)
    if grace > threshold:
        raise ServiceError(_("The grace minimum cannot be above the low-balance threshold: the warning must come "
                             "before SMS stops."), field="grace_minimum")
    account = _account_for_update(workspace)
    changes = {}
    for field, value in (("low_balance_threshold", threshold), ("grace_minimum", grace)):
        if getattr(account, field) != value:
            changes[field] = [str(getattr(account, field)), str(value)]
            setattr(account, field, value)
    if changes:
        account.save(update_fields=["low_balance_threshold", "grace_minimum", "updated_at"])
        audit_record(workspace=workspace, actor=actor, action="billing.settings", target=account, changes=changes)
    return account


# --- SMS charges and refunds (L2, L4) ------------------------------------------------------------------------


@transaction.atomic
def sms_charge(*, workspace: Workspace, feature: str, segments: int, message_id: int | None = None,
               reference: str = "", channel: str = "sms") -> LedgerEntry:
    """Charge one unit per SMS segment, when the SMS is handed to the pipeline.

    Call it in the transaction that stores the message (`message_send`), with the message's id: if the provider
    rejects the SMS, the refund finds the charge by that id. Refused — `ServiceError(code="balance_below_grace")`,
    nothing written — when the charge would take the balance below the workspace's grace minimum; the caller
    records that reason and does not send.
    """
    if feature not in Feature.values:
        raise ServiceError(_("Unknown feature for an SMS charge."), field="feature")
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ServiceError(_("An SMS has at least one segment."), field="segments")
    account = _account_for_update(workspace)
    cost = SMS_UNIT_PRICE * segments
    if account.balance - cost < account.grace_minimum:
        raise ServiceError(
            _("SMS not sent: the balance (%(balance)s) is too low — this SMS costs %(cost)s and the balance may not "
              "fall below the grace minimum of %(minimum)s. Top up the balance to resume SMS.")
            % {"balance": account.balance, "cost": cost, "minimum": account.grace_minimum},
            field="balance", code="balance_below_grace",
        )
    return _append(account, kind=EntryKind.SMS_CHARGE, amount=-cost, feature=feature, channel=channel,
                   segments=segments, message_id=message_id, reference=(reference or "")[:200])


@transaction.atomic
def sms_refund(*, workspace: Workspace, charge: LedgerEntry, reason: str = "") -> LedgerEntry | None:
    """Give a charge back once (the provider rejected the SMS). None if it was refunded already."""
    if charge.workspace_id != workspace.pk or charge.kind != EntryKind.SMS_CHARGE:
        raise NotFound()
    account = _account_for_update(workspace)  # refunds of one charge queue here; the second sees the first
    if LedgerEntry.objects.for_workspace(workspace).filter(refund_of=charge).exists():
        return None
    return _append(account, kind=EntryKind.REFUND, amount=-charge.amount, feature=charge.feature,
                   channel=charge.channel, segments=-charge.segments, message_id=charge.message_id,
                   reference=charge.reference, refund_of=charge, note=REFUND_NOTE if not reason else reason[:500])


def sms_refund_for_message(*, workspace: Workspace, message_id: int, reason: str = "") -> list[LedgerEntry]:
    """Refund every not-yet-refunded SMS charge of a message (called when messaging records its failure)."""
    charges = LedgerEntry.objects.for_workspace(workspace).filter(
        kind=EntryKind.SMS_CHARGE, message_id=message_id, refund__isnull=True)
    return [refund for charge in charges
            if (refund := sms_refund(workspace=workspace, charge=charge, reason=reason)) is not None]


# --- low balance (L4) ----------------------------------------------------------------------------------------


def _recipients(workspace: Workspace) -> list[str]:
    """The billing email; without one, the workspace's active Admins."""
    if workspace.billing_email:
        return [workspace.billing_email]
    from tidings.core.models import Membership
    from tidings.core.roles import Role

    return sorted(Membership.objects.for_workspace(workspace).filter(role=Role.ADMIN, is_active=True)
                  .values_list("user__email", flat=True))


def _low_balance_note(account: BillingAccount, at: datetime.datetime) -> None:
    """In the debit's transaction: at most one low-balance email per workspace-local day."""
    workspace = account.workspace
    day = local_date(workspace, at)
    if LowBalanceEmail.objects.for_workspace(workspace).filter(day=day).exists():
        return
    to = _recipients(workspace)
    try:
        with transaction.atomic():
            note = LowBalanceEmail.objects.create(
                workspace=workspace, day=day, balance=account.balance, threshold=account.low_balance_threshold,
                email_to=", ".join(to), created_at=at,
                email_status=EmailStatus.PENDING if to else EmailStatus.SKIPPED)
    except IntegrityError:
        return
    if to:
        from .tasks import low_balance_email_task

        enqueue_on_commit(low_balance_email_task, note.pk)


def low_balance_email_send(*, low_balance_email_id: int) -> str:
    note = _claim_email(LowBalanceEmail, low_balance_email_id)
    if note is None:
        return "skipped"
    workspace = note.workspace
    subject, text, html = emails.low_balance_email(workspace, balance=note.balance, threshold=note.threshold,
                                                   grace_minimum=_grace(workspace))
    return _deliver(LowBalanceEmail, note, subject, text, html)


def _grace(workspace: Workspace) -> Decimal:
    account = BillingAccount.objects.filter(workspace=workspace).first()
    return account.grace_minimum if account else Decimal("0")


# --- email delivery: claimed, sent outside any transaction, recorded ------------------------------------------


def _claim_email(model, pk: int):
    """pending → sending in a committed transaction, so a task run twice sends once (a crash mid-send leaves
    `sending`, shown in the console, rather than mailing twice)."""
    with transaction.atomic():
        row = model.objects.select_for_update().select_related("workspace").filter(pk=pk).first()
        if row is None or row.email_status != EmailStatus.PENDING:
            return None
        model.objects.filter(pk=pk).update(email_status=EmailStatus.SENDING)
    return row


def _deliver(model, row, subject: str, text: str, html: str) -> str:
    to = [address.strip() for address in row.email_to.split(",") if address.strip()]
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any transport error is recorded and shown, not raised
        logger.warning("billing email %s %s failed: %s", model.__name__, row.pk, exc)
        model.objects.filter(pk=row.pk).update(email_status=EmailStatus.FAILED, email_error=str(exc)[:500])
        return "failed"
    fields = {"email_status": EmailStatus.SENT}
    if model is Bill:
        fields["emailed_at"] = timezone.now()
    model.objects.filter(pk=row.pk).update(**fields)
    return "sent"


# --- monthly bills (L3) --------------------------------------------------------------------------------------


def bill_timer_schedule(*, workspace: Workspace, after: datetime.datetime | None = None) -> None:
    """The durable timer for the next bill: the next 3rd, 00:00 in the workspace's zone, billing the month before."""
    due_at, month = next_bill_due(workspace, after or clock.now(workspace))
    timer_schedule(workspace=workspace, kind=BILL_TIMER_KIND, key=f"billing:bill:{month:%Y-%m}", due_at=due_at,
                   payload={"month": month.isoformat()})


@transaction.atomic
def bill_generate(*, workspace: Workspace, month: datetime.date) -> tuple[Bill, bool]:
    """The bill of `month` (any day in it), created once: (bill, created). Emailed after commit when new."""
    from .selectors import usage_lines

    month = month.replace(day=1)
    existing = Bill.objects.for_workspace(workspace).filter(month=month).first()
    if existing is not None:
        return existing, False
    start, end = month_bounds(workspace, month)
    lines = usage_lines(workspace, start=start, end=end)
    account = BillingAccount.objects.filter(workspace=workspace).first()
    balance = account.balance if account else Decimal("0")
    bill = Bill(workspace=workspace, month=month, period_start=start, period_end=end, currency=workspace.currency,
                lines=[{**line, "cost": str(line["cost"])} for line in lines],
                sms_count=sum(line["messages"] for line in lines), segments=sum(line["segments"] for line in lines),
                total=sum((line["cost"] for line in lines), Decimal("0.00")), balance_at_end=balance,
                email_to=", ".join(_recipients(workspace)), created_at=clock.now(workspace))
    bill.email_subject, bill.email_text, bill.email_html = emails.bill_email(workspace, bill)
    if not lines:  # nothing to pay: kept for the record, not mailed
        bill.email_status, bill.email_error = EmailStatus.SKIPPED, "no SMS this month"
    elif not bill.email_to:
        bill.email_status, bill.email_error = EmailStatus.SKIPPED, "no billing email and no active Admin"
    try:
        with transaction.atomic():
            bill.save()
    except IntegrityError:  # a concurrent run made it first
        return Bill.objects.for_workspace(workspace).get(month=month), False
    if bill.email_status == EmailStatus.PENDING:
        from .tasks import bill_email_task

        enqueue_on_commit(bill_email_task, bill.pk)
    return bill, True


def bill_due(*, workspace: Workspace, month: datetime.date) -> Bill:
    """The monthly timer fired: bill `month`, then schedule the next 3rd (from this one, so a clock that jumps
    several months bills each of them in turn)."""
    bill, _created = bill_generate(workspace=workspace, month=month)
    following = next_month(month)
    timer_schedule(workspace=workspace, kind=BILL_TIMER_KIND, key=f"billing:bill:{following:%Y-%m}",
                   due_at=bill_due_at(workspace, following), payload={"month": following.isoformat()})
    return bill


def bill_email_send(*, bill_id: int) -> str:
    bill = _claim_email(Bill, bill_id)
    if bill is None:
        return "skipped"
    return _deliver(Bill, bill, bill.email_subject, bill.email_text, bill.email_html)
