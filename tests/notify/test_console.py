"""Console pages of the notification shortcut: the overview with counts per method, one setting's chart data and
recent notifications, the settings form (inline errors), and the send-record export in the member's language."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from tidings.core.roles import Role
from tidings.core.services import workspace_modules_set
from tidings.notify.models import NotificationSetting

from .conftest import CONTENT, later

pytestmark = pytest.mark.django_db(transaction=True)

FORM = {"name": "Order shipped", "scenario": "shipped", "methods": ["line_push", "line_pnp", "sms"],
        "sms_wait_minutes": "30", **CONTENT}


@pytest.fixture
def console(admin, console_client):
    return console_client(admin)


def test_the_empty_overview_says_what_to_do(console, line_account, sms_account):
    page = console.get("/notifications/").content.decode()
    assert "No notifications yet" in page and "/notifications/add" in page


def test_a_marketer_creates_a_notification_in_the_console(workspace, make_member, console_client):
    client = console_client(make_member(workspace, Role.MARKETER))
    response = client.post("/notifications/add", FORM)
    assert response.status_code == 302
    setting = NotificationSetting.objects.get()
    assert setting.methods == ["line_push", "line_pnp", "sms"] and setting.content == CONTENT
    assert setting.sms_wait_minutes == 30 and setting.created_by.email.startswith("marketer")


def test_a_wait_outside_the_bounds_is_an_inline_error(console):
    response = console.post("/notifications/add", {**FORM, "sms_wait_minutes": "2"})
    assert response.status_code == 200 and not NotificationSetting.objects.exists()
    assert "The SMS wait time is a whole number of minutes from 5 to 1440." in response.content.decode()
    response = console.post("/notifications/add", {**FORM, "sms": ""})
    assert "Write the SMS text: the method is on." in response.content.decode()


def test_the_form_carries_the_live_sms_counter(console):
    page = console.get("/notifications/add").content.decode()
    assert "data-sms-counter" in page and "data-sms-segments" in page and "console/notifications.js" in page


def test_editing_changes_the_setting(console, setting):
    response = console.post(f"/notifications/{setting.pk}/edit", {**FORM, "name": "Shipped (home)",
                                                                   "sms_wait_minutes": "45"})
    assert response.status_code == 302
    setting.refresh_from_db()
    assert setting.name == "Shipped (home)" and setting.sms_wait_minutes == 45


def test_the_overview_counts_sent_and_delivered_per_method(workspace, console, funded, setting, persona, notify):
    friend = persona(friend=True)
    consenting = persona(friend=False, pnp_consent=True)
    no_line = persona(line=False)
    for customer in (friend, consenting, no_line):
        notify(setting, customer.phone)
    later(workspace, seconds=6)  # the LINE notification message's delivery report
    page = console.get("/notifications/").content.decode()
    row = page.split(f'data-setting="{setting.pk}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="notify-num" data-triggered>3</td>' in row
    assert '<td class="notify-num" data-completed>3</td>' in row
    cells = {m: row.split(f'data-method="{m}">', 1)[1].split("<", 1)[0].strip() for m in ("line_push", "line_pnp", "sms")}
    # push 1 of 1; PNP: 2 sent (one 422 is not "sent"), 1 delivered; SMS 1 sent, delivered by Twilio's callback later
    assert cells["line_push"] == "1 / 1" and cells["line_pnp"] == "1 / 1" and cells["sms"].endswith("/ 1")
    detail = console.get(f"/notifications/{setting.pk}/").content.decode()
    chart = json.loads(detail.split('id="notify-chart-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert sum(chart["methods"]["line_pnp"]["sent"]) == 1 and sum(chart["methods"]["line_pnp"]["delivered"]) == 1
    assert len(chart["days"]) == 30 and "vendor/chart.umd.js" in detail
    assert detail.count("data-notification=") == 3


def test_the_export_lists_every_send_in_the_members_language(workspace, make_member, console_client, funded, setting,
                                                            persona, notify):
    customer = persona(name="陳美玲", line=False)
    notify(setting, customer.phone, reference="A42")
    english = console_client(make_member(workspace, Role.MARKETER, language="en"))
    response = english.get("/notifications/export?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Notification", "Notification setting", "Reference", "Customer", "Phone", "Method",
                       "Sent time", "Delivery status", "Error"]
    assert [(r[2], r[3], r[4], r[5], r[8]) for r in rows[1:]] == [
        ("A42", "陳美玲", customer.phone, "LINE notification message", "Failed to send messages"),
        ("A42", "陳美玲", customer.phone, "SMS", ""),
    ]
    chinese = console_client(make_member(workspace, Role.MARKETER, language="zh-hant"))
    response = chinese.get(f"/notifications/export?format=xlsx&setting={setting.pk}")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert len(values) == 3 and values[1][2] == "A42" and values[2][5] is not None
    assert response["Content-Language"] == "zh-hant"  # written in the member's language


def test_another_role_or_module_off_has_no_page(workspace, make_member, console_client, admin):
    agent = console_client(make_member(workspace, Role.CS_AGENT))
    assert agent.get("/notifications/").status_code == 403
    workspace_modules_set(workspace=workspace, actor=None,
                          modules=[m for m in workspace.enabled_modules if m != "notification_api"])
    admin_client = console_client(admin)
    assert admin_client.get("/notifications/").status_code == 403
    assert 'data-nav="notifications"' not in admin_client.get("/").content.decode()
