"""Provider rate limits shared by every worker process (SPEC C3): a counter row per (key, epoch second).

A process takes `cost` units of the current second's window with one conditional UPDATE
(`count = count + cost WHERE count + cost <= limit`), which the database applies atomically whichever process
asks: PostgreSQL re-checks the WHERE on the locked row, SQLite serialises writers. The first request of a second
inserts the row (a concurrent insert loses on the unique constraint and retries the UPDATE). A full window means
waiting for the next second, so no second ever carries more than the limit, however many workers send.

Windows are wall-clock seconds of this machine's clock; processes on several hosts need synchronised clocks.
"""

import os
import random
import time

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import RateWindow

# Requests per second per (channel, dispatch kind), per account. LINE: push 2,000/s, multicast 200/s, PNP 2,000/s.
RATE_LIMITS: dict[tuple[str, str], int] = {
    ("line", "push"): 2000,
    ("line", "multicast"): 200,
    ("line", "pnp"): 2000,
    ("sms", "push"): 100,
}
# Tests and benchmarks may lower limits for every process at once: TIDINGS_RATE_LIMITS="line:multicast=5,line:push=20".
for _item in filter(None, os.environ.get("TIDINGS_RATE_LIMITS", "").split(",")):
    _name, _, _value = _item.partition("=")
    RATE_LIMITS[tuple(_name.strip().split(":", 1))] = int(_value)
KEEP_SECONDS = 60  # windows older than this are pruned


class RateLimitTimeout(Exception):
    """The limit stayed full for longer than the caller was willing to wait."""


def rate_limit_for(channel: str, kind: str) -> int | None:
    return RATE_LIMITS.get((channel, kind))


def rate_key(account, kind: str) -> str:
    """One budget per account and endpoint: LINE counts limits per channel (Official Account)."""
    return f"{account.channel}:{account.pk}:{kind}"


def _take(key: str, window: int, cost: int, per_second: int) -> bool:
    with transaction.atomic():
        if RateWindow.objects.filter(key=key, window=window, count__lte=per_second - cost).update(
            count=F("count") + cost
        ):
            return True
        if RateWindow.objects.filter(key=key, window=window).exists():
            return False  # this second is full
    try:
        with transaction.atomic():
            RateWindow.objects.create(key=key, window=window, count=cost)
    except IntegrityError:  # another process opened the window first: take from it instead
        return _take(key, window, cost, per_second) if _window_exists(key, window) else False
    _prune(key, window)
    return True


def _window_exists(key: str, window: int) -> bool:
    return RateWindow.objects.filter(key=key, window=window).exists()


def _prune(key: str, window: int) -> None:
    RateWindow.objects.filter(key=key, window__lt=window - KEEP_SECONDS).delete()
    if random.random() < 0.01:  # keys that stopped being used
        RateWindow.objects.filter(window__lt=window - KEEP_SECONDS).delete()


def rate_acquire(key: str, cost: int = 1, per_second: int = 1, *, timeout: float = 30.0) -> None:
    """Block until `cost` units fit in the current second's budget of `per_second`, then take them.

    Raises RateLimitTimeout after `timeout` seconds without room (the caller retries later).
    """
    if cost > per_second:
        raise ValueError(f"cost {cost} can never fit a limit of {per_second}/s")
    deadline = time.monotonic() + timeout
    while True:
        now = time.time()
        if _take(key, int(now), cost, per_second):
            return
        if time.monotonic() >= deadline:
            raise RateLimitTimeout(key)
        # Sleep to the next second, plus a little jitter so waiting processes do not all wake at once.
        time.sleep(max(0.0, int(now) + 1 - time.time()) + random.uniform(0, 0.005))
