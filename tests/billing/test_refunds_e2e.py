"""Refunds end to end (L2): an SMS charged when handed to the pipeline, then rejected by the (sandbox) Twilio."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.selectors import balance_get, ledger_sum
from tidings.billing.services import balance_top_up, sms_charge
from tidings.billing.sms import sms_segments
from tidings.contacts.models import Contact
from tidings.messaging.events import message_event_record
from tidings.messaging.models import EventKind, Message, MessageStatus
from tidings.messaging.services import message_send
from tidings.sandbox.models import Persona
from tidings.timers.services import clock_advance

pytestmark = pytest.mark.django_db(transaction=True)

PERSONA_PHONE = "+85261234567"
NOBODY_PHONE = "+85261239999"  # valid, but no phone answers: the fake Twilio reports "undelivered" (30003)


def send_charged(workspace, phone: str, text: str) -> Message:
    """What the notification shortcut does: store the SMS and charge it in one transaction."""
    contact = Contact.objects.create(workspace=workspace, name="Mei", phone=phone)
    with transaction.atomic():
        [message] = message_send(workspace=workspace, contact=contact, channel="sms",
                                 contents=[{"type": "text", "text": text}], purpose="notification")
        sms_charge(workspace=workspace, feature="notification", segments=sms_segments(text)[0],
                   message_id=message.pk, reference="order-1")
    return message


def test_undelivered_sms_is_refunded_once(workspace, sms_account):
    balance_top_up(workspace=workspace, actor=None, amount="10")
    message = send_charged(workspace, NOBODY_PHONE, "中" * 80)  # two UCS-2 segments
    assert balance_get(workspace) == Decimal("8")
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=10))
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    [refund] = LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.REFUND)
    assert (refund.amount, refund.message_id, refund.feature) == (Decimal("2"), message.pk, "notification")
    assert balance_get(workspace) == ledger_sum(workspace) == Decimal("10")
    # The provider reporting the failure again changes nothing.
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENT)
    from tidings.messaging.models import MessageEvent

    MessageEvent.objects.filter(message=message, kind=EventKind.FAILED).delete()
    message.refresh_from_db()
    assert message_event_record(message=message, kind=EventKind.FAILED, data={"status": "failed"})
    assert LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.REFUND).count() == 1
    assert balance_get(workspace) == Decimal("10")


def test_delivered_sms_stays_charged(workspace, sms_account):
    Persona.objects.create(workspace=workspace, name="Mei", phone=PERSONA_PHONE)
    balance_top_up(workspace=workspace, actor=None, amount="10")
    message = send_charged(workspace, PERSONA_PHONE, "Your parcel is on its way")
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=10))
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert not LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.REFUND).exists()
    assert balance_get(workspace) == Decimal("9")


def test_failed_message_that_was_never_charged_refunds_nothing(workspace, sms_account):
    balance_top_up(workspace=workspace, actor=None, amount="10")
    contact = Contact.objects.create(workspace=workspace, name="Mei", phone=NOBODY_PHONE)
    message_send(workspace=workspace, contact=contact, channel="sms", contents=[{"type": "text", "text": "hi"}])
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=10))
    assert list(LedgerEntry.objects.for_workspace(workspace).values_list("kind", flat=True)) == [EntryKind.TOP_UP]


def test_sms_the_provider_refuses_outright_is_refunded(workspace, sms_account):
    from tidings.sandbox.services import sandbox_fault_inject

    balance_top_up(workspace=workspace, actor=None, amount="10")
    sandbox_fault_inject(workspace=workspace, account=sms_account, status=400,
                         path=f"/2010-04-01/Accounts/{sms_account.external_id}/Messages.json")
    message = send_charged(workspace, PERSONA_PHONE, "Your order has shipped")
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED  # a 4xx answer: failed at once, no status callback
    refunds = LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.REFUND, message_id=message.pk)
    assert refunds.count() == 1
    assert balance_get(workspace) == Decimal("10")
