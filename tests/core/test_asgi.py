"""`tidings serve` runs Django under ASGI with the whole middleware chain and the view in one call on one thread
(tidings.asgi): members still get their pages in their own language, signed-out visitors the login page, request
bodies reach the view, and errors keep their status."""

import asyncio

import pytest
from django.urls import reverse

from tidings.core.roles import Role

from ..support.event_loop import run_in_own_loop

pytestmark = pytest.mark.django_db(transaction=True)


async def asgi_call(method: str, path: str, *, cookie: str = "", authorization: str = "", body: bytes = b"",
                    content_type: str = "", leaves: bool = False) -> tuple:
    """(status, headers, body) of one request driven through tidings.asgi.application as a server would; a client
    that `leaves` disconnects as soon as it has sent the request (status None)."""
    from tidings.asgi import application

    sent, received = [], []

    async def receive():
        if received:  # Django listens for a disconnect while it answers
            if leaves:
                return {"type": "http.disconnect"}
            await asyncio.Event().wait()
        received.append(True)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    headers = [(b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if authorization:
        headers.append((b"authorization", authorization.encode()))
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    path_only, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path_only, "raw_path": path_only.encode(), "query_string": query.encode(),
             "root_path": "", "headers": headers, "server": ("testserver", 80), "client": ("127.0.0.1", 5000)}
    await asyncio.wait_for(application(scope, receive, send), 10)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    if start is None:
        return None, {}, ""
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content.decode()


def asgi_request(method: str, path: str, **options) -> tuple:
    return run_in_own_loop(asgi_call(method, path, **options))


@pytest.mark.parametrize("language, expected", [("en", '<html lang="en">'), ("zh-hant", '<html lang="zh-hant">')])
def test_a_member_gets_the_console_in_their_language(workspace, make_member, console_client, language, expected):
    client = console_client(make_member(workspace, Role.ADMIN, language=language))
    status, _headers, page = asgi_request("GET", reverse("console:home"),
                                          cookie=f"sessionid={client.cookies['sessionid'].value}")
    assert status == 200
    assert expected in page


def test_a_signed_out_visitor_is_sent_to_the_login_page():
    status, headers, _page = asgi_request("GET", reverse("console:home"))
    assert status == 302
    assert headers["location"].startswith("/login")


def test_a_json_body_reaches_the_api_and_errors_keep_their_status(workspace, make_member, api_client):
    token = api_client(make_member(workspace, Role.ADMIN)).headers["Authorization"]
    status, _headers, body = asgi_request("POST", "/api/v1/messages", authorization=token,
                                          body=b'{"contact_id": 999999, "channel": "line", "messages": '
                                               b'[{"type": "text", "text": "hi"}]}',
                                          content_type="application/json")
    assert status == 404 and "contact" in body.lower()  # the body was read: it named a contact that is not there
    status, _headers, _body = asgi_request("POST", "/api/v1/messages", body=b"{}", content_type="application/json")
    assert status == 401
    status, _headers, _body = asgi_request("GET", "/no/such/page")
    assert status == 404


def test_concurrent_requests_are_all_answered_and_a_client_that_leaves_does_not_hold_up_the_next():
    async def burst():
        left = await asgi_call("GET", "/healthz", leaves=True)
        answers = await asyncio.gather(*(asgi_call("GET", "/healthz") for _ in range(40)))
        return left, answers

    _left, answers = run_in_own_loop(burst())
    assert [status for status, _headers, _body in answers] == [200] * 40
    assert all('"database": "ok"' in body for _status, _headers, body in answers)


def test_fake_provider_requests_are_served_in_turn_while_tidings_keeps_answering(line_account, monkeypatch):
    """The sandbox's fake providers have one thread of their own: a request arriving while another holds it waits
    for it, and Tidings' own pages are answered meanwhile."""
    import threading

    from tidings.sandbox.fake_line import services as fake_line

    calls, first_entered, release_first = [], threading.Event(), threading.Event()
    real_profile = fake_line.line_api_profile

    def profile_holding_the_first_call(account, user_id):
        calls.append(user_id)
        if len(calls) == 1:
            first_entered.set()
            release_first.wait(10)
        return real_profile(account, user_id)

    monkeypatch.setattr(fake_line, "line_api_profile", profile_holding_the_first_call)
    path = f"/sandbox/line/{line_account.public_id}/v2/bot/profile/U{'0' * 32}"
    token = f"Bearer {line_account.credentials['access_token']}"

    async def scenario():
        first = asyncio.ensure_future(asgi_call("GET", path, authorization=token))
        await asyncio.to_thread(first_entered.wait, 10)
        second = asyncio.ensure_future(asgi_call("GET", path, authorization=token))
        health = await asgi_call("GET", "/healthz")
        await asyncio.sleep(0.3)
        second_answered_while_first_held = second.done()
        release_first.set()
        return health, second_answered_while_first_held, await first, await second

    health, second_answered_early, first, second = run_in_own_loop(scenario())
    assert health[0] == 200
    assert not second_answered_early
    assert first[0] == second[0] == 404  # no such LINE user, answered as LINE does
    assert len(calls) == 2
