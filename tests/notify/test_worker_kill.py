"""A real `tidings worker` SIGKILLed while it runs the cascade for a few hundred notifications; a fresh worker
finishes the job. Whatever the kill interrupted, every step went out once: one push per friend, one LINE notification
message per notification that tried one, one SMS per customer who needed it (issue 7 (g), the real-process variant
of test_crash.py)."""

import collections
import datetime

import pytest

from tests.messaging.conftest import TaskWorkers
from tests.timers.conftest import wait_for
from tidings.billing.services import balance_top_up
from tidings.contacts.models import ChannelIdentity, Contact
from tidings.messaging.models import Dispatch, DispatchStatus
from tidings.notify.cascade import delivery_tag
from tidings.notify.models import FINAL_STATUSES, Notification, NotificationStep
from tidings.notify.services import notifications_send
from tidings.sandbox.models import Persona, SandboxRequest
from tidings.timers.services import clock_advance
from tidings.timers.task_recovery import tasks_requeue_orphaned

from .conftest import VALUES

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAIT = 300  # seconds; every wait is bounded
GROUPS = ("friend", "consenting", "blocked", "no_line")


@pytest.fixture
def task_workers(tmp_path, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    pools = []

    def make(env=None):
        pool = TaskWorkers(tmp_path, env)
        pools.append(pool)
        return pool

    try:
        yield make
    finally:
        for pool in pools:
            pool.kill_all()


def personas(workspace, line_account, per_group: int) -> dict[str, str]:
    """phone -> group, bulk-inserted as the fakes and Tidings would know them."""
    groups = [g for g in GROUPS for _ in range(per_group)]
    contacts = Contact.objects.bulk_create(
        [Contact(workspace=workspace, name=f"K{i}", phone=f"+8869130{i:05d}") for i in range(len(groups))])
    people = Persona.objects.bulk_create(
        [Persona(workspace=workspace, name=c.name, phone=c.phone, contact=c,
                 line_user_id="" if g == "no_line" else f"U{c.pk:032x}", line_friend=g in ("friend", "blocked"),
                 line_blocked=g == "blocked", pnp_consent=g != "no_line") for c, g in zip(contacts, groups)])
    ChannelIdentity.objects.bulk_create(
        [ChannelIdentity(workspace=workspace, contact=p.contact, channel="line", account=line_account,
                         external_id=p.line_user_id, subscribed=g == "friend")
         for p, g in zip(people, groups) if g in ("friend", "blocked")])
    return {c.phone: g for c, g in zip(contacts, groups)}


def _settled(notifications, group_of) -> bool:
    """Nothing left for the worker but the waits: no send unanswered, and every LINE notification message LINE
    accepted for a consenting customer delivered (its webhook comes 5 s after, as a fake's timer)."""
    if notifications.filter(status="queued").exists():
        return False
    if Dispatch.objects.exclude(status__in=[DispatchStatus.SENT, DispatchStatus.FAILED]).exists():
        return False
    accepted = set(SandboxRequest.objects.filter(path="/bot/pnp/push", response_status=200)
                   .values_list("headers__X-Line-Delivery-Tag", flat=True))
    # .all(): a fresh query each time; iterating `notifications` itself would keep its first answer forever.
    return not any(group_of[n.phone] == "consenting" and delivery_tag(n.pk) in accepted and n.status != "delivered"
                   for n in notifications.all())


def test_sigkill_mid_cascade_then_a_fresh_worker_sends_each_step_once(workspace, line_account, sms_account, setting,
                                                                     task_workers):
    balance_top_up(workspace=workspace, actor=None, amount=1000, note="test credit")
    group_of = personas(workspace, line_account, per_group=60)
    phones = list(group_of)
    ids = []
    for start in range(0, len(phones), 100):
        status, body = notifications_send(workspace=workspace, setting_id=setting.pk, items=[
            {"phone": phone, "values": VALUES, "reference": phone} for phone in phones[start:start + 100]])
        assert status == 201
        ids += [item["id"] for item in body["items"]]
    workers = task_workers()
    first = workers.start()
    in_flight = Dispatch.objects.filter(status=DispatchStatus.SENDING)
    try:
        wait_for(lambda: NotificationStep.objects.count() >= 40 and in_flight.exists(), timeout=WAIT, every=0.002,
                 what="the worker to be mid-cascade with a provider call in flight")
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    workers.kill(first)
    steps_before = NotificationStep.objects.count()
    assert Notification.objects.exclude(status__in=FINAL_STATUSES).exists(), "finished before the kill; raise n"

    tasks_requeue_orphaned(stale_after=0)  # no worker is alive now
    workers.start()
    notifications = Notification.objects.filter(pk__in=ids)
    try:
        wait_for(lambda: _settled(notifications, group_of), timeout=WAIT,
                 what="every send answered and every accepted LINE notification message delivered")
        clock_advance(workspace=workspace, by=datetime.timedelta(minutes=31))  # the waits run out
        wait_for(lambda: not notifications.exclude(status__in=FINAL_STATUSES).exists(), timeout=WAIT,
                 what="every notification to be final")
        wait_for(lambda: not Dispatch.objects.exclude(status__in=[DispatchStatus.SENT, DispatchStatus.FAILED])
                 .exists(), timeout=WAIT, what="every SMS to be handed over")
    except AssertionError:
        raise AssertionError(workers.logs()) from None

    # each step went out at most once: one request per push recipient, per delivery tag, per SMS number
    pushes = collections.Counter(r["to"] for r in SandboxRequest.objects.filter(
        path="/v2/bot/message/push", response_status=200).values_list("body", flat=True))
    assert set(pushes.values()) == {1} and len(pushes) == 60
    tags = collections.Counter(SandboxRequest.objects.filter(path="/bot/pnp/push")
                               .values_list("headers__X-Line-Delivery-Tag", flat=True))
    assert set(tags.values()) == {1}
    sms = collections.Counter(body["To"] for body in SandboxRequest.objects.filter(
        provider="twilio", method="POST", path__endswith="/Messages.json").values_list("body", flat=True))
    assert set(sms.values()) <= {1}
    outcome = collections.Counter()
    for n in notifications.prefetch_related("steps"):
        group, methods = group_of[n.phone], tuple(s.method for s in sorted(n.steps.all(), key=lambda s: s.pk))
        outcome[(group, n.status, methods)] += 1
        reached_line = tags.get(delivery_tag(n.pk)) == 1
        if group == "friend":
            assert methods == ("line_push",) and n.status == "sent"
        elif group == "consenting" and reached_line:
            assert methods == ("line_pnp",) and n.status == "delivered"  # no SMS for a delivered one
        else:
            # blocked or no LINE; or a consenting customer whose PNP the kill stopped before it left (outcome
            # unknown, nothing ever delivered): the SMS at the wait, once
            assert methods == ("line_pnp", "sms") and n.status in ("sent", "delivered"), (group, n.status, methods)
            assert sms[n.phone] == 1
    assert outcome[("consenting", "delivered", ("line_pnp",))] >= 55  # only a kill mid-call can change one
    print(f"\nkilled with {steps_before} steps stored; outcome {dict(outcome)}")
