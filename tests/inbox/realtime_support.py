"""Shared by the real-time tests: both buses as a fixture, and waiting for events with a deadline."""

import os
import time

import pytest

from tidings.inbox import realtime

REDIS_URL = os.environ.get("TIDINGS_REDIS_URL") or "redis://127.0.0.1:6379/0"

__all__ = ["REDIS_URL", "bus", "redis_reachable", "events_within"]


def redis_reachable() -> str | None:
    """None when Redis answers at REDIS_URL, else why not."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis unreachable at {REDIS_URL} ({exc}); set TIDINGS_REDIS_URL to run the Redis bus tests"
    return None


@pytest.fixture(params=["database", "redis"])
def bus(request, settings):
    """Each test runs on the embedded (table) bus and on Redis; the reader thread starts fresh for each."""
    realtime.hub_stop()
    options = {**settings.REALTIME, "POLL_SECONDS": 0.05, "HEARTBEAT_SECONDS": 0.2, "STREAM_SECONDS": 5,
               "REDIS_URL": ""}  # a stream buffered by mistake ends (and fails its test) within seconds
    if request.param == "redis":
        if (why := redis_reachable()) is not None:
            # ./test (and so CI) has Redis on 127.0.0.1 and must not pass without these tests; a bare pytest run on
            # a machine without Redis may leave them out.
            if os.environ.get("TIDINGS_TEST_REDIS_REQUIRED"):
                pytest.fail(why)
            pytest.skip(why)
        options["REDIS_URL"] = REDIS_URL
    settings.REALTIME = options
    yield request.param
    realtime.hub_stop()


def events_within(subscription, seconds: float, *, count: int = 1) -> list:
    """Payloads the subscription receives until `count` arrived or `seconds` passed."""
    got, deadline = [], time.monotonic() + seconds
    while len(got) < count and (left := deadline - time.monotonic()) > 0:
        got += [e.payload for e in subscription.get(timeout=left)]
    return got
