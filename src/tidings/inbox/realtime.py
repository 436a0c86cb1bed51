"""Real-time bus (SPEC I3): inbox events reach every open console of the workspace within a second.

`publish(workspace_id=…, payload=…)` sends after the current transaction commits (nothing on rollback).
`subscribe(workspace_id=…, after=…)` is one console's stream (the SSE view in console/views/inbox_events.py).

Two buses behind one interface, chosen by `settings.REALTIME["REDIS_URL"]` (env TIDINGS_REDIS_URL):

- embedded (default): one `RealtimeEvent` row per event, kept a few minutes. Every process reads rows past the last
  id it saw — one cheap indexed query per poll, across the web and worker processes `./run` starts, on SQLite and
  PostgreSQL. On PostgreSQL the insert takes a transaction-scoped advisory lock, so ids commit in order and
  "id > last seen" never skips a row that commits late (SQLite has one writer at a time anyway).
- Redis: one capped stream per workspace (XADD … MAXLEN ~), read with XREAD. A stream rather than pub/sub because
  its ids let a console that reconnects resume after the last event it saw, as the table does.

Event ids are the row id or the stream entry id; a console passes the last one back (Last-Event-ID) and gets what
it missed, or a `{"type": "resync"}` event when that is no longer kept (or it fell too far behind) so it reloads.

Each process runs one reader thread (`_Hub`) while it has open streams: it reads for every workspace watched in
the process and hands each event to that workspace's subscriptions — fifty consoles are one poll, not fifty. The
same subscription serves a sync (WSGI) and an async (ASGI) stream.
"""

import collections
import json
import logging
import threading
import time
from datetime import timedelta
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Max, Min
from django.utils import timezone

from .models import RealtimeEvent

logger = logging.getLogger(__name__)

RESYNC = {"type": "resync"}  # "you may have missed events: reload what you show"
REPLAY_LIMIT = 500  # events a reconnecting console may catch up on before it is told to resync
QUEUE_LIMIT = 2000  # events waiting for one slow console before it is told to resync instead
READ_BATCH = 1000  # events read per poll
IDLE_SECONDS = 1.0  # a reader thread with no subscriptions stops (and closes its connections) after this
PRUNE_EVERY_SECONDS = 60.0
# pg_advisory_xact_lock key serialising embedded-bus inserts on PostgreSQL (any constant unique in this database).
_ORDER_LOCK = 0x7469_6469_6E67_3133


@dataclass(frozen=True)
class StreamEvent:
    id: str  # "" for a resync, which has no place in the order
    payload: dict


def _option(name: str, default):
    return getattr(settings, "REALTIME", {}).get(name, default)


def publish(*, workspace_id: int, payload: dict) -> None:
    """Send `payload` to the workspace's open consoles once the current transaction commits (never on rollback).

    A bus failure is logged and never fails the write that published (robust on_commit)."""
    transaction.on_commit(partial(_send, workspace_id, payload), robust=True)


def _send(workspace_id: int, payload: dict) -> None:
    bus = current_bus()
    bus.send(workspace_id, payload)
    _hub.nudge()  # a console in this very process need not wait for the next poll


def cursor(*, workspace_id: int) -> str:
    """The id of the latest event now: a page rendered now passes it as `after`, so nothing between the render and
    the stream's start is lost."""
    return current_bus().latest_id(workspace_id)


def subscribe(*, workspace_id: int, after: str | None = None) -> "Subscription":
    """A stream of the workspace's events from now on, or from just after the event id `after` when it is still
    kept. Close it when done (`close()`)."""
    bus = current_bus()
    sub = Subscription(workspace_id, bus)
    _hub.add(sub, bus)  # first: nothing published from here on can be missed …
    try:
        latest = bus.latest_id(workspace_id)  # … and everything up to here is replayed or was seen before
        floor = bus.key(latest)
        backlog, resync = [], False
        after_key = bus.key(after) if after else None
        if after_key is not None and after_key < floor:
            backlog = bus.since(workspace_id, after, limit=REPLAY_LIMIT + 1)
            resync = len(backlog) > REPLAY_LIMIT or bus.dropped_after(workspace_id, after)
            backlog = [] if resync else backlog
            floor = max([floor, *(bus.key(e.id) for e in backlog)])
        elif after_key is not None and after_key > floor:
            resync = True  # an id the bus has not reached: its history was lost (emptied, expired)
        # The stream's first id: what a reconnect passes back before any event arrives (after, while catching up).
        sub._begin(floor=floor, cursor=after if (backlog or resync) else latest, backlog=backlog, resync=resync,
                   resync_cursor=latest)
    except BaseException:
        _hub.remove(sub)
        raise
    return sub


