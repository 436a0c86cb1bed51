"""Webhooks back from the fake LINE: shaped like LINE's samples, signed, sent later through durable timers."""

import datetime
import json
import re

import pytest

from tidings.channels.adapters.line.signature import pnp_phone_hash
from tidings.channels.models import WebhookEvent
from tidings.sandbox.fake_line.ids import bot_user_id, ulid
from tidings.sandbox.fake_line.services import sandbox_line_click, sandbox_line_impression
from tidings.sandbox.fake_line.webhooks import (
    line_event_account_link,
    line_event_delivery,
    line_event_follow,
    line_event_postback,
    line_event_text,
    line_event_unfollow,
    line_webhook_send,
)
from tidings.sandbox.models import SandboxDelivery
from tidings.timers.models import Timer, TimerState
from tidings.timers.services import clock_advance

from .line_support import *  # noqa: F403
from .line_support import text
from tests.support.reference import REFERENCE

pytestmark = pytest.mark.django_db

SAMPLES = REFERENCE / "line" / "samples"
PNP = "/bot/pnp/push"
TAG = "1503455293" + "9884E28681A7D668CEA94C147C716C0EC9DFE8B80B44EF3B57F6BD0602366BC3" + "menu01"


def sample_event(name, index=0):
    return json.loads((SAMPLES / name).read_text())["events"][index]


