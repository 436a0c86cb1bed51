"""Provider rate limits shared by every worker process (SPEC C3).

Each limit key (one account's endpoint) has one row holding the earliest instant the next request may start.
Taking a slot is one short locked update: start = max(now, next_at); next_at = start + cost / rate. The caller
then sleeps until its start. Requests are spaced evenly instead of counted per calendar second: a provider's
one-second windows are not aligned with ours and requests arrive with jitter, so a per-second counter on our side
can still put more than the limit into one of the provider's seconds. Spacing at SAFETY of the limit leaves room
for that jitter. PostgreSQL locks the row (SELECT … FOR UPDATE); SQLite serialises writers.

Slots are wall-clock times of this machine; processes on several hosts need synchronised clocks.
"""

import os
import random
import time

from django.db import transaction

from tidings.core.bulk import rows_update

from .models import RateSlot

# Requests per second per (channel, dispatch kind), per account. LINE: push 2,000/s, multicast 200/s, PNP 2,000/s.
RATE_LIMITS: dict[tuple[str, str], int] = {
    ("line", "push"): 2000,
    ("line", "multicast"): 200,
    ("line", "pnp"): 2000,
    ("sms", "push"): 100,
    # WhatsApp: per phone number, 80/s by default up to 1,000/s at the top tier (account.settings["rate_limit"]).
    ("whatsapp", "push"): 80,
    # Messenger and Instagram Send API: 300 calls/s per Page (or professional account).
    ("messenger", "push"): 300,
    ("instagram", "push"): 300,
}
# Tests and benchmarks may lower limits for every process at once: TIDINGS_RATE_LIMITS="line:multicast=5,line:push=20".
for _item in filter(None, os.environ.get("TIDINGS_RATE_LIMITS", "").split(",")):
    _name, _, _value = _item.partition("=")
    RATE_LIMITS[tuple(_name.strip().split(":", 1))] = int(_value)

# Use this share of a provider's limit: the rest absorbs the misalignment and jitter described above.
SAFETY = 0.8


# Pair limits make a row per person: now and then, a new row's creation removes rows long in the past (a row whose
# slot has passed says nothing a missing row would not: the next request may start at once).
PRUNE_CHANCE = 0.01
PRUNE_AFTER = 300.0  # seconds


def _prune(now: float) -> None:
    RateSlot.objects.filter(next_at__lt=now - PRUNE_AFTER).delete()


class RateLimitTimeout(Exception):
    """The next free slot is further away than the caller was willing to wait; nothing was reserved."""


def rate_limit_for(channel: str, kind: str) -> int | None:
    return RATE_LIMITS.get((channel, kind))


def dispatch_limits(account, kind: str, recipient=None) -> list[tuple[str, float]]:
    """(key, seconds between requests) for every limit one send must respect, in the order to take them:
    the account's endpoint limit (an account may set its own tier, e.g. WhatsApp's 80…1,000/s), then the pair limit
    to one recipient (WhatsApp: one message per 6 s to the same user; settings.RATE_PAIR_INTERVALS)."""
    from django.conf import settings

    limits = []
    per_second = (account.settings or {}).get("rate_limit") or rate_limit_for(account.channel, kind)
    if per_second:
        limits.append((rate_key(account, kind), 1.0 / (float(per_second) * SAFETY)))
    pair = settings.RATE_PAIR_INTERVALS.get(account.channel)
    if pair and recipient is not None:
        limits.append((f"{account.channel}:{account.pk}:pair:{recipient}", float(pair)))
    return limits


def rate_key(account, kind: str) -> str:
    """One budget per account and endpoint: LINE counts limits per channel (Official Account)."""
    return f"{account.channel}:{account.pk}:{kind}"


def _locked_slots(keys: list[str], now: float) -> dict[str, RateSlot]:
    """Lock the rows of these keys (made when missing), in key order: two processes taking overlapping sets of keys
    lock them in the same order and cannot deadlock."""
    keys = sorted(set(keys))
    slots = {slot.key: slot for slot in RateSlot.objects.select_for_update().filter(key__in=keys).order_by("key")}
    missing = [key for key in keys if key not in slots]
    if missing:
        # Another process may make some of them at the same moment: ignore_conflicts, then lock what is there.
        RateSlot.objects.bulk_create([RateSlot(key=key, next_at=now) for key in missing], ignore_conflicts=True)
        slots.update((slot.key, slot) for slot in
                     RateSlot.objects.select_for_update().filter(key__in=missing).order_by("key"))
        if random.random() < PRUNE_CHANCE:
            _prune(now)
    return slots


def rate_reserve_many(requests: list[list[tuple[str, float]]], *, timeout: float, spread: float | None = None
                      ) -> list[tuple[float, bool]]:
    """Reserve one start per request, in order, each under all of its (key, interval) limits, in one transaction.

    Returns (start, reserved) per request. A request whose start would be more than `timeout` from now, or more than
    `spread` before or after the first reserved start, is not reserved (its start says when it could go) and does
    not hold back the requests after it. Requests sharing a key (an account's endpoint) get evenly spaced starts: a delivery
    of many dispatches reserves them all in one locked round trip instead of one each.
    """
    keys = [key for limits in requests for key, _interval in limits]
    if not keys:
        return [(time.time(), True)] * len(requests)
    out: list[tuple[float, bool]] = []
    with transaction.atomic():
        now = time.time()
        slots = _locked_slots(keys, now)
        changed: dict[str, RateSlot] = {}
        first = None
        for limits in requests:
            start = max([now, *(slots[key].next_at for key, _interval in limits)])
            too_far = start - now > timeout or (first is not None and spread is not None
                                                and abs(start - first) > spread)
            if too_far:
                out.append((start, False))
                continue
            for key, interval in limits:
                slots[key].next_at = start + interval
                changed[key] = slots[key]
            first = start if first is None else first
            out.append((start, True))
        if changed:
            rows_update(RateSlot, ["next_at"], [(slot.pk, slot.next_at) for slot in changed.values()])
    return out


def rate_acquire(key: str, cost: int = 1, per_second: int = 1, *, timeout: float = 30.0) -> None:
    """Block until this request's evenly spaced slot under `per_second` (times SAFETY) has come.

    Raises RateLimitTimeout, reserving nothing, when that slot is more than `timeout` seconds away.
    """
    if cost > per_second:
        raise ValueError(f"cost {cost} can never fit a limit of {per_second}/s")
    rate_wait(key, cost / (per_second * SAFETY), timeout=timeout)


def rate_wait(key: str, interval: float, *, timeout: float = 30.0) -> None:
    """Block until the next slot of `key` (requests at least `interval` seconds apart); RateLimitTimeout when it is
    more than `timeout` away (nothing reserved)."""
    rate_wait_all([(key, interval)], timeout=timeout)


def rate_wait_all(limits: list[tuple[str, float]], *, timeout: float = 30.0) -> None:
    """Block until one request may start under every (key, interval) of `limits` - e.g. an account's endpoint limit
    and a per-person limit - reserved together in one transaction; RateLimitTimeout (nothing reserved) when that
    start is more than `timeout` away."""
    if not limits:
        return
    [(start, reserved)] = rate_reserve_many([limits], timeout=timeout)
    if not reserved:
        raise RateLimitTimeout(limits[0][0])
    rate_sleep_until(start)


def rate_sleep_until(start: float) -> None:
    wait = start - time.time()
    if wait > 0:
        time.sleep(wait)
