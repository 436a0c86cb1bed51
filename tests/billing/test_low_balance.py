"""Low balance (L4): at most one email a day, the console's warning bar, and SMS refused below the grace minimum."""

import datetime

import pytest
from django.core import mail

from tidings.billing.models import LowBalanceEmail
from tidings.billing.selectors import low_balance_warning
from tidings.billing.services import balance_top_up, billing_settings_update, sms_charge
from tidings.core.errors import ServiceError
from tidings.core.roles import Role
from tidings.core.services import workspace_update
from tidings.timers.services import clock_advance

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rules(workspace, admin):
    workspace_update(workspace=workspace, actor=None, billing_email="accounts@acme.test")
    workspace.refresh_from_db()
    billing_settings_update(workspace=workspace, actor=admin.user, low_balance_threshold="10", grace_minimum="0")
    balance_top_up(workspace=workspace, actor=admin.user, amount="20")
    return workspace


def test_one_low_balance_email_a_day_however_many_charges(low_rules, run_commits):
    ws = low_rules
    for _ in range(9):  # 20 → 11: still above the threshold
        run_commits(sms_charge, workspace=ws, feature="notification", segments=1)
    assert mail.outbox == []
    for _ in range(5):  # 10 → … → 6: below the threshold five times on one day
        run_commits(sms_charge, workspace=ws, feature="notification", segments=1)
    [email] = mail.outbox
    assert email.to == ["accounts@acme.test"] and "9.00" in email.body and "10.00" in email.body
    clock_advance(workspace=ws, by=datetime.timedelta(days=1))
    ws.refresh_from_db()
    run_commits(sms_charge, workspace=ws, feature="notification", segments=1)
    run_commits(sms_charge, workspace=ws, feature="notification", segments=1)
    assert len(mail.outbox) == 2  # the next day, one more
    assert LowBalanceEmail.objects.filter(workspace=ws).count() == 2


def test_top_ups_never_send_the_low_balance_email(workspace, admin, run_commits):
    billing_settings_update(workspace=workspace, actor=admin.user, low_balance_threshold="100", grace_minimum="0")
    run_commits(balance_top_up, workspace=workspace, actor=admin.user, amount="5")
    assert mail.outbox == []


def test_warning_bar_levels(low_rules, admin):
    ws = low_rules
    assert low_balance_warning(ws) is None
    for _ in range(12):
        sms_charge(workspace=ws, feature="notification", segments=1)
    assert "balance is low" in low_balance_warning(ws) and "8.00" in low_balance_warning(ws)
    assert low_balance_warning(ws, detailed=False) is None  # others are not bothered before SMS stops
    for _ in range(8):
        sms_charge(workspace=ws, feature="notification", segments=1)
    assert "SMS is paused" in low_balance_warning(ws)
    soft = low_balance_warning(ws, detailed=False)
    assert "SMS is paused" in soft and "0.00" not in soft  # no amounts for members who may not see billing


def test_sms_refused_below_grace_says_why(low_rules):
    for _ in range(20):
        sms_charge(workspace=low_rules, feature="phone_binding", segments=1)
    with pytest.raises(ServiceError) as refused:
        sms_charge(workspace=low_rules, feature="phone_binding", segments=1)
    assert refused.value.code == "balance_below_grace"
    assert str(refused.value.message).startswith("SMS not sent: the balance (0.00) is too low")


def test_grace_minimum_may_not_exceed_the_threshold(workspace, admin):
    with pytest.raises(ServiceError) as refused:
        billing_settings_update(workspace=workspace, actor=admin.user, low_balance_threshold="5", grace_minimum="10")
    assert refused.value.field == "grace_minimum"


def test_the_console_bar_is_detailed_for_admins_and_soft_for_others(low_rules, make_member, console_client):
    for _ in range(20):
        sms_charge(workspace=low_rules, feature="notification", segments=1)
    admin_page = console_client(low_rules.memberships.get(role=Role.ADMIN)).get("/")
    marketer_page = console_client(make_member(low_rules, Role.MARKETER)).get("/")
    assert b"data-billing-warning" in admin_page.content and b"0.00 TWD" in admin_page.content
    assert b"Go to billing" in admin_page.content
    assert b"data-billing-warning" in marketer_page.content and b"0.00 TWD" not in marketer_page.content
    assert b"Ask an Admin" in marketer_page.content
    agent_page = console_client(make_member(low_rules, Role.CS_AGENT)).get("/")
    assert b"data-billing-warning" not in agent_page.content  # nothing they send is SMS-billed


def test_no_bar_while_billing_is_unused(workspace, admin, console_client):
    assert b"data-billing-warning" not in console_client(admin).get("/").content
    assert low_balance_warning(workspace) is None
