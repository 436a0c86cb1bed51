"""LINE webhook events (webhook.yml shapes) → InboundEvent."""

import datetime

import pytest

from tidings.channels.adapters.line.parser import parse_event, split_webhook

USER = "U4af4980629" + "0" * 22


def _event(kind, **fields):
    return {"type": kind, "mode": "active", "timestamp": 1462629479859, "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZR",
            "deliveryContext": {"isRedelivery": True}, "source": {"type": "user", "userId": USER},
            "replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", **fields}


@pytest.mark.parametrize(("message", "content"), [
    ({"type": "text", "id": "1", "text": "Hello", "quoteToken": "q"}, {"type": "text", "text": "Hello"}),
    ({"type": "image", "id": "2", "quoteToken": "q", "contentProvider": {"type": "line"},
      "imageSet": {"id": "E005D41A", "index": 1, "total": 2}},
     {"type": "image", "image_set": {"id": "E005D41A", "index": 1, "total": 2}}),
    ({"type": "image", "id": "3", "quoteToken": "q", "contentProvider": {
        "type": "external", "originalContentUrl": "https://x.example/a.jpg", "previewImageUrl": "https://x.example/p.jpg"}},
     {"type": "image", "url": "https://x.example/a.jpg", "preview_url": "https://x.example/p.jpg"}),
    ({"type": "video", "id": "4", "quoteToken": "q", "duration": 60000, "contentProvider": {"type": "line"}},
     {"type": "video", "duration_ms": 60000}),
    ({"type": "audio", "id": "5", "duration": 60000, "contentProvider": {"type": "line"}},
     {"type": "audio", "duration_ms": 60000}),
    ({"type": "file", "id": "6", "fileName": "receipt.pdf", "fileSize": 2138},
     {"type": "file", "file_name": "receipt.pdf", "file_size": 2138}),
    ({"type": "location", "id": "7", "title": "my location", "address": "1-3 Kioicho, Chiyoda-ku, Tokyo",
      "latitude": 35.67966, "longitude": 139.73669},
     {"type": "location", "title": "my location", "address": "1-3 Kioicho, Chiyoda-ku, Tokyo",
      "latitude": 35.67966, "longitude": 139.73669}),
    ({"type": "sticker", "id": "8", "quoteToken": "q", "packageId": "1", "stickerId": "1",
      "stickerResourceType": "STATIC", "keywords": ["Happy"]},
     {"type": "sticker", "package_id": "1", "sticker_id": "1", "resource_type": "STATIC", "keywords": ["Happy"]}),
])
def test_message_kinds(message, content):
    event = parse_event(None, _event("message", message=message))
    assert event.kind == "message"
    assert event.content == content
    assert event.provider_message_id == message["id"]
    assert event.user_id == USER and event.reply_token == "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"
    assert event.occurred_at == datetime.datetime(2016, 5, 7, 13, 57, 59, 859000, tzinfo=datetime.UTC)
    assert event.data["is_redelivery"] is True


def test_other_kinds():
    follow = parse_event(None, _event("follow", follow={"isUnblocked": True}))
    assert (follow.kind, follow.data["is_unblocked"]) == ("follow", True)
    assert parse_event(None, _event("unfollow")).kind == "unfollow"
    postback = parse_event(None, _event("postback", postback={"data": "a=1", "params": {"date": "2025-01-01"}}))
    assert (postback.kind, postback.data["data"], postback.data["params"]) == ("postback", "a=1",
                                                                                {"date": "2025-01-01"})
    link = parse_event(None, _event("accountLink", link={"result": "failed", "nonce": "n0nce"}))
    assert (link.kind, link.data["result"], link.data["nonce"]) == ("account_link", "failed", "n0nce")
    delivery = _event("delivery", delivery={"data": "tag-1234567890abcdef"})
    del delivery["source"], delivery["replyToken"]
    parsed = parse_event(None, delivery)
    assert (parsed.kind, parsed.data["delivery_data"], parsed.user_id) == ("delivery", "tag-1234567890abcdef", None)
    edited = parse_event(None, _event("messageEdited", message={"type": "text", "id": "1", "text": "x"}))
    assert (edited.kind, edited.raw_type) == ("unknown", "messageEdited")


def test_split_keeps_one_item_per_event_and_refuses_malformed_bodies():
    body = b'{"destination": "x", "events": [{"type": "follow", "webhookEventId": "A"}, {"type": "unfollow"}]}'
    items = split_webhook(body)
    assert [(i.provider_event_id, i.event_type) for i in items][0] == ("A", "follow")
    assert items[1].provider_event_id.startswith("sha256:")  # no id: a content hash still dedups repeats
    assert split_webhook(b'{"destination": "x", "events": []}') == []
    for bad in (b"", b"{", b'{"events": null}', b'{"events": [{"no": "type"}]}', b'"events"'):
        with pytest.raises(ValueError):
            split_webhook(bad)
