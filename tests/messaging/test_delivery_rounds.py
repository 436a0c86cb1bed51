"""Delivery of many dispatches per task: rounds of requests made at once, each person's requests kept in order,
rate-limit slots reserved together, and broadcasts stored as plain multi-row INSERTs."""

import threading
import time

import pytest

from tidings.channels.http import http_client
from tidings.channels.models import RateSlot
from tidings.channels.ratelimit import rate_reserve_many
from tidings.messaging.delivery import _next_round, dispatches_deliver
from tidings.messaging.models import Dispatch, DispatchStatus, Message, MessageEvent, MessageStatus
from tidings.messaging.services import message_send, message_send_bulk

from .conftest import bulk_recipients

TEXT = [{"type": "text", "text": "Hello"}]


@pytest.fixture
def no_tasks(settings):
    # Store without delivering: the test calls dispatches_deliver itself, as a worker's task would.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def timed_probe(probe):
    """The probe adapter taking 50 ms per request and noting when each ran, on whatever thread."""
    lock, spans = threading.Lock(), []
    send = type(probe).send

    def slow_send(account, dispatch, messages):
        began = time.monotonic()
        time.sleep(0.05)
        result = send(probe, account, dispatch, messages)
        with lock:
            spans.append((dispatch.pk, began, time.monotonic()))
        return result

    probe.send = slow_send
    yield spans
    del probe.send


def most_at_once(spans) -> int:
    edges = sorted([(began, 1) for _pk, began, _end in spans] + [(end, -1) for _pk, _began, end in spans],
                   key=lambda edge: (edge[0], edge[1]))
    running = peak = 0
    for _at, step in edges:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.django_db(transaction=True)
def test_a_task_sends_a_round_at_once_and_one_persons_requests_in_order(
    workspace, probe, probe_account, make_recipient, settings, no_tasks, timed_probe
):
    settings.INPROCESS_HTTP = False  # requests leave this process: a round's go out together
    settings.DELIVERY_IN_FLIGHT = 4
    people = [make_recipient(probe_account, f"u{i}") for i in range(6)]
    for contact, _identity in people[:5]:
        message_send(workspace=workspace, contact=contact, channel="probe", contents=TEXT)
    # Seven texts to the last person: two requests (5 + 2) that must reach the provider one after the other.
    seven = [{"type": "text", "text": f"m{i}"} for i in range(7)]
    message_send(workspace=workspace, contact=people[5][0], channel="probe", contents=seven)
    ids = list(Dispatch.objects.order_by("pk").values_list("pk", flat=True))

    outcomes = dispatches_deliver(dispatch_ids=ids)

    assert set(outcomes.values()) == {"sent"} and len(outcomes) == 7
    assert Message.objects.exclude(status=MessageStatus.SENT).count() == 0
    assert 2 <= most_at_once(timed_probe) <= 4
    first, second = ids[-2:]
    span = {pk: (began, end) for pk, began, end in timed_probe}
    assert span[first][1] <= span[second][0]  # the second request started after the first was answered
    assert [c["contents"][0]["text"] for c in probe.calls if c["dispatch"] in (first, second)] == ["m0", "m5"]


def test_a_round_never_holds_two_requests_for_the_same_person():
    def dispatch(pk, recipient):
        return Dispatch(pk=pk, kind="push", options={"recipient": recipient})

    queue = [dispatch(1, "a"), dispatch(2, "b"), dispatch(3, "a"), dispatch(4, "c")]
    round_, rest = _next_round(queue, 10)
    assert [d.pk for d in round_] == [1, 2] and [d.pk for d in rest] == [3, 4]
    round_, rest = _next_round(rest, 10)
    assert [d.pk for d in round_] == [3, 4] and rest == []
    assert [d.pk for d in _next_round(queue, 1)[0]] == [1]


