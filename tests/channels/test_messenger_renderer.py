"""Content → Messenger / Instagram Send API messages, Meta's limits refused with the field named, and the 24-hour
window / message tag rules (no database needed)."""

import datetime

import pytest

from tidings.channels.adapters.instagram import InstagramAdapter
from tidings.channels.adapters.messenger import MessengerAdapter
from tidings.core.errors import ServiceError

MESSENGER, INSTAGRAM = MessengerAdapter(), InstagramAdapter()
NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)


def refused(adapter, contents) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        adapter.validate(contents)
    return error.value


def uri(label="Open", target="https://acme.test"):
    return {"type": "uri", "label": label, "uri": target}


def postback(label="Yes", data="yes"):
    return {"type": "postback", "label": label, "data": data}


def test_channel_settings():
    assert (MESSENGER.channel, INSTAGRAM.channel) == ("messenger", "instagram")
    for adapter in (MESSENGER, INSTAGRAM):
        assert adapter.max_messages_per_request == adapter.max_recipients_per_request == 1
        assert adapter.resend_safe(None) is False
        assert adapter.default_base_url() == "https://graph.facebook.com"


def test_text_and_media():
    assert MESSENGER.render({"type": "text", "text": "Hi"}) == {"text": "Hi"}
    video = {"type": "video", "url": "https://a.test/v.mp4", "preview_url": "https://a.test/p.jpg"}
    assert MESSENGER.render(video) == {"attachment": {"type": "video", "payload": {"url": "https://a.test/v.mp4"}}}


def test_buttons_become_a_button_template_with_message_actions_as_postbacks():
    content = {"type": "buttons", "text": "Pick one",
               "actions": [uri(), postback(), {"type": "message", "label": "Say hi", "text": "hi there"}]}
    assert MESSENGER.render(content) == {"attachment": {"type": "template", "payload": {
        "template_type": "button", "text": "Pick one", "buttons": [
            {"type": "web_url", "url": "https://acme.test", "title": "Open"},
            {"type": "postback", "title": "Yes", "payload": "yes"},
            {"type": "postback", "title": "Say hi", "payload": "hi there"}]}}}


def test_a_carousel_becomes_a_generic_template():
    content = {"type": "carousel", "columns": [
        {"title": "Oolong", "text": "HK$25", "image_url": "https://a.test/o.jpg", "actions": [postback()]},
        {"text": "No title here", "actions": [uri()]}]}
    elements = MESSENGER.render(content)["attachment"]["payload"]["elements"]
    assert elements[0] == {"title": "Oolong", "subtitle": "HK$25", "image_url": "https://a.test/o.jpg",
                           "buttons": [{"type": "postback", "title": "Yes", "payload": "yes"}]}
    assert elements[1] == {"title": "No title here",
                           "buttons": [{"type": "web_url", "url": "https://acme.test", "title": "Open"}]}


def test_quick_replies_on_any_message():
    content = {"type": "image", "url": "https://a.test/i.jpg",
               "quick_replies": [postback("Red", "colour=red"), {"type": "message", "label": "Blue", "text": "blue"}]}
    assert MESSENGER.render(content)["quick_replies"] == [
        {"content_type": "text", "title": "Red", "payload": "colour=red"},
        {"content_type": "text", "title": "Blue", "payload": "blue"}]


@pytest.mark.parametrize("adapter", [MESSENGER, INSTAGRAM], ids=["messenger", "instagram"])
@pytest.mark.parametrize("content, name", [
    ({"type": "imagemap", "base_url": "https://a.test/m", "height": 1040,
      "actions": [{"type": "uri", "uri": "https://a.test", "area": {"x": 0, "y": 0, "width": 10, "height": 10}}]},
     "an imagemap"),
    ({"type": "coupon", "title": "10% off", "button": uri()}, "a coupon card"),
    ({"type": "list", "text": "Menu", "button": "Open", "sections": [{"rows": [{"id": "1", "title": "Tea"}]}]},
     "a list message"),
    ({"type": "template", "name": "order_update", "language": "en"}, "a WhatsApp template"),
    ({"type": "image_carousel", "columns": [{"image_url": "https://a.test/i.jpg", "action": uri()}]},
     "an image carousel"),
])
def test_kinds_these_channels_cannot_show_are_refused(adapter, content, name):
    error = refused(adapter, [{"type": "text", "text": "Hi"}, content])
    assert error.field == "messages[1].type"
    assert error.message == f"{adapter.limits.name} cannot show {name}; send it on another channel."


