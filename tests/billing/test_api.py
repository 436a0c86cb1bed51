"""GET /api/v1/billing/balance, GET /api/v1/billing/transactions, POST /api/v1/billing/top-ups."""

import pytest

from tidings.billing.services import balance_top_up, sms_charge
from tidings.core.roles import Role

pytestmark = pytest.mark.django_db


def test_balance_and_transactions(workspace, admin, api_client):
    api = api_client(admin)
    assert api.get("/api/v1/billing/balance").json() == {
        "balance": "0.00", "currency": "TWD", "low_balance_threshold": None, "grace_minimum": None, "warning": None}
    balance_top_up(workspace=workspace, actor=admin.user, amount="50")
    sms_charge(workspace=workspace, feature="notification", segments=3, message_id=77, reference="order-5")
    body = api.get("/api/v1/billing/balance").json()
    assert body["balance"] == "47.00" and body["low_balance_threshold"] == "5000.00"
    assert "balance is low" in body["warning"]
    page = api.get("/api/v1/billing/transactions").json()
    assert page["count"] == 2
    charge = page["items"][0]
    assert (charge["kind"], charge["amount"], charge["segments"], charge["message_id"], charge["reference"]) == (
        "sms_charge", "-3.00", 3, 77, "order-5")
    assert api.get("/api/v1/billing/transactions?kind=top_up").json()["count"] == 1


def test_top_up(workspace, admin, api_client):
    api = api_client(admin)
    response = api.post("/api/v1/billing/top-ups", {"amount": "120.50", "note": "Transfer", "reference": "R-1"})
    assert response.status_code == 201, response.content
    assert (response.json()["balance_after"], response.json()["kind"]) == ("120.50", "top_up")
    bad = api.post("/api/v1/billing/top-ups", {"amount": "0"})
    assert bad.status_code == 422 and bad.json()["details"][0]["field"].endswith("amount")
    precise = api.post("/api/v1/billing/top-ups", {"amount": "1.234"})
    assert precise.status_code == 422 and precise.json()["details"][0]["field"] == "amount"


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_only_admins(workspace, make_member, api_client, role):
    api = api_client(make_member(workspace, role))
    assert api.get("/api/v1/billing/balance").status_code == 403
    assert api.get("/api/v1/billing/transactions").status_code == 403
    assert api.post("/api/v1/billing/top-ups", {"amount": "5"}).status_code == 403
