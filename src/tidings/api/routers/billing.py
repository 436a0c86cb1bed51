"""The prepaid balance (SPEC L1): read the balance and its transactions; record a top-up (Admin)."""

import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.billing.selectors import balance_get, billing_account, ledger_entries, low_balance_warning
from tidings.billing.services import balance_top_up
from tidings.core.permissions import Permission

from ..auth import actor
from ..errors import COMMON_ERRORS
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["billing"])

Kind = Literal["top_up", "adjustment", "sms_charge", "refund"]


class BalanceOut(Schema):
    balance: Decimal
    currency: str
    low_balance_threshold: Decimal | None = Field(..., description="null until the balance is first used")
    grace_minimum: Decimal | None = Field(..., description="SMS is refused when a charge would go below it")
    warning: str | None = Field(..., description="The console's warning bar, if any")


class TransactionOut(Schema):
    id: int
    kind: Kind
    amount: Decimal = Field(..., description="Signed: charges are negative")
    balance_after: Decimal
    note: str
    feature: str = Field(..., description="notification | phone_binding for SMS charges and refunds, else empty")
    channel: str
    segments: int
    message_id: int | None
    reference: str
    created_at: datetime.datetime

    @staticmethod
    def resolve_note(entry) -> str:
        return entry.note_display


TransactionPage = page_of(TransactionOut)


class TopUpIn(Schema):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(..., gt=0, description="More than zero, at most two decimal places")
    note: str = Field("", max_length=500)
    reference: str = Field("", max_length=200, description="e.g. the payment's receipt number")


@router.get("/billing/balance", response={200: BalanceOut, **COMMON_ERRORS}, summary="The prepaid balance")
@requires(Permission.BILLING_VIEW)
def get_balance(request):
    workspace = request.auth.workspace
    account = billing_account(workspace)
    return {"balance": balance_get(workspace), "currency": workspace.currency,
            "low_balance_threshold": account.low_balance_threshold if account else None,
            "grace_minimum": account.grace_minimum if account else None,
            "warning": low_balance_warning(workspace)}


@router.get("/billing/transactions", response={200: TransactionPage, **COMMON_ERRORS},
            summary="Balance transactions, newest first")
@requires(Permission.BILLING_VIEW)
def list_transactions(request, page: Query[PageParams], kind: Kind | None = None,
                      since: datetime.datetime | None = None, until: datetime.datetime | None = None):
    return paginate(ledger_entries(request.auth.workspace, kind=kind or "", start=since, end=until), page)


@router.post("/billing/top-ups", response={201: TransactionOut, **COMMON_ERRORS},
             summary="Record a top-up (a payment received)")
@requires(Permission.BILLING_MANAGE)
def create_top_up(request, payload: TopUpIn):
    entry = balance_top_up(workspace=request.auth.workspace, actor=actor(request), amount=payload.amount,
                           note=payload.note, reference=payload.reference)
    return Status(201, entry)
