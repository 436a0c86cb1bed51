"""The cascade end to end against the sandbox (fake LINE and Twilio, in-process HTTP) on a test clock: LINE push to a
friend, LINE notification message by phone with its wait, SMS paid from the balance (SPEC N1, N2, L4)."""

import pytest

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.services import billing_settings_update
from tidings.contacts.services import contact_update
from tidings.messaging.models import Message
from tidings.notify.cascade import delivery_tag, wait_key
from tidings.notify.models import NotificationStep
from tidings.notify.services import setting_update
from tidings.sandbox.fake_line.webhooks import line_event_delivery, line_webhook_send
from tidings.sandbox.models import SandboxDelivery
from tidings.timers.models import Timer

from .conftest import PNP, PUSH, requests_to, steps_of

pytestmark = pytest.mark.django_db(transaction=True)

SMS = "/2010-04-01/Accounts/"


def sms_requests():
    from tidings.sandbox.models import SandboxRequest

    return list(SandboxRequest.objects.filter(provider="twilio", method="POST", path__endswith="/Messages.json"))


def test_a_line_friend_gets_a_push_only(workspace, funded, setting, persona, notify):
    friend = persona(friend=True, pnp_consent=True)
    notification = notify(setting, friend.phone)
    assert steps_of(notification) == [("line_push", "sent")]
    assert notification.status == "sent" and notification.contact_id == friend.contact_id
    [push] = requests_to(PUSH)
    assert push.body["to"] == friend.line_user_id
    assert push.body["messages"] == [{"type": "text", "text": "Hi Mei, order A1001 has shipped: "
                                                              "https://acme.example/t/A1001"}]
    from .conftest import later

    later(workspace, minutes=31)
    assert requests_to(PNP) == [] and sms_requests() == []
    assert steps_of(notification) == [("line_push", "sent")]


def test_a_non_friend_who_consented_gets_the_line_notification_message_and_no_sms(
        workspace, funded, setting, persona, notify):
    customer = persona(friend=False, pnp_consent=True)
    notification = notify(setting, customer.phone)
    assert steps_of(notification) == [("line_pnp", "sent")] and notification.status == "waiting"
    [pnp] = requests_to(PNP)
    assert pnp.response_status == 200 and pnp.headers["X-Line-Delivery-Tag"] == delivery_tag(notification.pk)
    assert pnp.body["messages"] == [{"type": "text", "text": "Order A1001 has shipped: https://acme.example/t/A1001"}]
    from .conftest import later

    later(workspace, seconds=6)  # the fake's delivery webhook
    assert steps_of(notification) == [("line_pnp", "delivered")] and notification.status == "delivered"
    assert Timer.objects.get(workspace=workspace, key=wait_key(notification.pk)).state == "cancelled"
    later(workspace, minutes=31)
    assert sms_requests() == [] and steps_of(notification) == [("line_pnp", "delivered")]


def test_a_number_without_line_gets_the_sms_at_once(workspace, funded, setting, persona, notify):
    customer = persona(line=False)
    notification = notify(setting, customer.phone)
    assert steps_of(notification) == [("line_pnp", "failed"), ("sms", "sent")]
    [pnp] = requests_to(PNP)
    assert pnp.response_status == 422
    pnp_step = NotificationStep.objects.get(notification=notification, method="line_pnp")
    assert pnp_step.error["message"] == "Failed to send messages"
    [sms] = sms_requests()
    assert sms.body["To"] == customer.phone and sms.body["Body"] == "Acme: order A1001 shipped https://acme.example/t/A1001"
    # one unit per segment, charged against the SMS message
    sms_step = NotificationStep.objects.get(notification=notification, method="sms")
    [charge] = LedgerEntry.objects.filter(workspace=workspace, kind=EntryKind.SMS_CHARGE)
    assert charge.message_id == sms_step.message_id and charge.amount == -1 and sms_step.segments == 1
    assert notification.status == "sent"
    assert Timer.objects.get(workspace=workspace, key=wait_key(notification.pk)).state == "cancelled"


def test_a_blocked_user_gets_200_and_no_delivery_so_the_sms_goes_at_the_wait(
        workspace, funded, setting, persona, notify):
    blocked = persona(friend=True, blocked=True, pnp_consent=True)
    notification = notify(setting, blocked.phone)
    assert requests_to(PUSH) == []  # blocked: not a subscribed friend, so no push
    [pnp] = requests_to(PNP)
    assert pnp.response_status == 200
    assert SandboxDelivery.objects.get(persona=blocked, kind="pnp").delivered is False
    from .conftest import later

    later(workspace, minutes=29)
    assert sms_requests() == [] and steps_of(notification) == [("line_pnp", "sent")]
    assert notification.status == "waiting"
    later(workspace, minutes=1)
    assert len(sms_requests()) == 1
    assert steps_of(notification) == [("line_pnp", "sent"), ("sms", "sent")] and notification.status == "sent"
    later(workspace, hours=2)
    assert len(sms_requests()) == 1


