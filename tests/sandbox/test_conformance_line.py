"""Conformance: every LINE request the suite sends to the fake validates against LINE's own OpenAPI documents,
and the official `line-bot-sdk` works against the fake unchanged.

The requests come from Tidings' LINE client (`channels/adapters/line/client.py`, with contents of every kind
rendered by the LINE renderer) and from direct calls for the endpoints it does not use. Each recorded
`SandboxRequest` is rebuilt and validated with openapi-core (method, path, parameters, headers, body).
"""

import datetime
import uuid

import pytest

from tidings.channels.adapters.line import client as line_client
from tidings.channels.adapters.line.renderer import render
from tidings.channels.adapters.line.signature import pnp_phone_hash
from tidings.channels.content import contents_parse
from tidings.sandbox.fake_line.webhooks import line_event_text, line_webhook_send
from tidings.sandbox.models import SandboxDelivery, SandboxRequest
from tests.support.openapi_conformance import (
    LINE_INSIGHT_SPEC,
    LINE_SPEC,
    assert_conforms,
    conformance_errors,
)

from .line_support import *  # noqa: F403
from .line_support import LineClient

EVERY_KIND = [
    {"type": "text", "text": "Spring tea is here", "quick_replies": [
        {"type": "message", "label": "Menu", "text": "menu"},
        {"type": "postback", "label": "Later", "data": "later=1", "display_text": "Later"}]},
    {"type": "image", "url": "https://cdn.example/tea.jpg"},
    {"type": "video", "url": "https://cdn.example/tea.mp4", "preview_url": "https://cdn.example/tea.jpg"},
    {"type": "buttons", "title": "Oolong", "text": "Roasted, 150 g", "image_url": "https://cdn.example/o.jpg",
     "actions": [{"type": "uri", "label": "Buy", "uri": "https://shop.example/oolong"},
                 {"type": "postback", "label": "Save", "data": "save=oolong"}]},
    {"type": "carousel", "columns": [
        {"title": "Oolong", "text": "Roasted", "actions": [{"type": "message", "label": "More", "text": "oolong"}]},
        {"title": "Pu-erh", "text": "Aged", "actions": [{"type": "message", "label": "More", "text": "puerh"}]}]},
]
MORE_KINDS = [
    {"type": "image_carousel", "columns": [
        {"image_url": "https://cdn.example/1.jpg", "action": {"type": "uri", "label": "Open", "uri": "https://x.example"}},
        {"image_url": "https://cdn.example/2.jpg", "action": {"type": "postback", "label": "Pick", "data": "p=2"}}]},
    {"type": "imagemap", "base_url": "https://cdn.example/map", "height": 1040, "actions": [
        {"type": "uri", "uri": "https://shop.example", "area": {"x": 0, "y": 0, "width": 520, "height": 1040}},
        {"type": "message", "text": "hello", "area": {"x": 520, "y": 0, "width": 520, "height": 1040}}]},
    {"type": "coupon", "title": "10% off", "description": "This week only", "code": "TEA10",
     "valid_until": "2026-12-31", "image_url": "https://cdn.example/c.jpg",
     "button": {"type": "uri", "label": "Redeem", "uri": "https://shop.example/redeem"}},
]


def spec_for(path: str):
    return LINE_INSIGHT_SPEC if path.startswith("/v2/bot/insight/") else LINE_SPEC


@pytest.mark.django_db
def test_every_request_to_the_fake_conforms_to_lines_openapi(line_account, make_persona, workspace):
    friend, other = make_persona("Friend"), make_persona("Other")
    batch_one, batch_two = render(contents_parse(EVERY_KIND)), render(contents_parse(MORE_KINDS))

    # Through Tidings' LINE client, as the pipeline sends.
    assert line_client.push(line_account, friend.line_user_id, batch_one, retry_key=str(uuid.uuid4()),
                            aggregation_unit="broadcast_spring").outcome == "sent"
    assert line_client.push(line_account, friend.line_user_id, batch_two).outcome == "sent"
    assert line_client.multicast(line_account, [friend.line_user_id, other.line_user_id], batch_one,
                                 retry_key=str(uuid.uuid4()), aggregation_unit="broadcast_spring").outcome == "sent"
    assert line_client.pnp_push(line_account, friend.phone, render(contents_parse(EVERY_KIND[:1])),
                                delivery_tag="tidings-" + uuid.uuid4().hex).outcome == "sent"
    assert line_client.pnp_push(line_account, other.phone, [{"type": "text", "text": "No tag"}]).outcome == "sent"
    event = line_event_text(friend, "hi")
    line_webhook_send(line_account, [event])
    assert line_client.reply(line_account, event["replyToken"], render(contents_parse(MORE_KINDS))).outcome == "sent"
    assert line_client.get_profile(line_account, friend.line_user_id)["userId"] == friend.line_user_id
    assert line_client.issue_link_token(line_account, friend.line_user_id)

    # Endpoints Tidings' client does not call.
    line = LineClient(line_account)
    assert line.get("/v2/bot/message/aggregation/info").status_code == 200
    assert line.get("/v2/bot/message/aggregation/list", {"limit": "10"}).status_code == 200
    today = datetime.date.today().strftime("%Y%m%d")
    assert line.get("/v2/bot/insight/message/event/aggregation",
                    {"customAggregationUnit": "broadcast_spring", "from": today, "to": today}).status_code == 200

    records = list(SandboxRequest.objects.filter(provider="line").order_by("id"))
    paths = {r.path for r in records}
    assert paths >= {"/v2/bot/message/push", "/v2/bot/message/multicast", "/v2/bot/message/reply", "/bot/pnp/push",
                     f"/v2/bot/profile/{friend.line_user_id}", f"/v2/bot/user/{friend.line_user_id}/linkToken",
                     "/v2/bot/message/aggregation/info", "/v2/bot/message/aggregation/list",
                     "/v2/bot/insight/message/event/aggregation"}
    assert all(r.response_status == 200 for r in records), [(r.path, r.response_status, r.response_body) for r in records]
    for record in records:
        assert_conforms(record, spec_for(record.path))
    assert SandboxDelivery.objects.filter(persona=friend, delivered=True).count() >= 14