@pytest.mark.django_db
def test_one_reservation_spaces_a_rounds_requests_and_leaves_out_one_whose_person_must_wait():
    now = time.time()
    RateSlot.objects.create(key="pair:busy", next_at=now + 3)  # this person got a message moments ago
    account = ("account", 0.01)
    starts = rate_reserve_many([[account], [account, ("pair:busy", 6.0)], [account], [account, ("pair:new", 6.0)]],
                               timeout=20, spread=1.0)
    reserved = [start for start, ok in starts if ok]
    assert [ok for _start, ok in starts] == [True, False, True, True]
    assert reserved == sorted(reserved) and all(b - a >= 0.01 - 1e-6 for a, b in zip(reserved, reserved[1:]))
    assert starts[1][0] >= now + 3  # when it could go: the caller keeps it for a later round
    assert RateSlot.objects.get(key="pair:busy").next_at == pytest.approx(now + 3)  # nothing taken for it
    assert RateSlot.objects.get(key="pair:new").next_at == pytest.approx(reserved[2] + 6.0)
    assert RateSlot.objects.get(key="account").next_at == pytest.approx(reserved[-1] + 0.01)
    # Beyond the timeout nothing is reserved at all.
    [(start, ok)] = rate_reserve_many([[("pair:busy", 6.0)]], timeout=1)
    assert not ok and start >= now + 3


@pytest.mark.django_db
def test_a_per_recipient_broadcast_is_stored_like_single_sends(workspace, probe, probe_account, no_tasks,
                                                               monkeypatch):
    monkeypatch.setattr(probe, "max_recipients_per_request", 1, raising=False)
    monkeypatch.setattr(probe, "max_messages_per_request", 2, raising=False)
    identities = bulk_recipients(workspace, probe_account, 3)
    contents = [{"type": "text", "text": f"t{i}"} for i in range(3)]
    dispatches = message_send_bulk(workspace=workspace, identities=identities, channel="probe", contents=contents,
                                   purpose="broadcast", source="broadcast:9")
    assert len(dispatches) == 6  # two requests (2 + 1 texts) for each of three people
    rows = Dispatch.objects.order_by("pk")
    assert [d.options["recipient"] for d in rows] == [i.pk for i in identities for _ in range(2)]
    assert {d.options["aggregation_unit"] for d in rows} == {"broadcast_9"}
    assert {d.status for d in rows} == {DispatchStatus.PENDING}
    for identity in identities:
        messages = Message.objects.filter(identity=identity).order_by("dispatch_id", "position")
        assert [(m.content["text"], m.position) for m in messages] == [("t0", 0), ("t1", 1), ("t2", 0)]
        assert {m.contact_id for m in messages} == {identity.contact_id}
        assert {(m.status, m.purpose, m.source) for m in messages} == {("queued", "broadcast", "broadcast:9")}
    assert MessageEvent.objects.filter(kind="queued").count() == 9


def test_each_thread_keeps_one_http_client_open_across_requests():
    with http_client() as first:
        pass
    with http_client() as again:
        assert again is first and not first.is_closed
    other = []
    thread = threading.Thread(target=lambda: other.append(http_client().client))
    thread.start()
    thread.join()
    assert other[0] is not first


def test_delivery_threads_starting_at_once_share_one_tls_context(settings, monkeypatch):
    """A worker's delivery threads all make their clients on the first round; loading the CA bundle is done once."""
    from tidings.channels import http

    settings.INPROCESS_HTTP = False
    built = []
    build = http.httpx.create_ssl_context

    def slow_build():
        time.sleep(0.05)  # long enough for every thread to ask before the first one is done
        built.append(build())
        return built[-1]

    monkeypatch.setattr(http, "_tls_context_built", None)
    monkeypatch.setattr(http.httpx, "create_ssl_context", slow_build, raising=True)
    clients = []
    threads = [threading.Thread(target=lambda: clients.append(http_client().client)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clients) == 8 and len(set(map(id, clients))) == 8
    assert len(built) == 1
