"""The fake WhatsApp Cloud API batches its status webhooks as Meta does (up to 1,000 updates per body), without
losing or repeating one."""

import datetime
from types import SimpleNamespace

import httpx
import pytest

from tidings.channels.models import WebhookEvent
from tidings.core import clock
from tidings.sandbox.fake_graph import status_batches
from tidings.sandbox.models import SandboxStatusOutbox
from tidings.timers.models import Timer

from .test_fake_whatsapp import Graph, later, make_persona, statuses_received, text

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def bodies(monkeypatch):
    """Every status webhook body the fake posts, passed on to Tidings as usual."""
    posted = []
    send = status_batches.graph_webhook_send

    def spy(account, body):
        posted.append(body)
        return send(account, body)

    monkeypatch.setattr(status_batches, "graph_webhook_send", spy)
    return posted


@pytest.fixture
def frozen(monkeypatch, workspace):
    """The batching's clock held at the start of a quarter second, moved by hand."""
    start = clock.now(workspace).replace(microsecond=0) + datetime.timedelta(seconds=1)
    now = SimpleNamespace(at=start)
    monkeypatch.setattr(status_batches, "clock", SimpleNamespace(now=lambda _workspace: now.at))
    return now


def statuses_in(body):
    return [(s["status"], s["id"]) for entry in body["entry"] for change in entry["changes"]
            for s in change["value"]["statuses"]]


def test_statuses_due_in_the_same_quarter_second_go_out_in_one_body_in_order(whatsapp_account, bodies, frozen):
    for i in range(3):
        status_batches.statuses_queue(whatsapp_account, [([{"id": f"wamid.{i}", "status": "sent", "timestamp": "1",
                                                            "recipient_id": "85261234567"}],
                                                          datetime.timedelta(milliseconds=50 * i))])
    [timer] = Timer.objects.filter(kind=status_batches.FLUSH_TIMER)
    assert timer.due_at == frozen.at + datetime.timedelta(seconds=0.25)  # the end of their quarter second
    frozen.at = timer.due_at
    assert status_batches.statuses_flush(timer) == 3
    [body] = bodies
    assert statuses_in(body) == [("sent", "wamid.0"), ("sent", "wamid.1"), ("sent", "wamid.2")]
    assert not SandboxStatusOutbox.objects.exists()


def test_a_fan_out_gets_its_statuses_batched_and_each_exactly_once(workspace, whatsapp_account, bodies):
    graph = Graph(whatsapp_account)
    wamids = [graph.send(f"+{make_persona(workspace).whatsapp_id}", text()).json()["messages"][0]["id"]
              for _ in range(5)]
    later(workspace, 0.5)
    later(workspace, 2)
    sent_bodies = [b for b in bodies if {s for s, _id in statuses_in(b)} == {"sent"}]
    assert len(sent_bodies) < 5  # five sends in well under a second share quarter-second bodies
    assert [i for b in sent_bodies for _s, i in statuses_in(b)] == wamids
    received = statuses_received(whatsapp_account)
    assert sorted((s["status"], s["id"]) for s in received) == sorted(
        [("sent", w) for w in wamids] + [("delivered", w) for w in wamids])
    assert not SandboxStatusOutbox.objects.exists()


def test_a_refused_batch_is_kept_and_posted_again_once(workspace, whatsapp_account, monkeypatch):
    answers = [httpx.Response(500)]
    send = status_batches.graph_webhook_send
    monkeypatch.setattr(status_batches, "graph_webhook_send",
                        lambda account, body: answers.pop(0) if answers else send(account, body))
    wamid = Graph(whatsapp_account).send(f"+{make_persona(workspace).whatsapp_id}", text()).json()["messages"][0]["id"]
    later(workspace, 0.5)
    assert statuses_received(whatsapp_account) == [] and SandboxStatusOutbox.objects.count() == 2
    later(workspace, 120)  # the flush timer's retry; by then the delivered status is due too
    assert [(s["status"], s["id"]) for s in statuses_received(whatsapp_account)] == [
        ("sent", wamid), ("delivered", wamid)]
    assert WebhookEvent.objects.filter(account=whatsapp_account).count() == 2
    assert not SandboxStatusOutbox.objects.exists()


def test_a_status_for_a_slice_whose_flush_has_started_gets_its_own_timer(whatsapp_account, frozen):
    status_batches.statuses_queue(whatsapp_account, [([{"id": "wamid.A", "status": "sent"}], datetime.timedelta(0))])
    [first] = Timer.objects.filter(kind=status_batches.FLUSH_TIMER)
    Timer.objects.filter(pk=first.pk).update(lease_until=first.due_at)  # a worker is firing it right now
    status_batches.statuses_queue(whatsapp_account, [([{"id": "wamid.B", "status": "sent"}], datetime.timedelta(0))])
    keys = sorted(Timer.objects.filter(kind=status_batches.FLUSH_TIMER).values_list("key", flat=True))
    assert len(keys) == 2 and keys[1].startswith(keys[0] + ":")