@pytest.mark.django_db
def test_a_request_that_breaks_the_spec_fails_validation(line_account, make_persona):
    persona = make_persona()
    line = LineClient(line_account)
    line.post("/v2/bot/message/push", {"to": persona.line_user_id, "messages": [{"type": "text", "text": "ok"}]},
              headers={"X-Line-Retry-Key": "not-a-uuid"})
    line.post("/v2/bot/message/multicast", {"messages": [{"type": "text", "text": "no recipients"}]})
    line.post("/bot/pnp/push", {"to": pnp_phone_hash(persona.phone), "messages": [{"type": "text", "text": "x"}]},
              headers={"X-Line-Delivery-Tag": "too-short"})
    LineClient(line_account, token="").get(f"/v2/bot/profile/{persona.line_user_id}")
    line.get("/v2/bot/insight/message/event/aggregation", {"customAggregationUnit": "bad unit!", "from": "2024"})
    records = list(SandboxRequest.objects.order_by("id"))
    assert len(records) == 5
    for record in records:
        errors = conformance_errors(record, spec_for(record.path))
        assert errors, f"{record.method} {record.path} should not validate"
        with pytest.raises(AssertionError):
            assert_conforms(record, spec_for(record.path))
    # And the same path with a well-formed request does validate: the failures above are the requests' own.
    line.post("/v2/bot/message/push", {"to": persona.line_user_id, "messages": [{"type": "text", "text": "ok"}]},
              headers={"X-Line-Retry-Key": str(uuid.uuid4())})
    assert_conforms(SandboxRequest.objects.latest("id"), LINE_SPEC)


# --- the official SDK, over a real socket ------------------------------------------------------------------------


@pytest.fixture
def sdk(live_server, settings, line_account):
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

    settings.BASE_URL = live_server.url
    configuration = Configuration(access_token=line_account.credentials["access_token"],
                                  host=f"{live_server.url}/sandbox/line/{line_account.public_id}")
    with ApiClient(configuration) as api_client:
        yield MessagingApi(api_client)


@pytest.mark.django_db(transaction=True)
def test_official_sdk_can_push_multicast_and_pnp_push_through_the_fake(sdk, line_account, make_persona):
    from linebot.v3.messaging import (
        ApiException,
        MulticastRequest,
        PnpMessagesRequest,
        PushMessageRequest,
        TextMessage,
    )

    friend, other = make_persona("Friend"), make_persona("Other")
    key = str(uuid.uuid4())
    pushed = sdk.push_message(PushMessageRequest(to=friend.line_user_id, messages=[TextMessage(text="Hi from SDK")]),
                              x_line_retry_key=key)
    assert pushed.sent_messages[0].id
    with pytest.raises(ApiException) as repeat:
        sdk.push_message(PushMessageRequest(to=friend.line_user_id, messages=[TextMessage(text="Hi from SDK")]),
                         x_line_retry_key=key)
    assert repeat.value.status == 409
    assert repeat.value.headers["x-line-accepted-request-id"]

    sdk.multicast(MulticastRequest(to=[friend.line_user_id, other.line_user_id],
                                   messages=[TextMessage(text="To you both")]), x_line_retry_key=str(uuid.uuid4()))
    tag = "tidings-" + uuid.uuid4().hex
    response = sdk.push_messages_by_phone_with_http_info(
        PnpMessagesRequest(to=pnp_phone_hash(other.phone), messages=[TextMessage(text="Order shipped")]),
        x_line_delivery_tag=tag)
    assert response.status_code == 200

    with pytest.raises(ApiException) as refused:
        sdk.push_messages_by_phone(PnpMessagesRequest(to="nope", messages=[TextMessage(text="x")]))
    assert refused.value.status == 400

    got = [(d.persona.name, d.kind, d.payload["text"]) for d in SandboxDelivery.objects.order_by("id")]
    assert got == [("Friend", "push", "Hi from SDK"), ("Friend", "multicast", "To you both"),
                   ("Other", "multicast", "To you both"), ("Other", "pnp", "Order shipped")]
    for record in SandboxRequest.objects.filter(response_status__lt=400):
        assert_conforms(record, LINE_SPEC)
