"""Scheduling, cancelling, firing, retries and atomicity of durable timers, in-process."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tidings.core.errors import ServiceError
from tidings.timers import sweeper
from tidings.timers.models import Timer, TimerState
from tidings.timers.registry import timer_handler
from tidings.timers.selectors import pending_timer_count, pending_timers
from tidings.timers.services import timer_cancel, timer_schedule
from tidings.timers.sweeper import MAX_ATTEMPTS, claim_due, fire_claimed, sweep_once, sweep_until_idle

from .probe_handlers import fired_keys, firings

pytestmark = pytest.mark.django_db

def ago(seconds=1):
    return timezone.now() - datetime.timedelta(seconds=seconds)


def schedule(workspace, key, *, kind="probe.record", due_at=None, **kw):
    return timer_schedule(workspace=workspace, kind=kind, key=key, due_at=due_at or ago(), **kw)


def make_due(*timers):
    """Pretend the back-off ran out: make these timers due again now."""
    Timer.objects.filter(pk__in=[t.pk for t in timers]).update(fires_at=ago())


# --- scheduling ---------------------------------------------------------------------------------------------


def test_scheduling_twice_with_one_key_keeps_one_timer_and_returns_it(workspace):
    first = schedule(workspace, "cart-1", due_at=timezone.now() + datetime.timedelta(hours=1), payload={"n": 1})
    again = schedule(workspace, "cart-1", due_at=timezone.now() + datetime.timedelta(hours=5), payload={"n": 2})
    assert again.pk == first.pk
    assert Timer.objects.filter(workspace=workspace, key="cart-1").count() == 1
    assert again.due_at == first.due_at and again.payload == {"n": 1}  # unchanged without replace


def test_the_same_key_in_another_workspace_is_another_timer(workspace, other_workspace):
    a = schedule(workspace, "k")
    b = schedule(other_workspace, "k")
    assert a.pk != b.pk


def test_replace_moves_the_timer_and_makes_it_pending_again(workspace):
    first = schedule(workspace, "cart-1", due_at=timezone.now() + datetime.timedelta(hours=1), payload={"n": 1})
    later = timezone.now() + datetime.timedelta(hours=5)
    moved = schedule(workspace, "cart-1", due_at=later, payload={"n": 2}, replace=True)
    assert moved.pk == first.pk and moved.due_at == later and moved.payload == {"n": 2}

    sweep_until_idle()  # not due yet
    assert moved.state == TimerState.PENDING and not firings().exists()

    done = schedule(workspace, "once")
    sweep_until_idle()
    again = schedule(workspace, "once", replace=True)
    assert again.state == TimerState.PENDING and again.attempts == 0 and again.fired_at is None
    sweep_until_idle()
    assert fired_keys() == ["once", "once"] and done.pk == again.pk


def test_delay_is_measured_on_the_workspace_clock(workspace):
    before = timezone.now()
    timer = timer_schedule(workspace=workspace, kind="probe.record", key="d", delay=datetime.timedelta(minutes=30))
    assert before + datetime.timedelta(minutes=30) <= timer.due_at <= timezone.now() + datetime.timedelta(minutes=30)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"key": "k"}, "due_at"),
        ({"key": "k", "due_at": timezone.now(), "delay": datetime.timedelta(1)}, "due_at"),
        ({"key": "", "delay": datetime.timedelta(1)}, "key"),
    ],
)
def test_bad_schedules_are_refused(workspace, kwargs, field):
    with pytest.raises(ServiceError) as err:
        timer_schedule(workspace=workspace, kind="probe.record", **kwargs)
    assert err.value.field == field


def test_an_unknown_kind_is_refused_when_scheduled(workspace):
    with pytest.raises(ServiceError, match="no.such.kind") as err:
        timer_schedule(workspace=workspace, kind="no.such.kind", key="k", delay=datetime.timedelta(1))
    assert err.value.field == "kind"
    assert not Timer.objects.exists()


def test_a_timer_whose_kind_has_no_handler_fails_clearly_when_it_fires(workspace):
    # e.g. scheduled by a newer release, fired by a worker that does not know the kind yet
    orphan = Timer.objects.create(workspace=workspace, kind="gone.kind", key="o", due_at=ago(), fires_at=ago())
    good = schedule(workspace, "good")
    sweep_once()
    orphan.refresh_from_db()
    good.refresh_from_db()
    assert good.state == TimerState.DONE
    assert orphan.state == TimerState.PENDING and orphan.attempts == 1
    assert "no handler registered for timer kind 'gone.kind'" in orphan.last_error
    for _ in range(MAX_ATTEMPTS - 1):
        make_due(orphan)
        sweep_once()
    orphan.refresh_from_db()
    assert orphan.state == TimerState.FAILED and "gone.kind" in orphan.last_error


def test_registering_two_handlers_for_one_kind_is_an_error():
    with pytest.raises(RuntimeError, match="already has a handler"):
        timer_handler("probe.record")(lambda timer: None)


# --- firing -------------------------------------------------------------------------------------------------


def test_due_timers_fire_once_and_are_marked_done(workspace):
    for i in range(5):
        schedule(workspace, f"k{i}")
    schedule(workspace, "later", due_at=timezone.now() + datetime.timedelta(hours=1))
    assert sweep_until_idle() == 5
    assert sweep_until_idle() == 0
    assert fired_keys() == [f"k{i}" for i in range(5)]
    done = Timer.objects.filter(state=TimerState.DONE)
    assert done.count() == 5
    assert all(t.fired_at is not None and t.lease_until is None and t.attempts == 1 for t in done)
    assert [t.key for t in pending_timers(workspace)] == ["later"]
    assert pending_timer_count() == 1


def test_timers_fire_in_due_order(workspace):
    for minutes in [3, 1, 2]:
        schedule(workspace, f"k{minutes}", due_at=timezone.now() - datetime.timedelta(minutes=minutes))
    sweep_until_idle()
    assert list(firings().order_by("id").values_list("changes__key", flat=True)) == ["k3", "k2", "k1"]


def test_a_batch_fires_without_a_query_per_timer(workspace):
    for i in range(50):
        schedule(workspace, f"k{i}", kind="probe.noop")
    with CaptureQueriesContext(connection) as queries:
        assert sweep_once(limit=100) == 50
    assert len(queries) < 15, [q["sql"][:80] for q in queries]
    assert Timer.objects.filter(state=TimerState.DONE).count() == 50


@timer_handler("probe.noop")
def _noop(timer):
    pass


def test_a_cancelled_timer_never_fires(workspace):
    schedule(workspace, "c")
    assert timer_cancel(workspace=workspace, key="c") is True
    assert timer_cancel(workspace=workspace, key="c") is False
    assert timer_cancel(workspace=workspace, key="never-scheduled") is False
    sweep_until_idle()
    assert not firings().exists()
    assert Timer.objects.get(key="c").state == TimerState.CANCELLED


def test_cancel_between_claim_and_fire_wins(workspace):
    schedule(workspace, "c")
    ids, lease = claim_due(limit=10)
    assert timer_cancel(workspace=workspace, key="c") is True
    assert fire_claimed(ids, lease) == 0
    assert not firings().exists()


def test_cancel_is_scoped_to_the_workspace(workspace, other_workspace):
    schedule(workspace, "c")
    assert timer_cancel(workspace=other_workspace, key="c") is False
    sweep_until_idle()
    assert fired_keys() == ["c"]


def test_a_done_timer_cannot_be_cancelled(workspace):
    schedule(workspace, "c")
    sweep_until_idle()
    assert timer_cancel(workspace=workspace, key="c") is False
    assert Timer.objects.get(key="c").state == TimerState.DONE


# --- failures and retries -----------------------------------------------------------------------------------


def test_a_failing_handler_is_retried_with_backoff_then_fails_and_spares_its_batch(workspace):
    schedule(workspace, "a")
    bad = schedule(workspace, "bad", kind="probe.fail")
    schedule(workspace, "b")
    delays = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        before = timezone.now()
        sweep_once()
        bad.refresh_from_db()
        assert bad.attempts == attempt
        assert "ProbeError: probe failure for bad" in bad.last_error
        if attempt < MAX_ATTEMPTS:
            assert bad.state == TimerState.PENDING and bad.lease_until is None
            delays.append(round((bad.fires_at - before).total_seconds()))
            assert sweep_once() == 0  # backing off: not due again yet
            make_due(bad)
    assert bad.state == TimerState.FAILED
    assert delays == [10, 20, 40, 80]
    assert fired_keys() == ["a", "b"]  # the others fired once, on the first sweep
    assert Timer.objects.filter(state=TimerState.DONE).count() == 2
    make_due(bad)
    assert sweep_once() == 0  # failed is final


def test_handler_effects_and_the_done_mark_are_atomic(workspace):
    schedule(workspace, "good-1")
    bad = schedule(workspace, "writes-then-raises", kind="probe.write_then_raise")
    schedule(workspace, "good-2")
    sweep_once()
    # The failing handler's write was rolled back with it; the others' writes and done marks committed.
    assert fired_keys() == ["good-1", "good-2"]
    bad.refresh_from_db()
    assert bad.state == TimerState.PENDING and bad.attempts == 1


def test_a_crashed_claim_is_retaken_after_its_lease_and_the_stale_sweeper_fires_nothing(workspace):
    schedule(workspace, "k")
    ids, stale_lease = claim_due(limit=10)  # ...and the sweeper dies before firing
    assert claim_due(limit=10)[0] == []  # leased: nobody else may take it yet
    Timer.objects.filter(pk__in=ids).update(lease_until=ago())  # the lease runs out
    new_ids, new_lease = claim_due(limit=10)
    assert new_ids == ids and new_lease > stale_lease
    assert fire_claimed(ids, stale_lease) == 0  # the old claim is no longer ours
    assert fire_claimed(new_ids, new_lease) == 1
    assert fired_keys() == ["k"]
    assert Timer.objects.get().attempts == 2


def test_a_timer_claimed_too_often_without_completing_is_given_up(workspace):
    # A handler that kills its worker every time would otherwise be retaken forever.
    timer = schedule(workspace, "poison")
    Timer.objects.filter(pk=timer.pk).update(attempts=MAX_ATTEMPTS)
    sweep_once()
    timer.refresh_from_db()
    assert timer.state == TimerState.FAILED and "claims" in timer.last_error
    assert not firings().exists()


def test_sweeping_one_workspace_leaves_the_others(workspace, other_workspace):
    schedule(workspace, "mine")
    schedule(other_workspace, "theirs")
    assert sweep_until_idle(workspace=workspace) == 1
    assert fired_keys() == ["mine"]
    assert pending_timers(other_workspace).count() == 1


def test_seconds_until_next_due(workspace):
    assert sweeper.seconds_until_next_due() is None
    schedule(workspace, "k", due_at=timezone.now() + datetime.timedelta(seconds=100))
    assert 98 < sweeper.seconds_until_next_due() <= 100


@pytest.mark.django_db(transaction=True)
def test_outside_transaction_handlers_run_without_the_firing_transaction(make_workspace):
    """A handler that calls out (a sandbox webhook) must not hold the firing transaction - on SQLite that is the one
    write lock the receiving web process needs. It runs after the claim commits and is then marked done."""
    workspace = make_workspace()
    seen = {}

    @timer_handler("test.outside_tx", outside_transaction=True)
    def outside(timer):
        seen["outside"] = connection.in_atomic_block

    @timer_handler("test.inside_tx")
    def inside(timer):
        seen["inside"] = connection.in_atomic_block

    timer_schedule(workspace=workspace, kind="test.outside_tx", key="out", delay=datetime.timedelta(seconds=-1))
    timer_schedule(workspace=workspace, kind="test.inside_tx", key="in", delay=datetime.timedelta(seconds=-1))
    assert sweep_until_idle(workspace=workspace) == 2
    assert seen == {"outside": False, "inside": True}
    assert set(Timer.objects.filter(key__in=["out", "in"]).values_list("state", flat=True)) == {TimerState.DONE}