def test_below_the_grace_minimum_the_sms_is_refused_with_the_reason(workspace, setting, persona, notify, admin,
                                                                    api_client):
    billing_settings_update(workspace=workspace, actor=None, low_balance_threshold=0, grace_minimum=0)
    customer = persona(line=False)
    notification = notify(setting, customer.phone)
    assert steps_of(notification) == [("line_pnp", "failed"), ("sms", "failed")]
    assert notification.status == "failed" and notification.error["code"] == "balance_below_grace"
    assert sms_requests() == []  # nothing handed to Twilio
    assert not Message.objects.filter(channel="sms").exists()
    assert not LedgerEntry.objects.filter(workspace=workspace, kind=EntryKind.SMS_CHARGE).exists()
    body = api_client(admin).get(f"/api/v1/notification-messages/{notification.pk}").json()
    assert body["status"] == "failed"
    assert body["steps"][1]["method"] == "sms" and body["steps"][1]["error_code"] == "balance_below_grace"
    assert "grace minimum" in body["steps"][1]["error"] and "Top up" in body["error"]


def test_a_delivery_after_the_sms_is_recorded_on_the_line_step(workspace, funded, setting, persona, notify,
                                                               line_account):
    customer = persona(friend=True, blocked=True, pnp_consent=True)
    notification = notify(setting, customer.phone)
    from .conftest import later

    later(workspace, minutes=30)
    assert steps_of(notification) == [("line_pnp", "sent"), ("sms", "sent")]
    # LINE reports the notification message delivered after all (the user unblocked and opened LINE)
    event = line_event_delivery(workspace, delivery_tag(notification.pk), customer)
    assert line_webhook_send(line_account, [event]).status_code == 200
    assert steps_of(notification) == [("line_pnp", "delivered"), ("sms", "sent")]
    pnp_step = NotificationStep.objects.get(notification=notification, method="line_pnp")
    assert pnp_step.late is True and pnp_step.delivered_at is not None
    assert notification.status == "delivered"
    assert len(sms_requests()) == 1


def test_with_push_off_a_friend_is_reached_by_the_notification_message(workspace, funded, setting, persona, notify):
    setting_update(workspace=workspace, actor=None, setting=setting, data={"methods": ["line_pnp", "sms"]})
    friend = persona(friend=True, pnp_consent=True)
    notification = notify(setting, friend.phone)
    assert requests_to(PUSH) == [] and len(requests_to(PNP)) == 1
    assert steps_of(notification) == [("line_pnp", "sent")]


def test_with_sms_off_an_undelivered_notification_fails_at_the_wait(workspace, setting, persona, notify):
    setting_update(workspace=workspace, actor=None, setting=setting, data={"methods": ["line_push", "line_pnp"]})
    blocked = persona(friend=True, blocked=True, pnp_consent=True)
    notification = notify(setting, blocked.phone)
    from .conftest import later

    later(workspace, minutes=30)
    notification.refresh_from_db()
    assert notification.status == "failed" and sms_requests() == []
    assert "not delivered within the wait time" in notification.error["message"]


def test_with_only_sms_on_the_sms_goes_at_once_even_to_a_friend(workspace, funded, setting, persona, notify):
    setting_update(workspace=workspace, actor=None, setting=setting, data={"methods": ["sms"]})
    friend = persona(friend=True, pnp_consent=True)
    notification = notify(setting, friend.phone)
    assert steps_of(notification) == [("sms", "sent")]
    assert requests_to(PUSH) == [] and requests_to(PNP) == [] and len(sms_requests()) == 1


def test_two_friends_sharing_a_phone_are_not_pushed_to(workspace, funded, setting, persona, notify):
    first = persona(friend=True, pnp_consent=True)
    second = persona(name="Second", friend=True)
    contact_update(workspace=workspace, contact=second.contact, phone=first.phone)
    notification = notify(setting, first.phone)
    # two LINE friends have this phone: LINE's own matching (the notification message) decides who it is
    assert requests_to(PUSH) == [] and steps_of(notification) == [("line_pnp", "sent")]


def test_n2_a_delivery_to_a_friend_saves_the_phone_on_their_contact(workspace, funded, setting, persona, notify):
    friend = persona(friend=True, pnp_consent=True)
    phone = friend.phone
    contact_update(workspace=workspace, contact=friend.contact, phone="")  # the shop knows the phone, we do not
    notification = notify(setting, phone)
    assert requests_to(PUSH) == [] and steps_of(notification) == [("line_pnp", "sent")]
    from .conftest import later

    later(workspace, seconds=6)
    friend.contact.refresh_from_db()
    assert friend.contact.phone == phone  # saved at once from the delivery report naming the LINE user
    assert steps_of(notification) == [("line_pnp", "delivered")]
    # the next notification to that phone finds the friend: a push
    second = notify(setting, phone, reference="order-2")
    assert steps_of(second) == [("line_push", "sent")]
