"""The console's event stream (SPEC I3): Server-Sent Events for members who may use the inbox, only of their
current workspace, streamed (not buffered) under WSGI and ASGI, and across processes within a second."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import Client

from tidings.core.roles import Role
from tidings.inbox import realtime

from ..support.event_loop import run_in_own_loop
from ..support.workers import REPO, database_url
from .realtime_support import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/inbox/events"


def data_frames(text: str) -> list[dict]:
    return [json.loads(line[len("data: "):]) for line in text.splitlines() if line.startswith("data: ")]


def read_until_data(chunks, seconds: float = 2.0) -> str:
    """Stream text up to the first data frame (heartbeats every 0.2 s keep this moving), or what came in time."""
    received, deadline = "", time.monotonic() + seconds
    while not data_frames(received) and time.monotonic() < deadline:
        received += next(chunks).decode()
    return received


def test_the_stream_needs_a_login_and_the_inbox_permission(workspace, make_member, console_client):
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert console_client(make_member(workspace, Role.MARKETER)).get(URL).status_code == 403
    response = console_client(make_member(workspace, Role.CS_AGENT)).get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["X-Accel-Buffering"] == "no"
    response.close()


def test_wsgi_stream_sends_the_workspaces_events_as_they_happen(bus, workspace, other_workspace, make_member,
                                                                console_client):
    client = console_client(make_member(workspace, Role.CS_AGENT))
    response = client.get(URL)
    chunks = iter(response.streaming_content)
    try:
        first = next(chunks).decode()
        assert first.startswith("retry: ") and "\nid: " in first
        realtime.publish(workspace_id=other_workspace.pk, payload={"type": "message", "conversation": 1})
        realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "conversation": 2})
        received = read_until_data(chunks)
        assert data_frames(received) == [{"type": "message", "conversation": 2}]
        assert "\nid: " in "\n" + received
    finally:
        response.close()


def test_a_reconnect_with_last_event_id_replays_what_was_missed(bus, workspace, make_member, console_client):
    client = console_client(make_member(workspace, Role.CS_MANAGER))
    last_seen = realtime.cursor(workspace_id=workspace.pk)
    realtime.publish(workspace_id=workspace.pk, payload={"type": "status", "message": 3, "status": "read"})
    response = client.get(URL, headers={"Last-Event-ID": last_seen})
    try:
        received = read_until_data(iter(response.streaming_content))
        assert data_frames(received) == [{"type": "status", "message": 3, "status": "read"}]
    finally:
        response.close()


async def _asgi_stream(cookie: str, publish, *, seconds: float) -> tuple[float, list[dict], list[str]]:
    """Drive Django's ASGI handler like a server would: the first chunk, then `publish()`, then the time until its
    event arrives; then the browser leaves (http.disconnect)."""
    from tidings.asgi import application

    sent: asyncio.Queue = asyncio.Queue()
    leave = asyncio.Event()

    async def receive():
        if not getattr(receive, "body_sent", False):
            receive.body_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": URL, "raw_path": URL.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())], "server": ("testserver", 80),
             "client": ("127.0.0.1", 5000)}
    app = asyncio.create_task(application(scope, receive, sent.put))
    start = await asyncio.wait_for(sent.get(), seconds)
    headers = [name.decode().lower() for name, _ in start["headers"]]
    first = await asyncio.wait_for(sent.get(), seconds)  # the retry/id frame, before any event
    assert first["body"].startswith(b"retry: ") and first["more_body"]
    await sync_to_async(publish, thread_sensitive=False)()
    published = time.monotonic()
    body = b""
    while not data_frames(body.decode()):
        body += (await asyncio.wait_for(sent.get(), seconds))["body"]
    took = time.monotonic() - published
    leave.set()
    await asyncio.wait_for(app, seconds)
    return took, data_frames(body.decode()), headers


def test_asgi_stream_is_not_buffered_and_ends_when_the_browser_leaves(bus, workspace, make_member, console_client):
    client = console_client(make_member(workspace, Role.SUPERVISOR))
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    def publish():
        realtime.publish(workspace_id=workspace.pk, payload={"type": "conversation", "conversation": 4})
        connections.close_all()  # this executor thread outlives the test

    took, events, headers = run_in_own_loop(_asgi_stream(cookie, publish, seconds=5))
    assert events == [{"type": "conversation", "conversation": 4}]
    assert took < 1.0
    assert "content-type" in headers and "x-accel-buffering" in headers
    assert realtime._hub._watched() == set()  # the browser left: its subscription is gone


@pytest.fixture
def server(request, bus):
    """A real `tidings serve` (uvicorn) on a free port, on this test's database and bus."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tidings.settings",
           "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
           "TIDINGS_LOG_LEVEL": "WARNING", "TIDINGS_REDIS_URL": REDIS_URL if bus == "redis" else ""}
    proc = subprocess.Popen([sys.executable, "-m", "tidings.cli", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "tidings serve did not start"
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_an_event_published_in_another_process_reaches_an_open_stream_within_a_second(
        server, workspace, make_member, console_client):
    client = console_client(make_member(workspace, Role.CS_AGENT))
    cookies = {"sessionid": client.cookies["sessionid"].value}
    with httpx.Client(base_url=server, cookies=cookies, timeout=5) as http, http.stream("GET", URL) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("retry: ")  # the stream is open: subscribed in the server process
        realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "conversation": 11})
        published = time.monotonic()
        for line in lines:
            if line.startswith("data: "):
                break
        took = time.monotonic() - published
    assert json.loads(line[len("data: "):]) == {"type": "message", "conversation": 11}
    assert took < 1.0
