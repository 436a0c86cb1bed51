"""LINE adapter sends: the requests it makes (validated against messaging-api.yml) and how responses map to
SendResult. LINE is played by an httpx MockTransport here; the fake LINE's own tests cover the sandbox."""

import json

import httpx
import pytest

from tidings.channels.adapters.line import client
from tidings.channels.adapters.line.signature import pnp_phone_hash
from tidings.channels.registry import adapter_for
from tidings.contacts.services import identity_upsert
from tidings.messaging.models import Dispatch, Message

from .line_schema import assert_line_valid

TEXT = {"type": "text", "text": "Your tea is ready"}
BUTTONS = {"type": "buttons", "text": "Rate us", "actions": [{"type": "postback", "label": "5 stars", "data": "r=5"}]}


class FakeLine:
    """Records requests and answers with queued responses."""

    def __init__(self, *responses):
        self.requests: list[httpx.Request] = []
        self.responses = list(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if self.responses else httpx.Response(200, json={})
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def last(self):
        request = self.requests[-1]
        return request, json.loads(request.content or b"null")


@pytest.fixture
def fake_line(monkeypatch):
    def install(*responses):
        fake = FakeLine(*responses)
        monkeypatch.setattr(client, "http_client", lambda: httpx.Client(transport=httpx.MockTransport(fake)))
        return fake

    return install


def _dispatch(account, kind, users, contents, options=None):
    dispatch = Dispatch.objects.create(workspace=account.workspace, account=account, kind=kind,
                                       options=options or {})
    messages = []
    for user in users:
        identity, _ = identity_upsert(workspace=account.workspace, account=account, external_id=user)
        for position, content in enumerate(contents):
            messages.append(Message.objects.create(
                workspace=account.workspace, contact=identity.contact, identity=identity, account=account,
                channel="line", content=content, dispatch=dispatch, position=position))
    return dispatch, messages


USERS = ["U" + c * 32 for c in "abc"]


@pytest.mark.django_db
def test_push_request(line_account, fake_line):
    fake = fake_line(httpx.Response(200, json={"sentMessages": [{"id": "461230966842064897", "quoteToken": "q1"},
                                                               {"id": "461230966842064898"}]}))
    dispatch, messages = _dispatch(line_account, "push", USERS[:1], [TEXT, BUTTONS],
                                   {"aggregation_unit": "broadcast_7"})
    result = adapter_for("line").send(line_account, dispatch, messages)
    assert (result.outcome, result.provider_message_ids) == ("sent", ["461230966842064897", "461230966842064898"])
    request, body = fake.last
    assert str(request.url) == f"{line_account.base_url}/v2/bot/message/push"
    assert request.headers["authorization"] == f"Bearer {line_account.credentials['access_token']}"
    assert request.headers["x-line-retry-key"] == dispatch.retry_key
    assert body["to"] == USERS[0] and body["customAggregationUnits"] == ["broadcast_7"]
    assert [m["type"] for m in body["messages"]] == ["text", "template"]
    assert_line_valid(body, "PushMessageRequest")


@pytest.mark.django_db
def test_multicast_request_takes_the_first_recipients_contents(line_account, fake_line):
    fake = fake_line(httpx.Response(200, json={}))
    dispatch, messages = _dispatch(line_account, "multicast", USERS, [TEXT])
    messages = list(Message.objects.filter(dispatch=dispatch).order_by("identity", "position"))  # not loaded
    result = adapter_for("line").send(line_account, dispatch, messages)
    assert (result.outcome, result.provider_message_ids) == ("sent", [])
    request, body = fake.last
    assert request.url.path.endswith("/v2/bot/message/multicast")
    assert request.headers["x-line-retry-key"] == dispatch.retry_key
    assert body == {"to": USERS, "messages": [TEXT]}
    assert_line_valid(body, "MulticastRequest")


@pytest.mark.django_db
def test_pnp_request_hashes_the_phone_and_carries_the_delivery_tag_not_a_retry_key(line_account, fake_line):
    fake = fake_line(httpx.Response(200, json={}))
    tag = "1700000000" + "ab" * 32 + "order42"
    dispatch, messages = _dispatch(line_account, "pnp", USERS[:1], [TEXT],
                                   {"phone": "+818000001234", "delivery_tag": tag})
    result = adapter_for("line").send(line_account, dispatch, messages)
    assert result.outcome == "sent"
    request, body = fake.last
    assert request.url.path.endswith("/bot/pnp/push") and "/v2/" not in request.url.path
    assert body["to"] == pnp_phone_hash("+818000001234") == \
        "d41e0ad70dddfeb68f149ad6fc61574b9c5780ab7bcb2fba5517771ffbb2409c"
    assert request.headers["x-line-delivery-tag"] == tag
    assert "x-line-retry-key" not in request.headers
    assert_line_valid(body, "PnpMessagesRequest")


@pytest.mark.django_db
def test_409_with_accepted_request_id_is_sent_with_the_original_ids(line_account, fake_line):
    fake_line(httpx.Response(409, headers={"x-line-accepted-request-id": "abcdef01-2345"},
                             json={"message": "The retry key is already accepted",
                                   "sentMessages": [{"id": "111"}]}))
    dispatch, messages = _dispatch(line_account, "push", USERS[:1], [TEXT])
    result = adapter_for("line").send(line_account, dispatch, messages)
    assert (result.outcome, result.provider_message_ids, result.http_status) == ("sent", ["111"], 409)


@pytest.mark.django_db
def test_409_without_accepted_request_id_fails(line_account, fake_line):
    fake_line(httpx.Response(409, json={"message": "Conflict"}))
    dispatch, messages = _dispatch(line_account, "push", USERS[:1], [TEXT])
    assert adapter_for("line").send(line_account, dispatch, messages).outcome == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize(("response", "retry_after"), [
    (httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "Too Many Requests"}), 3.0),
    (httpx.Response(500, json={"message": "Internal server error"}), None),
    (httpx.Response(503, text="upstream down"), None),
    (httpx.ReadTimeout("timed out"), None),
    (httpx.ConnectError("refused"), None),
])
def test_429_5xx_and_network_errors_retry(line_account, fake_line, response, retry_after):
    fake_line(response)
    dispatch, messages = _dispatch(line_account, "push", USERS[:1], [TEXT])
    result = adapter_for("line").send(line_account, dispatch, messages)
    assert result.outcome == "retry"
    assert result.retry_after == retry_after
    assert result.error["message"]


