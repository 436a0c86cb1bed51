"""The inbox's real-time stream (SPEC I3): Server-Sent Events of the member's current workspace.

static/console/realtime.js opens it with an EventSource and re-dispatches each event in the page. Each event is
`id: <bus id>` + `data: <payload JSON>` (inbox/realtime.py lists the payloads); comments keep the line alive. A
reconnect passes the last id back (Last-Event-ID, or `?after=` from the page) and gets what it missed.

Django serves a sync iterator under ASGI only after buffering all of it, and an async one under WSGI likewise, so
the view picks the generator for the server it runs under: async under `tidings serve` (uvicorn), sync under WSGI
(the test client, the browser tests' live server).
"""

import asyncio
import json
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import StreamingHttpResponse
from django.urls import path

from tidings.core.permissions import Permission
from tidings.inbox import realtime

from ..access import require

RETRY_MS = 1000  # how soon the browser reconnects after the stream ends or breaks
# A WSGI thread learns that its browser left only when a write fails, so it writes more often there.
WSGI_HEARTBEAT_SECONDS = 2.0


@require(Permission.CONVERSATIONS_VIEW)
def inbox_events(request):
    workspace_id = request.workspace.pk
    after = request.headers.get("Last-Event-ID") or request.GET.get("after") or None
    if isinstance(request, ASGIRequest):
        stream = _async_stream(workspace_id, after)
    else:
        stream = _sync_stream(workspace_id, after)
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx and friends: pass each event on at once
    return response


def _open(workspace_id: int, after: str | None) -> realtime.Subscription:
    subscription = realtime.subscribe(workspace_id=workspace_id, after=after)
    # A stream lasts minutes: hand this thread's database connections back now, not when it ends (the reader
    # thread has its own), so fifty open consoles do not hold fifty connections.
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()
    return subscription


def _first_frame(subscription) -> str:
    # The id line sets the browser's Last-Event-ID before any event arrives, so a quick reconnect loses nothing.
    return f"retry: {RETRY_MS}\nid: {subscription.cursor}\n\n"


def _frames(events) -> str:
    out = []
    for event in events:
        data = json.dumps(event.payload, separators=(",", ":"))
        out.append(f"id: {event.id}\ndata: {data}\n\n" if event.id else f"data: {data}\n\n")
    return "".join(out)


def _limits() -> tuple[float, float]:
    options = getattr(settings, "REALTIME", {})
    return float(options.get("HEARTBEAT_SECONDS", 15)), float(options.get("STREAM_SECONDS", 300))


def _sync_stream(workspace_id: int, after: str | None):
    heartbeat, lifetime = _limits()
    heartbeat = min(heartbeat, WSGI_HEARTBEAT_SECONDS)
    subscription = _open(workspace_id, after)
    try:
        yield _first_frame(subscription)
        # The stream ends after a while: the browser reconnects at once, resuming after its last event, and the
        # member's access is checked again.
        ends = time.monotonic() + lifetime
        while time.monotonic() < ends:
            events = subscription.get(timeout=heartbeat)
            yield _frames(events) if events else ": keep-alive\n\n"
    finally:
        subscription.close()


async def _async_stream(workspace_id: int, after: str | None):
    heartbeat, lifetime = _limits()
    # In the request's own thread (sync_to_async is thread-sensitive), so it closes that thread's connections.
    subscription = await sync_to_async(_open)(workspace_id, after)
    try:
        yield _first_frame(subscription)
        ends = asyncio.get_running_loop().time() + lifetime
        while asyncio.get_running_loop().time() < ends:
            events = await subscription.aget(timeout=heartbeat)
            yield _frames(events) if events else ": keep-alive\n\n"
    finally:  # also when the browser leaves: Django cancels the stream on disconnect
        subscription.close()


URLS = [
    path("inbox/events", inbox_events, name="inbox_events"),
]