class Subscription:
    """One console's events: filled by the reader thread, drained by `get` (sync) or `aget` (async)."""

    def __init__(self, workspace_id: int, bus):
        self.workspace_id = workspace_id
        self.cursor = ""  # the latest event id this stream has reached: what a reconnect passes back
        self._bus = bus
        self._lock = threading.Lock()
        self._items: collections.deque[StreamEvent] = collections.deque()
        self._floor = None  # events with ids at or below it were replayed or seen before: dropped
        self._overflowed = False
        self._resync_cursor = ""  # where the stream stands once its resync event is taken
        self._closed = False
        self._ready = threading.Event()
        self._loop = None
        self._async_ready = None

    def _begin(self, *, floor, cursor: str, backlog: list[StreamEvent], resync: bool, resync_cursor: str) -> None:
        with self._lock:
            self._floor = floor
            self.cursor = cursor
            self._resync_cursor = resync_cursor
            early = [e for e in self._items if self._bus.key(e.id) > floor]
            self._items.clear()
            self._items.extend([RESYNC_EVENT] if resync else backlog)
            self._items.extend(early)
        self._wake()

    def _deliver(self, events: list[StreamEvent]) -> None:
        """Called by the reader thread."""
        with self._lock:
            if self._floor is not None:
                events = [e for e in events if self._bus.key(e.id) > self._floor]
            if len(self._items) + len(events) > QUEUE_LIMIT:
                self._items.clear()
                self._overflowed = True
                self._resync_cursor = events[-1].id
            else:
                self._items.extend(events)
        if events:
            self._wake()

    def _wake(self) -> None:
        self._ready.set()
        loop, ready = self._loop, self._async_ready
        if loop is not None:
            try:
                loop.call_soon_threadsafe(ready.set)
            except RuntimeError:  # its event loop is closed: the stream is gone
                pass

    def _take(self) -> list[StreamEvent]:
        with self._lock:
            self._ready.clear()
            items = list(self._items)
            self._items.clear()
            if self._overflowed:
                self._overflowed = False
                items = [RESYNC_EVENT]
            if items:
                self.cursor = items[-1].id or self._resync_cursor
        return items

    def get(self, timeout: float) -> list[StreamEvent]:
        """The events that arrived, waiting up to `timeout` seconds for one ([] if none)."""
        deadline = time.monotonic() + timeout
        while not (items := self._take()) and (left := deadline - time.monotonic()) > 0:
            self._ready.wait(left)
        return items

    async def aget(self, timeout: float) -> list[StreamEvent]:
        """As `get`, awaiting on the caller's event loop."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._async_ready = asyncio.Event()
            self._loop = loop
        deadline = loop.time() + timeout
        while True:
            self._async_ready.clear()  # before taking: a delivery after the take sets it again
            if (items := self._take()) or (left := deadline - loop.time()) <= 0:
                return items
            try:
                await asyncio.wait_for(self._async_ready.wait(), left)
            except TimeoutError:
                pass

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _hub.remove(self)


RESYNC_EVENT = StreamEvent("", RESYNC)


# --- the buses ------------------------------------------------------------------------------------------------------

class DatabaseBus:
    """Events as RealtimeEvent rows; ids are the row ids (commit-ordered, see the module docstring)."""

    name = "database"

    def __init__(self):
        self._next_prune = 0.0

    def send(self, workspace_id: int, payload: dict) -> None:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", [_ORDER_LOCK])
            RealtimeEvent.objects.create(workspace_id=workspace_id, payload=payload)
        now = time.monotonic()
        if now >= self._next_prune:  # each process prunes now and then; the created_at index keeps it cheap
            self._next_prune = now + PRUNE_EVERY_SECONDS
            self.prune()

    def prune(self) -> None:
        keep = timezone.now() - timedelta(seconds=_option("RETENTION_SECONDS", 300))
        newest = RealtimeEvent.objects.aggregate(top=Max("id"))["top"]
        # The newest row stays whatever its age: it is where the ids stand, for consoles that reconnect.
        RealtimeEvent.objects.filter(created_at__lt=keep, id__lt=newest or 0).delete()

    @staticmethod
    def key(event_id: str | None):
        return int(event_id) if event_id and event_id.isdigit() and len(event_id) < 20 else None

    def latest_id(self, workspace_id: int) -> str:
        # The latest row of any workspace: ids are global, and an id is only ever compared with later ones.
        return str(RealtimeEvent.objects.aggregate(top=Max("id"))["top"] or 0)

    def since(self, workspace_id: int, after: str, *, limit: int) -> list[StreamEvent]:
        rows = (RealtimeEvent.objects.filter(workspace_id=workspace_id, id__gt=int(after)).order_by("id")
                .values_list("id", "payload")[:limit])
        return [StreamEvent(str(pk), payload) for pk, payload in rows]

    def dropped_after(self, workspace_id: int, after: str) -> bool:
        # Pruning removes the oldest rows first: if rows after `after` are gone, the oldest left is past them.
        # "0" is a page rendered before the first event ever: everything since is what the table holds.
        oldest = RealtimeEvent.objects.aggregate(low=Min("id"))["low"]
        return after != "0" and (oldest is None or oldest > int(after) + 1)

    def reader(self):
        return _DatabaseReader()


class _DatabaseReader:
    blocks = False  # the hub waits between polls

    def __init__(self):
        self.cursor = RealtimeEvent.objects.aggregate(top=Max("id"))["top"] or 0

    def watch(self, workspace_id: int) -> None:
        pass  # one cursor for all workspaces

    def unwatch(self, workspace_id: int) -> None:
        pass

    def read(self, watched) -> list[tuple[int, StreamEvent]]:
        top = RealtimeEvent.objects.aggregate(top=Max("id"))["top"]
        if top is None or top <= self.cursor:
            return []
        # Taken after `top`: a console subscribed before a row committed is watched when that row is read.
        workspace_ids = watched()
        rows = list(RealtimeEvent.objects.filter(id__gt=self.cursor, id__lte=top, workspace_id__in=workspace_ids)
                    .order_by("id").values_list("id", "workspace_id", "payload")[:READ_BATCH])
        self.cursor = rows[-1][0] if len(rows) == READ_BATCH else top
        return [(ws, StreamEvent(str(pk), payload)) for pk, ws, payload in rows]

    def close(self) -> None:
        connections.close_all()


class RedisBus:
    """Events in one capped Redis stream per workspace; ids are stream entry ids ("<ms>-<seq>")."""

    name = "redis"
    MAXLEN = 1000  # events kept per workspace for consoles that reconnect
    EXPIRE_SECONDS = 86_400  # a workspace's stream goes a day after its last event (deleted workspaces, old tests)

    def __init__(self, url: str):
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=2)
        db = settings.DATABASES["default"]
        # Workspace ids are unique within one database only: two Tidings (or test runs) sharing a Redis never mix.
        self.prefix = _option("REDIS_PREFIX", "") or f"tidings:{db.get('HOST') or ''}:{db['NAME']}:inbox:"

    def stream(self, workspace_id: int) -> str:
        return f"{self.prefix}{workspace_id}"

    def send(self, workspace_id: int, payload: dict) -> None:
        key = self.stream(workspace_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.xadd(key, {"p": json.dumps(payload, separators=(",", ":"))}, maxlen=self.MAXLEN, approximate=True)
        pipe.expire(key, self.EXPIRE_SECONDS)
        pipe.execute()

    @staticmethod
    def key(event_id: str | None):
        ms, dash, seq = (event_id or "").partition("-")
        return (int(ms), int(seq)) if dash and ms.isdigit() and seq.isdigit() else None

    def latest_id(self, workspace_id: int) -> str:
        # The last id the stream ever gave, kept when trimming removed that entry: a subscription's floor must not
        # fall back below an event the shared reader may still be delivering (it would arrive after the resync).
        import redis

        try:
            return self.client.xinfo_stream(self.stream(workspace_id))["last-generated-id"]
        except redis.ResponseError:  # no such stream yet, or it expired
            return "0-0"

    def since(self, workspace_id: int, after: str, *, limit: int) -> list[StreamEvent]:
        entries = self.client.xrange(self.stream(workspace_id), min=f"({after}", count=limit)
        return [StreamEvent(entry_id, json.loads(fields["p"])) for entry_id, fields in entries]

    def dropped_after(self, workspace_id: int, after: str) -> bool:
        import redis

        if after == "0-0":
            return False
        try:
            info = self.client.xinfo_stream(self.stream(workspace_id))
        except redis.ResponseError:  # no such stream: it expired with whatever followed `after`
            return True
        after_key = self.key(after)
        if self.key(info.get("max-deleted-entry-id") or "0-0") > after_key:  # XDEL
            return True
        # Trimming (MAXLEN) removes the oldest entries and leaves max-deleted-entry-id alone. If any were removed
        # and the oldest kept one is past `after`, events in between may be gone: resync (at worst needlessly, when
        # `after` was the very last one removed).
        if info["length"] == 0:
            return self.key(info["last-generated-id"]) > after_key
        trimmed = info.get("entries-added", 0) > info["length"]
        return trimmed and self.key(info.get("recorded-first-entry-id") or info["first-entry"][0]) > after_key

    def reader(self):
        return _RedisReader(self)


class _RedisReader:
    blocks = True  # XREAD waits for new entries itself

    def __init__(self, bus: RedisBus):
        self.bus = bus
        self.block_ms = max(1, int(_option("REDIS_BLOCK_SECONDS", 0.25) * 1000))
        self._lock = threading.Lock()
        self._cursors: dict[int, str] = {}

    def watch(self, workspace_id: int) -> None:
        if workspace_id not in self._cursors:
            latest = self.bus.latest_id(workspace_id)  # before the subscriber reads its own: at or below it
            with self._lock:
                self._cursors.setdefault(workspace_id, latest)

    def unwatch(self, workspace_id: int) -> None:
        with self._lock:
            self._cursors.pop(workspace_id, None)

    def read(self, watched) -> list[tuple[int, StreamEvent]]:
        with self._lock:
            streams = {self.bus.stream(ws): cursor for ws, cursor in self._cursors.items()}
        if not streams:
            time.sleep(self.block_ms / 1000)
            return []
        reply = self.bus.client.xread(streams, count=READ_BATCH, block=self.block_ms) or []
        out = []
        for key, entries in reply:
            ws = int(key.rsplit(":", 1)[1])
            out += [(ws, StreamEvent(entry_id, json.loads(fields["p"]))) for entry_id, fields in entries]
            with self._lock:
                if ws in self._cursors and entries:
                    self._cursors[ws] = entries[-1][0]
        return out

    def close(self) -> None:
        pass


_buses: dict[str, object] = {}


def current_bus():
    """The bus the settings name (one instance per configuration, so its Redis connection pool is shared)."""
    url = _option("REDIS_URL", "")
    ident = f"redis:{url}:{_option('REDIS_PREFIX', '')}:{settings.DATABASES['default']['NAME']}" if url else "db"
    bus = _buses.get(ident)
    if bus is None:
        bus = _buses[ident] = RedisBus(url) if url else DatabaseBus()
    return bus


# --- the per-process reader -----------------------------------------------------------------------------------------

class _Hub:
    """One reader thread per process, running while it has subscriptions, fanning events out to them."""

    def __init__(self):
        self._lock = threading.RLock()
        self._subs: dict[int, set[Subscription]] = {}
        self._thread: threading.Thread | None = None
        self._reader = None
        self._bus = None
        self._wake = threading.Event()
        self._stopping = False

    def add(self, sub: Subscription, bus) -> None:
        with self._lock:
            if self._thread is None:
                self._bus, self._reader, self._stopping = bus, bus.reader(), False  # its cursor: "now"
                self._thread = threading.Thread(target=self._run, name="tidings-realtime", daemon=True)
                self._thread.start()
            self._reader.watch(sub.workspace_id)
            self._subs.setdefault(sub.workspace_id, set()).add(sub)

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.workspace_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.workspace_id]
                    if self._reader is not None:
                        self._reader.unwatch(sub.workspace_id)

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop the reader thread now (tests; settings changed). Open subscriptions receive nothing more."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._subs.clear()
        self._wake.set()
        if thread is not None:
            thread.join(timeout=10)

    def _watched(self) -> set[int]:
        with self._lock:
            return set(self._subs)

    def _run(self) -> None:
        reader, poll = self._reader, float(_option("POLL_SECONDS", 0.1))
        idle_since, failures = None, 0
        try:
            while True:
                with self._lock:
                    if self._stopping:
                        self._thread = None
                        return
                    if self._subs:
                        idle_since = None
                    elif idle_since is None:
                        idle_since = time.monotonic()
                    elif time.monotonic() - idle_since > IDLE_SECONDS:
                        self._thread = None
                        return
                try:
                    batch = reader.read(self._watched)
                    failures = 0
                except Exception:
                    failures += 1
                    if failures % 60 == 1:  # the first failure, then once a minute while it lasts
                        logger.exception("real-time reader failed %d time(s); retrying every second", failures)
                    reader.close()  # a broken database connection is reopened on the next read
                    batch = []
                    time.sleep(1)
                self._dispatch(batch)
                if not batch and not reader.blocks:
                    self._wake.wait(poll)
                    self._wake.clear()
        finally:
            reader.close()

    def _dispatch(self, batch: list[tuple[int, StreamEvent]]) -> None:
        by_workspace: dict[int, list[StreamEvent]] = {}
        for ws, event in batch:
            by_workspace.setdefault(ws, []).append(event)
        for ws, events in by_workspace.items():
            with self._lock:
                subs = list(self._subs.get(ws, ()))
            for sub in subs:
                sub._deliver(events)


_hub = _Hub()


def hub_stop() -> None:
    """Stop this process's reader thread (tests switch buses between tests; it restarts on the next subscribe)."""
    _hub.stop()