@pytest.mark.django_db
def test_other_4xx_fail_with_lines_message_and_details(line_account, fake_line):
    details = [{"message": "Length must be between 0 and 5000", "property": "messages[0].text"}]
    fake_line(httpx.Response(400, json={"message": "The request body has 1 error(s)", "details": details}))
    dispatch, messages = _dispatch(line_account, "push", USERS[:1], [TEXT])
    result = adapter_for("line").send(line_account, dispatch, messages)
    assert result.outcome == "failed"
    assert result.error == {"status": 400, "message": "The request body has 1 error(s)", "details": details}


@pytest.mark.django_db
def test_profile_link_token_and_reply(line_account, fake_line):
    fake = fake_line(
        httpx.Response(200, json={"displayName": "LINE taro", "userId": USERS[0], "pictureUrl": "https://p/x"}),
        httpx.Response(200, json={"linkToken": "NMZTNuVrPTqlr2IF8Bnymkb7rXfYv5EY"}),
        httpx.Response(200, json={"sentMessages": [{"id": "9"}]}),
        httpx.Response(404, json={"message": "Not found"}),
    )
    assert adapter_for("line").fetch_profile(line_account, USERS[0]) == {"display_name": "LINE taro",
                                                                         "picture_url": "https://p/x"}
    assert fake.requests[-1].method == "GET" and fake.requests[-1].url.path.endswith(f"/v2/bot/profile/{USERS[0]}")
    assert client.issue_link_token(line_account, USERS[0]) == "NMZTNuVrPTqlr2IF8Bnymkb7rXfYv5EY"
    assert fake.requests[-1].method == "POST"
    assert fake.requests[-1].url.path.endswith(f"/v2/bot/user/{USERS[0]}/linkToken")
    result = client.reply(line_account, "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", [TEXT])
    request, body = fake.last
    assert result.outcome == "sent" and "x-line-retry-key" not in request.headers
    assert_line_valid(body, "ReplyMessageRequest")
    with pytest.raises(client.LineApiError) as caught:
        client.get_profile(line_account, USERS[1])
    assert caught.value.status == 404


def test_adapter_constants():
    adapter = adapter_for("line")
    assert adapter.channel == "line"
    assert (adapter.max_messages_per_request, adapter.max_recipients_per_request) == (5, 500)
    assert adapter.default_base_url() == "https://api.line.me"