def shape(value):
    """The structure of a JSON value: dict keys (recursively) and value types, not the values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def test_event_builders_match_lines_samples_key_for_key(make_persona, workspace):
    persona = make_persona()
    cases = [
        (line_event_follow(persona), sample_event("follow.json")),
        (line_event_follow(persona, unblocked=True), sample_event("follow_unblocked.json")),
        (line_event_unfollow(persona), sample_event("unfollow.json")),
        (line_event_text(persona, "Hello, world"), sample_event("webhook_mixed_message_follow_unfollow.json")),
        (line_event_postback(persona, "storeId=12345", params={"datetime": "2017-12-25T01:00"}),
         sample_event("postback_datetimepicker.json")),
        (line_event_account_link(persona, "n" * 20), sample_event("account_link.json")),
        (line_event_delivery(workspace, TAG), sample_event("delivery_pnp_with_delivery_tag.json")),
    ]
    for built, sample in cases:
        if built["type"] == "message":
            # Today's text message events also carry a quote token (the group sample shows it; the old one not).
            sample = {**sample, "message": {**sample["message"], "quoteToken": "q"}}
        assert shape(built) == shape(sample), built["type"]
    assert line_event_follow(persona, unblocked=True)["follow"] == {"isUnblocked": True}
    assert "source" not in line_event_account_link(persona, "n" * 20, result="failed")


def test_event_ids_and_tokens_look_like_lines(make_persona):
    persona = make_persona()
    event = line_event_text(persona, "hi")
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", event["webhookEventId"])
    assert re.fullmatch(r"[0-9a-f]{32}", event["replyToken"])
    assert event["message"]["id"].isdigit() and len(event["message"]["id"]) == 18
    assert event["source"] == {"type": "user", "userId": persona.line_user_id}
    # ULIDs sort by time.
    assert ulid(1_000) < ulid(2_000)


def test_send_posts_a_signed_body_to_the_accounts_webhook_url(line_account, make_persona, webhook_catcher):
    persona = make_persona()
    response = line_webhook_send(line_account, [line_event_follow(persona)])
    assert response.status_code == 200
    [call] = webhook_catcher.calls
    assert call["public_id"] == str(line_account.public_id)
    assert call["content_type"].startswith("application/json")
    assert call["user_agent"].startswith("LineBotWebhook/")
    webhook_catcher.assert_signed(line_account)
    body = json.loads(call["body"])
    assert body["destination"] == bot_user_id(line_account)
    assert re.fullmatch(r"U[0-9a-f]{32}", body["destination"])
    assert body["events"][0]["type"] == "follow"


def test_pnp_delivery_webhook_arrives_only_after_the_clock_moves(line, make_persona, workspace, webhook_catcher):
    friend = make_persona("Friend")
    r = line.post(PNP, {"to": pnp_phone_hash(friend.phone), "messages": [text()]},
                  headers={"X-Line-Delivery-Tag": TAG})
    assert r.status_code == 200
    assert webhook_catcher.calls == []
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=4))
    assert webhook_catcher.calls == []
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=1))
    [event] = webhook_catcher.events()
    assert event["type"] == "delivery"
    assert event["delivery"] == {"data": TAG}
    assert event["source"] == {"type": "user", "userId": friend.line_user_id}
    assert event["mode"] == "active" and event["deliveryContext"] == {"isRedelivery": False}
    webhook_catcher.assert_signed(line.account)


def test_pnp_delivery_without_tag_carries_the_hash_and_no_source_for_non_friends(
    line, make_persona, workspace, webhook_catcher
):
    stranger = make_persona("Stranger", friend=False)
    digest = pnp_phone_hash(stranger.phone)
    assert line.post(PNP, {"to": digest, "messages": [text()]}).status_code == 200
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    [event] = webhook_catcher.events()
    assert event["delivery"] == {"data": digest}
    assert "source" not in event


def test_pnp_to_a_blocker_is_200_and_never_a_delivery_webhook(line, make_persona, workspace, webhook_catcher):
    blocker = make_persona("Blocker", blocked=True)
    r = line.post(PNP, {"to": pnp_phone_hash(blocker.phone), "messages": [text()]})
    assert r.status_code == 200
    assert [d.delivered for d in SandboxDelivery.objects.filter(persona=blocker)] == [False]
    clock_advance(workspace=workspace, by=datetime.timedelta(days=2))
    assert webhook_catcher.calls == []


def test_a_webhook_tidings_refuses_is_retried_as_a_redelivery(line, make_persona, workspace, webhook_catcher):
    friend = make_persona()
    webhook_catcher.status = 500
    line.post(PNP, {"to": pnp_phone_hash(friend.phone), "messages": [text()]})
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    # (The sweeper re-runs a failed batch one timer at a time, so the refused webhook may have gone out twice.)
    refused = len(webhook_catcher.calls)
    assert refused >= 1
    timer = Timer.objects.get(kind="sandbox.line_webhook")
    assert timer.state == TimerState.PENDING
    webhook_catcher.status = 200
    clock_advance(workspace=workspace, by=datetime.timedelta(minutes=1))
    events = webhook_catcher.events()
    assert len(events) == refused + 1
    assert len({e["webhookEventId"] for e in events}) == 1
    assert events[0]["deliveryContext"] == {"isRedelivery": False}
    assert events[-1]["deliveryContext"] == {"isRedelivery": True}
    timer.refresh_from_db()
    assert timer.state == TimerState.DONE


def test_reply_token_from_a_webhook_works_once_within_a_minute(line, make_persona, workspace, webhook_catcher):
    persona = make_persona()
    event = line_event_text(persona, "Do you have oolong?")
    line_webhook_send(line.account, [event])
    r = line.post("/v2/bot/message/reply", {"replyToken": event["replyToken"], "messages": [text("Yes!")]})
    assert r.status_code == 200 and r.json()["sentMessages"][0]["id"]
    assert [(d.kind, d.payload["text"]) for d in SandboxDelivery.objects.filter(persona=persona)] == [("reply", "Yes!")]
    again = line.post("/v2/bot/message/reply", {"replyToken": event["replyToken"], "messages": [text()]})
    assert again.status_code == 400 and again.json() == {"message": "Invalid reply token"}

    late = line_event_postback(persona, "action=buy")
    line_webhook_send(line.account, [late])
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=61))
    r = line.post("/v2/bot/message/reply", {"replyToken": late["replyToken"], "messages": [text()]})
    assert r.status_code == 400


def test_unit_statistics_count_deliveries_impressions_and_clicks(line, make_persona, settings):
    settings.SANDBOX_LINE_PRIVACY_THRESHOLD = 1  # LINE hides counts under 20; the sandbox default does the same
    a, b = make_persona("A"), make_persona("B")
    body = {"to": [a.line_user_id, b.line_user_id], "messages": [text("1"), text("2")],
            "customAggregationUnits": ["spring_sale"]}
    assert line.post("/v2/bot/message/multicast", body).status_code == 200
    line.post("/v2/bot/message/push", {"to": a.line_user_id, "messages": [text()], "customAggregationUnits": ["other"]})
    a1, a2 = SandboxDelivery.objects.filter(persona=a, request__body__has_key="customAggregationUnits").order_by("id")[:2]
    b1 = SandboxDelivery.objects.filter(persona=b).order_by("id").first()
    sandbox_line_impression(a1)
    sandbox_line_impression(a1)
    sandbox_line_impression(b1)
    sandbox_line_impression(a2)
    sandbox_line_click(a2, "https://shop.example/spring")

    assert line.get("/v2/bot/message/aggregation/info").json() == {"numOfCustomAggregationUnits": 2}
    assert line.get("/v2/bot/message/aggregation/list").json() == {"customAggregationUnits": ["spring_sale", "other"]}
    page = line.get("/v2/bot/message/aggregation/list", {"limit": "1"}).json()
    assert page == {"customAggregationUnits": ["spring_sale"], "next": "1"}
    assert line.get("/v2/bot/message/aggregation/list", {"limit": "1", "start": "1"}).json() == {
        "customAggregationUnits": ["other"]}

    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9))).strftime("%Y%m%d")
    r = line.get("/v2/bot/insight/message/event/aggregation",
                 {"customAggregationUnit": "spring_sale", "from": today, "to": today})
    assert r.status_code == 200
    stats = r.json()
    assert stats["overview"] == {"uniqueImpression": 2, "uniqueClick": 1, "uniqueMediaPlayed": None,
                                 "uniqueMediaPlayed100Percent": None}
    assert [(m["seq"], m["impression"], m["uniqueImpression"]) for m in stats["messages"]] == [(1, 3, 2), (2, 1, 1)]
    assert stats["clicks"] == [{"seq": 2, "url": "https://shop.example/spring", "click": 1, "uniqueClick": 1,
                                "uniqueClickOfRequest": 1}]


def test_unit_statistics_hide_small_counts_and_refuse_bad_dates(line, make_persona):
    a = make_persona()
    line.post("/v2/bot/message/push", {"to": a.line_user_id, "messages": [text()], "customAggregationUnits": ["u1"]})
    sandbox_line_impression(SandboxDelivery.objects.get(persona=a))
    today = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=9))).strftime("%Y%m%d")
    stats = line.get("/v2/bot/insight/message/event/aggregation",
                     {"customAggregationUnit": "u1", "from": today, "to": today}).json()
    assert stats["overview"]["uniqueImpression"] is None  # fewer than 20 users: LINE shows null
    r = line.get("/v2/bot/insight/message/event/aggregation",
                 {"customAggregationUnit": "u1", "from": "20240101", "to": "20240301"})
    assert r.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_pnp_delivery_reaches_the_real_receiver_as_a_stored_event(line_account, make_persona, workspace):
    """End to end with Tidings' own /webhooks/line/<id>: the fake's signed webhook is accepted and stored once."""
    from .line_support import LineClient

    friend = make_persona("Friend")
    line = LineClient(line_account)
    assert line.post(PNP, {"to": pnp_phone_hash(friend.phone), "messages": [text()]},
                     headers={"X-Line-Delivery-Tag": TAG}).status_code == 200
    clock_advance(workspace=workspace, by=datetime.timedelta(seconds=5))
    stored = list(WebhookEvent.objects.filter(account=line_account))
    assert [(e.event_type, e.payload["delivery"]["data"]) for e in stored] == [("delivery", TAG)]
    assert Timer.objects.get(kind="sandbox.line_webhook").state == TimerState.DONE
