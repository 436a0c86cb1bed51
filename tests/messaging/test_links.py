"""Tracked links: tappable URLs are rewritten to /l/<token>; a click redirects and counts once per message."""

from urllib.parse import parse_qs, urlsplit

import pytest

from tidings.messaging.links import contents_have_links, links_prepare, tid_read
from tidings.messaging.models import Message, MessageEvent, TrackedLink
from tidings.messaging.services import message_send

pytestmark = pytest.mark.django_db

CARDS = [
    {"type": "text", "text": "See https://typed.example/in-text"},
    {"type": "buttons", "text": "Pick", "actions": [
        {"type": "uri", "label": "A", "uri": "https://a.example/x"},
        {"type": "uri", "label": "A again", "uri": "https://a.example/x"},
        {"type": "uri", "label": "Call", "uri": "tel:+85261234567"},
        {"type": "message", "label": "Hi", "text": "hi"},
    ], "quick_replies": [{"type": "uri", "label": "Q", "uri": "https://q.example"}]},
    {"type": "carousel", "columns": [
        {"text": "c1", "actions": [{"type": "uri", "label": "B", "uri": "https://b.example"}]},
    ]},
    {"type": "image_carousel", "columns": [
        {"image_url": "https://img.example/1.jpg", "action": {"type": "uri", "label": "C", "uri": "https://c.example"}},
    ]},
    {"type": "imagemap", "base_url": "https://img.example/map", "height": 1040, "actions": [
        {"type": "uri", "uri": "https://d.example", "area": {"x": 0, "y": 0, "width": 520, "height": 1040}},
    ]},
]


def test_actions_are_rewritten_and_text_is_left_alone(workspace, probe, probe_account, make_recipient):
    contact, _ = make_recipient(probe_account)
    coupon = {"type": "coupon", "title": "10% off", "button": {"type": "uri", "label": "Use", "uri": "https://e.example"}}
    messages = message_send(workspace=workspace, contact=contact, channel="probe", contents=[*CARDS[:4], coupon])
    messages += message_send(workspace=workspace, contact=contact, channel="probe", contents=[CARDS[4]])
    stored = {m.position + 10 * i: Message.objects.get(pk=m.pk).content for i, m in enumerate(messages)}
    text, buttons, carousel, image_carousel, coupon_out, imagemap = (Message.objects.get(pk=m.pk).content
                                                                     for m in messages)
    assert stored and text["text"] == "See https://typed.example/in-text"
    a, a_again, call, msg = buttons["actions"]
    assert a["uri"] == a_again["uri"] and a["uri"].startswith("http://testserver/l/")  # one link per URL
    assert call["uri"] == "tel:+85261234567" and msg == {"type": "message", "label": "Hi", "text": "hi"}
    assert buttons["quick_replies"][0]["uri"].startswith("http://testserver/l/")
    for uri in (carousel["columns"][0]["actions"][0]["uri"], image_carousel["columns"][0]["action"]["uri"],
                coupon_out["button"]["uri"], imagemap["actions"][0]["uri"]):
        assert uri.startswith("http://testserver/l/")
    links = dict(TrackedLink.objects.values_list("url", "message_id"))
    assert set(links) == {"https://a.example/x", "https://q.example", "https://b.example", "https://c.example",
                          "https://e.example", "https://d.example"}
    assert links["https://a.example/x"] == messages[1].pk


def test_contents_have_links():
    assert contents_have_links(CARDS)
    assert not contents_have_links([CARDS[0], {"type": "buttons", "text": "x", "actions": [
        {"type": "uri", "label": "tel", "uri": "tel:123"}]}])


def test_a_click_redirects_and_counts_once_per_message(client, workspace, probe, probe_account, make_recipient):
    contact, _ = make_recipient(probe_account)
    [_text, message] = message_send(workspace=workspace, contact=contact, channel="probe", contents=CARDS[:2])
    link = TrackedLink.objects.get(message=message, url="https://a.example/x")
    for _ in range(3):
        response = client.get(f"/l/{link.token}")
        # The destination gets a signed `_tid` naming the clicked message (the binding app's tracked-link binding).
        assert response.status_code == 302 and response["Location"].startswith("https://a.example/x?_tid=")
        tid = parse_qs(urlsplit(response["Location"]).query)["_tid"][0]
        assert tid_read(tid)["m"] == message.pk
        assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    other = TrackedLink.objects.get(message=message, url="https://q.example")
    assert client.get(f"/l/{other.token}").status_code == 302
    link.refresh_from_db()
    assert link.clicks == 3
    clicked = MessageEvent.objects.filter(message=message, kind="clicked")
    assert clicked.count() == 1 and clicked.get().data == {"url": "https://a.example/x"}


def test_unknown_token_is_404(client, db):
    assert client.get("/l/doesnotexist0000").status_code == 404


def test_links_prepare_keeps_the_input_intact():
    content = CARDS[2]
    message = Message(workspace_id=1)
    out, links = links_prepare(message, content)
    assert content["columns"][0]["actions"][0]["uri"] == "https://b.example"
    assert out["columns"][0]["actions"][0]["uri"] == f"http://testserver/l/{links[0].token}"
