"""A worker killed between (or inside) the cascade's steps: after the restart each step happened once (issue 7 (g)).

The kill is simulated where it can land: `Killed` is a BaseException, which nothing in Tidings catches - the open
transaction rolls back as it would when the process dies, and what had committed stays. (The test task backend
records the task as failed, as a worker's death leaves it to the orphan recovery.) The "restart" then runs what the
recovered task or the next sweep runs. tests/notify/test_worker_kill.py kills a real worker process.
"""

import pytest

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.channels.adapters.line import client as line_client
from tidings.messaging.models import Dispatch, DispatchStatus
from tidings.messaging.delivery import PNP_OUTCOME_UNKNOWN, dispatch_deliver
from tidings.notify import cascade
from tidings.notify.cascade import notifications_start
from tidings.notify.models import NotificationStep
from tidings.timers.sweeper import sweep_until_idle

from .conftest import PNP, later, requests_to, steps_of
from .test_cascade import sms_requests

pytestmark = pytest.mark.django_db(transaction=True)


class Killed(BaseException):
    """The process died here."""


def kill_after(monkeypatch, module, name):
    """Make `module.name` do its work, then die - once."""
    real = getattr(module, name)

    def dying(*args, **kwargs):
        real(*args, **kwargs)
        monkeypatch.setattr(module, name, real)
        raise Killed

    monkeypatch.setattr(module, name, dying)


def pnp_dispatch(notification) -> Dispatch:
    step = NotificationStep.objects.get(notification=notification, method="line_pnp")
    return Dispatch.objects.get(messages__pk=step.message_id)


def test_killed_while_starting_then_the_restarted_task_sends_the_first_step_once(
        workspace, funded, setting, persona, notify, monkeypatch):
    customer = persona(friend=False, pnp_consent=True)
    kill_after(monkeypatch, cascade, "message_send_pnp")
    notification = notify(setting, customer.phone)
    # the start's transaction died before it committed: no step, nothing sent
    assert steps_of(notification) == [] and notification.status == "queued" and requests_to(PNP) == []
    assert notifications_start(notification_ids=[notification.pk]) == {notification.pk: "line_pnp:queued"}
    assert notifications_start(notification_ids=[notification.pk]) == {notification.pk: "waiting"}  # run again
    assert len(requests_to(PNP)) == 1 and steps_of(notification) == [("line_pnp", "sent")]


def test_killed_during_the_pnp_call_it_is_not_resent_and_a_delivery_still_completes_it(
        workspace, funded, setting, persona, notify, monkeypatch):
    customer = persona(friend=False, pnp_consent=True)
    kill_after(monkeypatch, line_client, "pnp_push")  # LINE got the request; the worker died before recording it
    notification = notify(setting, customer.phone)
    dispatch = pnp_dispatch(notification)
    assert dispatch.status == DispatchStatus.SENDING and len(requests_to(PNP)) == 1
    assert dispatch_deliver(dispatch_id=dispatch.pk) == "skipped"  # the recovered task: outcome unknown, not resent
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.FAILED and dispatch.last_error["message"] == PNP_OUTCOME_UNKNOWN
    notification.refresh_from_db()
    assert notification.status == "sending" and sms_requests() == []  # unknown is not "refused": keep waiting
    later(workspace, seconds=6)  # LINE's delivery webhook for the request that did arrive
    assert steps_of(notification) == [("line_pnp", "delivered")] and notification.status == "delivered"
    later(workspace, minutes=31)
    assert len(requests_to(PNP)) == 1 and sms_requests() == []


def test_killed_during_the_pnp_call_to_a_blocked_user_the_sms_goes_once_at_the_wait(
        workspace, funded, setting, persona, notify, monkeypatch):
    blocked = persona(friend=True, blocked=True, pnp_consent=True)
    kill_after(monkeypatch, line_client, "pnp_push")
    notification = notify(setting, blocked.phone)
    dispatch_deliver(dispatch_id=pnp_dispatch(notification).pk)
    later(workspace, minutes=29)
    assert sms_requests() == []
    later(workspace, minutes=1)
    assert len(sms_requests()) == 1 and len(requests_to(PNP)) == 1
    assert steps_of(notification) == [("line_pnp", "failed"), ("sms", "sent")]


def test_killed_while_reacting_to_the_422_the_sms_goes_once_at_the_wait(
        workspace, funded, setting, persona, notify, monkeypatch):
    customer = persona(line=False)
    # The 422 is being recorded and the SMS charged in the same transaction when the worker dies: all of it rolls
    # back, the dispatch stays "sending", and the recovered task can only call its outcome unknown.
    kill_after(monkeypatch, cascade, "sms_charge")
    notification = notify(setting, customer.phone)
    assert steps_of(notification) == [("line_pnp", "queued")] and sms_requests() == []
    dispatch_deliver(dispatch_id=pnp_dispatch(notification).pk)
    assert steps_of(notification) == [("line_pnp", "failed")] and sms_requests() == []
    later(workspace, minutes=30)
    assert steps_of(notification) == [("line_pnp", "failed"), ("sms", "sent")]
    assert len(sms_requests()) == 1 and len(requests_to(PNP)) == 1
    assert LedgerEntry.objects.filter(workspace=workspace, kind=EntryKind.SMS_CHARGE).count() == 1


def test_killed_inside_the_wait_timer_the_next_sweep_sends_the_sms_once(
        workspace, funded, setting, persona, notify, monkeypatch):
    blocked = persona(friend=True, blocked=True, pnp_consent=True)
    notification = notify(setting, blocked.phone)
    kill_after(monkeypatch, cascade, "sms_charge")  # SMS step, message and charge stored; died before the commit
    with pytest.raises(Killed):
        later(workspace, minutes=30)
    assert steps_of(notification) == [("line_pnp", "sent")] and sms_requests() == []
    assert not LedgerEntry.objects.filter(workspace=workspace, kind=EntryKind.SMS_CHARGE).exists()
    assert sweep_until_idle(workspace=workspace) >= 1  # the restarted worker: the timer is still due
    assert steps_of(notification) == [("line_pnp", "sent"), ("sms", "sent")]
    assert len(sms_requests()) == 1 and len(requests_to(PNP)) == 1
    assert LedgerEntry.objects.filter(workspace=workspace, kind=EntryKind.SMS_CHARGE).count() == 1
    later(workspace, hours=1)
    assert len(sms_requests()) == 1