@pytest.mark.parametrize("content, field, words", [
    ({"type": "text", "text": "x" * 2001}, "messages[0].text", "2000"),
    ({"type": "buttons", "text": "x" * 641, "actions": [uri()]}, "messages[0].text", "640"),
    ({"type": "buttons", "title": "T" * 20, "text": "x" * 620, "actions": [uri()]}, "messages[0].text", "640"),
    ({"type": "buttons", "text": "Hi", "actions": [uri(), uri(), uri(), uri()]}, "messages[0].actions",
     "at most 3 buttons"),
    ({"type": "buttons", "text": "Hi", "actions": [uri(label="L" * 21)]}, "messages[0].actions[0].label", "20"),
    ({"type": "buttons", "text": "Hi", "actions": [postback(data="d" * 1001)]}, "messages[0].actions[0].data", "1000"),
    ({"type": "buttons", "text": "Hi", "actions": [uri(target="line://ti/p/@acme")]}, "messages[0].actions[0].uri",
     "http"),
    ({"type": "buttons", "text": "Hi", "actions": [uri(target="tel:85230001234")]}, "messages[0].actions[0].uri",
     "international"),
    ({"type": "buttons", "text": "x" * 81, "image_url": "https://a.test/i.jpg", "actions": [uri()]},
     "messages[0].text", "80"),
    ({"type": "carousel", "columns": [{"text": "c", "actions": [uri()]}] * 11}, "messages[0].columns", "10 cards"),
    ({"type": "carousel", "columns": [{"title": "t" * 81, "text": "c", "actions": [uri()]}]},
     "messages[0].columns[0].title", "80"),
    ({"type": "carousel", "columns": [{"title": "t", "text": "c" * 81, "actions": [uri()]}]},
     "messages[0].columns[0].text", "80"),
    ({"type": "carousel", "columns": [{"text": "c", "image_url": "ftp://a.test/i.jpg", "actions": [uri()]}]},
     "messages[0].columns[0].image_url", "http"),
    ({"type": "image", "url": "/relative.jpg"}, "messages[0].url", "http"),
    ({"type": "text", "text": "Hi", "quick_replies": [postback(str(n)) for n in range(14)]},
     "messages[0].quick_replies", "13"),
    ({"type": "text", "text": "Hi", "quick_replies": [postback("q" * 21)]}, "messages[0].quick_replies[0].label",
     "20"),
    ({"type": "text", "text": "Hi", "quick_replies": [postback(), uri()]}, "messages[0].quick_replies[1].type",
     "cannot open a link"),
])
def test_messenger_limits_are_refused_naming_the_field(content, field, words):
    error = refused(MESSENGER, [content])
    assert error.field == field
    assert words in error.message


def test_limits_at_the_edge_pass():
    MESSENGER.validate([
        {"type": "text", "text": "x" * 2000},
        {"type": "buttons", "text": "x" * 640, "actions": [uri(label="L" * 20), postback(), uri(target="tel:+852")]},
        {"type": "carousel", "columns": [{"title": "t" * 80, "text": "c" * 80, "actions": [uri()] * 3}] * 10},
        {"type": "text", "text": "Hi", "quick_replies": [postback("q" * 20)] * 13},
    ])


def test_instagram_counts_text_in_bytes_and_has_no_call_button():
    INSTAGRAM.validate([{"type": "text", "text": "x" * 1000}, {"type": "text", "text": "茶" * 333}])
    error = refused(INSTAGRAM, [{"type": "text", "text": "茶" * 334}])
    assert error.field == "messages[0].text" and "1000 bytes" in error.message and "1002" in error.message
    error = refused(INSTAGRAM, [{"type": "buttons", "text": "Hi", "actions": [uri(target="tel:+85230001234")]}])
    assert error.field == "messages[0].actions[0].uri" and "no call buttons" in error.message
    MESSENGER.validate([{"type": "text", "text": "茶" * 2000}])  # Messenger counts characters


# --- the window and tags -------------------------------------------------------------------------------------


def check(adapter, *, ago=None, tag=None):
    last = NOW - ago if ago is not None else None
    adapter.check_recipient(contents=[{"type": "text", "text": "Hi"}], options={"tag": tag} if tag else {},
                            last_inbound_at=last, now=NOW)


def check_refused(adapter, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as error:
        check(adapter, **kwargs)
    assert error.value.field == "tag"
    return error.value


HOURS = datetime.timedelta(hours=1)
DAYS = datetime.timedelta(days=1)


def test_inside_the_window_anything_goes_with_or_without_an_allowed_tag():
    check(MESSENGER, ago=23 * HOURS)
    check(MESSENGER, ago=23 * HOURS, tag="ACCOUNT_UPDATE")
    check(INSTAGRAM, ago=1 * HOURS, tag="HUMAN_AGENT")


def test_outside_the_window_a_tag_is_needed():
    error = check_refused(MESSENGER, ago=25 * HOURS)
    assert "25 hours ago" in error.message
    assert "CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE, ACCOUNT_UPDATE, HUMAN_AGENT" in error.message
    assert "not written" in check_refused(MESSENGER).message
    for tag in ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"):
        check(MESSENGER, ago=30 * DAYS, tag=tag)
        check(MESSENGER, tag=tag)  # Meta allows update tags to anyone with a thread


def test_human_agent_is_seven_days():
    check(MESSENGER, ago=7 * DAYS - HOURS, tag="HUMAN_AGENT")
    assert "7 days" in check_refused(MESSENGER, ago=7 * DAYS, tag="HUMAN_AGENT").message
    assert "7 days" in check_refused(INSTAGRAM, tag="HUMAN_AGENT").message


@pytest.mark.parametrize("tag", ["PROMOTION", "NON_PROMOTIONAL_SUBSCRIPTION", "human_agent", "UPDATE"])
def test_other_tags_are_refused_whatever_the_window(tag):
    error = check_refused(MESSENGER, ago=HOURS, tag=tag)
    assert error.message.startswith(f"{tag} is not a message tag Messenger accepts")


def test_instagram_takes_human_agent_only():
    error = check_refused(INSTAGRAM, ago=2 * DAYS, tag="POST_PURCHASE_UPDATE")
    assert "Use one of HUMAN_AGENT" in error.message
    assert "(HUMAN_AGENT)" in check_refused(INSTAGRAM, ago=2 * DAYS).message


def test_the_request_body_says_how_the_message_may_go():
    text = {"type": "text", "text": "Hi"}
    assert MESSENGER.request_body("123", text, {}) == {
        "recipient": {"id": "123"}, "messaging_type": "RESPONSE", "message": {"text": "Hi"}}
    assert MESSENGER.request_body("123", text, {"tag": "ACCOUNT_UPDATE", "recipient": 9}) == {
        "recipient": {"id": "123"}, "messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE",
        "message": {"text": "Hi"}}
