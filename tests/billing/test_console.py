"""The billing pages: balance with transactions and forms, bills with their email, usage with chart and export."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.selectors import balance_get
from tidings.billing.services import balance_top_up, bill_generate, sms_charge, sms_refund
from tidings.core.models import AuditEntry
from tidings.core.roles import Role

pytestmark = pytest.mark.django_db


def test_admin_sees_balance_and_transactions(workspace, admin, console_client):
    balance_top_up(workspace=workspace, actor=admin.user, amount="100", note="Invoice 42")
    sms_charge(workspace=workspace, feature="notification", segments=2, reference="order-9")
    page = console_client(admin).get("/billing/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "98.00" in html and "Invoice 42" in html and "order-9" in html and "LINE notification shortcut" in html
    assert 'data-nav="billing"' in html and "Top up or adjust" in html


def test_transactions_filter_by_type(workspace, admin, console_client):
    balance_top_up(workspace=workspace, actor=admin.user, amount="100", note="Invoice 42")
    sms_charge(workspace=workspace, feature="notification", segments=2, reference="order-9")
    html = console_client(admin).get("/billing/?kind=top_up").content.decode()
    assert "Invoice 42" in html and "order-9" not in html


def test_top_up_and_adjust_from_the_console_are_audited(workspace, admin, console_client):
    client = console_client(admin)
    response = client.post("/billing/balance", {"kind": "top_up", "amount": "250", "note": "Bank transfer"})
    assert response.status_code == 302
    response = client.post("/billing/balance", {"kind": "adjustment", "amount": "-50", "note": "Duplicate payment"})
    assert response.status_code == 302
    assert balance_get(workspace) == Decimal("200")
    assert list(AuditEntry.objects.filter(workspace=workspace, action__startswith="billing.")
                .order_by("id").values_list("action", flat=True)) == ["billing.top_up", "billing.adjust"]


def test_bad_amounts_and_missing_notes_are_shown_inline(workspace, admin, console_client):
    client = console_client(admin)
    response = client.post("/billing/balance", {"kind": "adjustment", "amount": "-50", "note": ""})
    assert response.status_code == 422 and "Say why" in response.content.decode()
    response = client.post("/billing/balance", {"kind": "top_up", "amount": "abc", "note": ""})
    assert response.status_code == 422 and "Enter an amount" in response.content.decode()
    response = client.post("/billing/rules", {"low_balance_threshold": "5", "grace_minimum": "10"})
    assert response.status_code == 422 and "cannot be above" in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_rules_are_saved(workspace, admin, console_client):
    response = console_client(admin).post("/billing/rules", {"low_balance_threshold": "300", "grace_minimum": "-20"})
    assert response.status_code == 302
    account = workspace.billing_account
    assert (account.low_balance_threshold, account.grace_minimum) == (Decimal("300"), Decimal("-20"))


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins_see_billing(workspace, make_member, console_client, role):
    client = console_client(make_member(workspace, role))
    for url in ("/billing/", "/billing/bills", "/billing/usage", "/billing/usage/export"):
        assert client.get(url).status_code == 403
    assert client.post("/billing/balance", {"kind": "top_up", "amount": "5"}).status_code == 403
    assert b'data-nav="billing"' not in client.get("/").content
    assert not LedgerEntry.objects.exists()


def test_bill_detail_shows_the_email(workspace, admin, console_client):
    balance_top_up(workspace=workspace, actor=admin.user, amount="100")
    sms_charge(workspace=workspace, feature="phone_binding", segments=1)
    now = datetime.datetime.now(datetime.UTC)
    bill, _ = bill_generate(workspace=workspace, month=now.date())
    client = console_client(admin)
    listing = client.get("/billing/bills").content.decode()
    assert f"{bill.month:%Y-%m}" in listing
    detail = client.get(f"/billing/bills/{bill.pk}").content.decode()
    assert "data-bill-email" in detail and "srcdoc=" in detail and "Phone binding" in detail
    assert bill.email_subject in detail


def test_usage_page_and_exports(workspace, admin, console_client):
    balance_top_up(workspace=workspace, actor=admin.user, amount="100")
    sms_charge(workspace=workspace, feature="notification", segments=2, reference="order-1")
    refunded = sms_charge(workspace=workspace, feature="phone_binding", segments=1)
    sms_refund(workspace=workspace, charge=refunded)
    client = console_client(admin)
    page = client.get("/billing/usage").content.decode()
    assert "usage-chart" in page and "vendor/chart.umd.js" in page and 'data-usage-sms>2<' in page

    csv_text = client.get("/billing/usage/export?format=csv").content.decode("utf-8-sig")
    rows = [line.split(",") for line in csv_text.strip().splitlines()]
    assert rows[0][:3] == ["Time", "Feature", "Channel"]
    assert len(rows) == 3 and "order-1" in csv_text and "Refunded" in csv_text

    admin.user.language = "zh-hant"
    admin.user.save(update_fields=["language"])
    xlsx = console_client(admin).get("/billing/usage/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert len(header) == 9 and sheet.max_row == 3
    assert [r[4] for r in sheet.iter_rows(min_row=2, values_only=True)] == [2, 1]


def test_usage_range_is_in_workspace_days(workspace, admin, console_client):
    balance_top_up(workspace=workspace, actor=admin.user, amount="100")
    sms_charge(workspace=workspace, feature="notification", segments=1)
    entry = LedgerEntry.objects.get(kind=EntryKind.SMS_CHARGE)
    day = entry.created_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date()
    before = (day - datetime.timedelta(days=5)).isoformat()
    client = console_client(admin)
    assert 'data-usage-sms>0<' in client.get(f"/billing/usage?from={before}&to={before}").content.decode()
    assert 'data-usage-sms>1<' in client.get(f"/billing/usage?from={before}&to={day}").content.decode()
