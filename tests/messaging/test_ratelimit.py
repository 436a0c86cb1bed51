"""The shared per-second rate limit holds whoever takes from it: threads here, worker processes in test_line_e2e."""

import threading
import time

import pytest
from django.db import connection

from tidings.channels.models import RateWindow
from tidings.channels.ratelimit import RATE_LIMITS, RateLimitTimeout, rate_acquire


@pytest.mark.django_db
def test_acquire_counts_and_refuses_an_impossible_cost():
    rate_acquire("k", cost=3, per_second=10)
    assert RateWindow.objects.get(key="k").count == 3
    with pytest.raises(ValueError):
        rate_acquire("k", cost=11, per_second=10)


@pytest.mark.django_db
def test_a_full_window_times_out_when_asked_not_to_wait():
    rate_acquire("full", cost=5, per_second=5)
    if RateWindow.objects.filter(key="full").count() == 1 and time.time() % 1 < 0.9:
        with pytest.raises(RateLimitTimeout):
            rate_acquire("full", per_second=5, timeout=0)


def test_the_agreed_limits():
    assert RATE_LIMITS[("line", "push")] == 2000 and RATE_LIMITS[("line", "multicast")] == 200


@pytest.mark.django_db(transaction=True)
def test_two_threads_hammering_one_key_never_exceed_the_limit_in_any_second():
    limit, per_thread = 25, 60
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
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    windows = dict(RateWindow.objects.filter(key="hammer").values_list("window", "count"))
    assert sum(windows.values()) == 2 * per_thread == len(taken)
    assert max(windows.values()) <= limit, windows
    # 120 units at 25/s cannot all fit in fewer than 5 distinct seconds
    assert len(windows) >= 5 and time.time() - started >= 3.0
