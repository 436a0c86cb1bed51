"""The shared rate limit holds whoever takes from it: threads here, worker processes in test_fault."""

import threading
import time

import pytest
from django.db import connection

from tidings.channels.models import RateSlot
from tidings.channels.ratelimit import RATE_LIMITS, SAFETY, RateLimitTimeout, rate_acquire


@pytest.mark.django_db
def test_requests_are_spaced_under_the_limit_and_an_impossible_cost_is_refused():
    # Judged by the reserved starts, not by when each call happened to return: a loaded machine delays returns.
    interval = 1 / (10 * SAFETY)
    starts, times = [], []
    for _ in range(4):
        rate_acquire("k", per_second=10)
        times.append(time.time())
        starts.append(RateSlot.objects.get(key="k").next_at - interval)
        assert times[-1] >= starts[-1] - 0.002  # nobody goes before its slot
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= interval - 1e-6, gaps
    with pytest.raises(ValueError):
        rate_acquire("k", cost=11, per_second=10)


@pytest.mark.django_db
def test_a_slot_further_than_the_timeout_is_refused_and_not_reserved():
    rate_acquire("busy", cost=5, per_second=5)  # the next slot is 1.25 s away
    reserved = RateSlot.objects.get(key="busy").next_at
    with pytest.raises(RateLimitTimeout):
        rate_acquire("busy", per_second=5, timeout=0)
    assert RateSlot.objects.get(key="busy").next_at == reserved


def test_the_agreed_limits():
    assert RATE_LIMITS[("line", "push")] == 2000 and RATE_LIMITS[("line", "multicast")] == 200


@pytest.mark.django_db(transaction=True)
def test_two_threads_hammering_one_key_never_exceed_the_limit_in_any_second():
    limit, per_thread = 25, 30
    taken: list[float] = []
    errors = []

    def hammer():
        try:
            for _ in range(per_thread):
                rate_acquire("hammer", per_second=limit, timeout=30)
                taken.append(time.time())
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(taken) == 2 * per_thread
    taken.sort()
    # Any one-second window, not just calendar seconds: a provider's windows are not aligned with ours.
    busiest = max(sum(1 for t in taken if start <= t < start + 1) for start in taken)
    assert busiest <= limit, busiest
    # 60 requests at 20/s (80% of 25) take about three seconds
    assert taken[-1] - taken[0] >= (2 * per_thread - 1) / (limit * SAFETY) - 0.05


@pytest.mark.django_db
def test_per_person_slots_long_past_are_pruned_when_new_ones_are_made(monkeypatch):
    from tidings.channels import ratelimit

    RateSlot.objects.create(key="whatsapp:1:pair:old", next_at=time.time() - 3600)
    RateSlot.objects.create(key="whatsapp:1:pair:recent", next_at=time.time() - 10)
    monkeypatch.setattr(ratelimit, "PRUNE_CHANCE", 1.0)
    ratelimit.rate_wait("whatsapp:1:pair:new", 6.0)
    assert set(RateSlot.objects.values_list("key", flat=True)) == {"whatsapp:1:pair:recent", "whatsapp:1:pair:new"}


@pytest.mark.django_db
def test_limits_taken_together_start_when_the_busiest_allows_and_both_move_on():
    from tidings.channels.ratelimit import rate_wait_all

    rate_wait_all([("acct", 0.05), ("pair", 0.4)])
    started = time.monotonic()
    rate_wait_all([("acct", 0.05), ("pair", 0.4)])  # the pair limit, not the account's, decides when
    assert time.monotonic() - started >= 0.3
    slots = dict(RateSlot.objects.values_list("key", "next_at"))
    assert slots["pair"] - slots["acct"] == pytest.approx(0.35, abs=0.01)  # both reserved at the same start
    with pytest.raises(RateLimitTimeout):
        rate_wait_all([("acct", 0.05), ("pair", 5.0)], timeout=0.1)
    assert dict(RateSlot.objects.values_list("key", "next_at")) == slots  # a refusal reserves nothing
