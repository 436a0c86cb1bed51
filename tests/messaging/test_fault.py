"""Crash safety and shared limits with real worker processes: SIGKILL mid-fan-out, then a fresh worker finishes the
job - every persona gets the message exactly once; two workers together stay under LINE's per-second limit."""

import collections
import time

import pytest
from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncSecond

from tidings.messaging.models import Dispatch, DispatchStatus, Message, MessageEvent
from tidings.messaging.services import message_send_bulk
from tidings.sandbox.models import SandboxDelivery, SandboxRequest
from tidings.timers.task_recovery import tasks_requeue_orphaned

from ..timers.conftest import wait_for
from .conftest import line_personas

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WAIT = 300  # seconds; every wait is bounded
MULTICAST = "/v2/bot/message/multicast"


def test_sigkill_mid_fanout_then_a_fresh_worker_delivers_to_everyone_exactly_once(
    workspace, line_account, task_workers
):
    n = 20_000
    identities = line_personas(workspace, line_account, n)
    started = time.monotonic()
    dispatches = message_send_bulk(workspace=workspace, identities=identities, channel="line",
                                   contents=[{"type": "text", "text": "Flash sale: 2 for 1 today"}],
                                   purpose="broadcast", source="broadcast:42")
    assert len(dispatches) == n // 500
    workers = task_workers()
    first = workers.start()
    sent = Dispatch.objects.filter(status=DispatchStatus.SENT)
    in_flight = Dispatch.objects.filter(status=DispatchStatus.SENDING)
    try:
        wait_for(lambda: sent.count() >= 3 and in_flight.exists(), timeout=WAIT, every=0.005,
                 what="the worker to send some batches and have one in flight")
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    workers.kill(first)  # SIGKILL: mid-request or mid-record, its task left RUNNING
    sent_before = sent.count()
    left_sending = list(in_flight.values_list("pk", flat=True))
    assert sent_before < len(dispatches), "the worker finished before it could be killed; raise n"

    requeued = tasks_requeue_orphaned(stale_after=0)  # no worker is alive now
    assert requeued >= 1
    workers.start()
    try:
        wait_for(lambda: not Dispatch.objects.exclude(status=DispatchStatus.SENT).exists(), timeout=WAIT,
                 what="every dispatch to be sent")
    except AssertionError:
        raise AssertionError(workers.logs()) from None

    per_persona = collections.Counter(SandboxDelivery.objects.values_list("persona_id", flat=True))
    twice = {k: v for k, v in per_persona.items() if v != 1}
    assert not twice, f"{len(twice)} personas got the message more than once"
    assert len(per_persona) == n, f"{n - len(per_persona)} personas got nothing"
    recipients = collections.Counter(
        user for body in SandboxRequest.objects.filter(path=MULTICAST, response_status=200).values_list("body", flat=True)
        for user in body["to"])
    assert set(recipients.values()) == {1} and len(recipients) == n
    assert Message.objects.filter(status="sent").count() == n
    assert MessageEvent.objects.filter(kind="sent").count() == n
    statuses = collections.Counter(SandboxRequest.objects.filter(path=MULTICAST).values_list("response_status", flat=True))
    resent = Dispatch.objects.filter(pk__in=left_sending, attempts__gte=2).count()
    print(f"\n[{connection.vendor}] killed after {sent_before} of {len(dispatches)} batches, "
          f"{len(left_sending)} in flight (resent {resent}), {requeued} task(s) requeued; provider answers "
          f"{dict(statuses)}; all {n} recipients exactly once in {time.monotonic() - started:.1f} s")
    assert resent == len(left_sending)


def test_two_workers_together_stay_under_the_per_second_limit(workspace, line_account, task_workers):
    limit = 4  # multicast requests per second for this test (LINE's is 200)
    identities = line_personas(workspace, line_account, 24 * 50)
    workers = task_workers({"TIDINGS_RATE_LIMITS": f"line:multicast={limit}"})
    workers.start()
    workers.start()
    # 50 recipients a batch: many small requests, so the limit, not the work, sets the pace
    from tidings.channels.registry import adapter_for

    adapter = adapter_for("line")
    original = adapter.max_recipients_per_request
    adapter.max_recipients_per_request = 50
    try:
        message_send_bulk(workspace=workspace, identities=identities, channel="line",
                          contents=[{"type": "text", "text": "Limited"}])
    finally:
        adapter.max_recipients_per_request = original
    try:
        wait_for(lambda: not Dispatch.objects.exclude(status=DispatchStatus.SENT).exists(), timeout=WAIT,
                 what="every dispatch to be sent")
    except AssertionError:
        raise AssertionError(workers.logs()) from None
    requests = SandboxRequest.objects.filter(path=MULTICAST)
    per_second = dict(requests.annotate(s=TruncSecond("created_at")).values("s").annotate(n=Count("id"))
                      .values_list("s", "n"))
    assert requests.count() == 24 and set(requests.values_list("response_status", flat=True)) == {200}
    assert max(per_second.values()) <= limit, per_second
    assert len(per_second) >= 24 // limit
    from django_tasks_db.models import DBTaskResult

    by_worker = collections.Counter(ids[-1] for ids in DBTaskResult.objects.values_list("worker_ids", flat=True))
    print(f"\n[{connection.vendor}] multicasts per second {sorted(per_second.values())}; per worker {dict(by_worker)}")
