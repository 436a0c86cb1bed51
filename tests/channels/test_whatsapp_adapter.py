"""The WhatsApp adapter's rendering and refusals: what the content model becomes on WhatsApp, what WhatsApp cannot
show (named by field), and the 24-hour window check the pipeline makes before storing a send."""

import datetime

import pytest

from tidings.channels.adapters.whatsapp import renderer
from tidings.channels.registry import adapter_for
from tidings.core.errors import ServiceError

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
POSTBACK = {"type": "postback", "label": "Buy", "data": "buy=oolong"}
MESSAGE = {"type": "message", "label": "More", "text": "more please"}
URI = {"type": "uri", "label": "Open shop", "uri": "https://shop.example"}


@pytest.fixture
def adapter():
    return adapter_for("whatsapp")


def refused(adapter, contents) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        adapter.validate(contents)
    return caught.value


def render(adapter, content):
    adapter.validate([content])
    return adapter.render(content)


def test_one_message_to_one_person_per_request_and_never_resent_blindly(adapter):
    assert adapter.max_messages_per_request == 1 and adapter.max_recipients_per_request == 1
    assert adapter.resend_safe(None) is False
    assert adapter.supported_kinds == {"text", "image", "video", "buttons", "list", "template"}


def test_text_image_video(adapter):
    assert render(adapter, {"type": "text", "text": "Hi"}) == {"type": "text",
                                                               "text": {"body": "Hi", "preview_url": False}}
    assert render(adapter, {"type": "text", "text": "See https://x.example"})["text"]["preview_url"] is True
    assert render(adapter, {"type": "image", "url": "https://cdn.example/a.jpg"}) == {
        "type": "image", "image": {"link": "https://cdn.example/a.jpg"}}
    assert render(adapter, {"type": "video", "url": "https://cdn.example/a.mp4", "preview_url": "https://x/p.jpg"}) == {
        "type": "video", "video": {"link": "https://cdn.example/a.mp4"}}


def test_a_text_is_at_most_4096_characters(adapter):
    render(adapter, {"type": "text", "text": "x" * 4096})
    error = refused(adapter, [{"type": "text", "text": "x" * 4097}])
    assert error.field == "messages[0].text" and "4096" in str(error)


@pytest.mark.parametrize("kind", [
    {"type": "carousel", "columns": [{"text": "a", "actions": [URI]}]},
    {"type": "coupon", "title": "10%", "button": URI},
    {"type": "imagemap", "base_url": "https://x", "height": 10,
     "actions": [{"type": "uri", "uri": "https://x", "area": {"x": 0, "y": 0, "width": 1, "height": 1}}]},
])
def test_kinds_whatsapp_cannot_show_are_refused_by_field(adapter, kind):
    error = refused(adapter, [{"type": "text", "text": "ok"}, kind])
    assert error.field == "messages[1].type" and "WhatsApp cannot show" in str(error)


def test_buttons_become_up_to_three_reply_buttons(adapter):
    out = render(adapter, {"type": "buttons", "title": "Oolong", "text": "Roasted", "actions": [POSTBACK, MESSAGE]})
    assert out == {"type": "interactive", "interactive": {
        "type": "button", "header": {"type": "text", "text": "Oolong"}, "body": {"text": "Roasted"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "buy=oolong", "title": "Buy"}},
                               {"type": "reply", "reply": {"id": "more please", "title": "More"}}]}}}


def test_an_image_button_message_keeps_its_title_in_the_body(adapter):
    out = render(adapter, {"type": "buttons", "title": "Oolong", "text": "Roasted",
                           "image_url": "https://cdn.example/o.jpg", "actions": [POSTBACK]})["interactive"]
    assert out["header"] == {"type": "image", "image": {"link": "https://cdn.example/o.jpg"}}
    assert out["body"] == {"text": "*Oolong*\nRoasted"}


def test_a_single_link_becomes_a_cta_url_button(adapter):
    out = render(adapter, {"type": "buttons", "text": "Our shop", "actions": [URI]})
    assert out["interactive"] == {"type": "cta_url", "body": {"text": "Our shop"}, "action": {
        "name": "cta_url", "parameters": {"display_text": "Open shop", "url": "https://shop.example"}}}


@pytest.mark.parametrize("actions,field,words", [
    ([POSTBACK, MESSAGE, {"type": "postback", "label": "C", "data": "c"}, {"type": "postback", "label": "D",
                                                                           "data": "d"}],
     "messages[0].actions", "at most 3 reply buttons"),
    ([POSTBACK, URI], "messages[0].actions[1]", "not a mix"),
    ([URI, {**URI, "label": "Other"}], "messages[0].actions[0]", "not a mix or several links"),
    ([{**POSTBACK, "label": "A label far too long here"}], "messages[0].actions[0].label", "at most 20"),
    ([{**URI, "label": "A label far too long here"}], "messages[0].actions[0].label", "at most 20"),
    ([POSTBACK, {**MESSAGE, "label": "Buy"}], "messages[0].actions[1].label", "differ"),
])
def test_button_messages_whatsapp_cannot_show_are_refused_naming_the_field(adapter, actions, field, words):
    error = refused(adapter, [{"type": "buttons", "text": "Pick", "actions": actions}])
    assert error.field == field and words in str(error)


def test_quick_replies_on_a_text_become_its_reply_buttons(adapter):
    out = render(adapter, {"type": "text", "text": "Keep it warm?", "quick_replies": [MESSAGE, POSTBACK]})
    assert out == {"type": "interactive", "interactive": {"type": "button", "body": {"text": "Keep it warm?"},
                                                          "action": {"buttons": [
                                                              {"type": "reply", "reply": {"id": "more please",
                                                                                          "title": "More"}},
                                                              {"type": "reply", "reply": {"id": "buy=oolong",
                                                                                          "title": "Buy"}}]}}}


@pytest.mark.parametrize("content,field", [
    ({"type": "image", "url": "https://x/a.jpg", "quick_replies": [MESSAGE]}, "messages[0].quick_replies"),
    ({"type": "text", "text": "x", "quick_replies": [MESSAGE, POSTBACK, {**MESSAGE, "label": "C"},
                                                     {**MESSAGE, "label": "D"}]}, "messages[0].quick_replies"),
    ({"type": "text", "text": "x", "quick_replies": [URI]}, "messages[0].quick_replies[0].type"),
    ({"type": "text", "text": "x" * 1025, "quick_replies": [MESSAGE]}, "messages[0].text"),
])
def test_quick_replies_whatsapp_cannot_show_are_refused(adapter, content, field):
    assert refused(adapter, [content]).field == field


def _list(**changes):
    content = {"type": "list", "header": "Menu", "text": "Pick a tea", "footer": "Acme", "button": "Teas",
               "sections": [{"title": "Green", "rows": [{"id": "sencha", "title": "Sencha", "description": "Steamed"}]},
                            {"title": "Dark", "rows": [{"id": "puerh", "title": "Pu-erh"}]}]}
    content.update(changes)
    return content


def test_a_list_becomes_an_interactive_list(adapter):
    assert render(adapter, _list()) == {"type": "interactive", "interactive": {
        "type": "list", "header": {"type": "text", "text": "Menu"}, "body": {"text": "Pick a tea"},
        "footer": {"text": "Acme"}, "action": {"button": "Teas", "sections": [
            {"title": "Green", "rows": [{"id": "sencha", "title": "Sencha", "description": "Steamed"}]},
            {"title": "Dark", "rows": [{"id": "puerh", "title": "Pu-erh"}]}]}}}


@pytest.mark.parametrize("changes,field", [
    ({"sections": [{"title": "A", "rows": [{"id": str(i), "title": "r"} for i in range(6)]},
                   {"title": "B", "rows": [{"id": f"b{i}", "title": "r"} for i in range(5)]}]},
     "messages[0].sections[1].rows[4]"),
    ({"sections": [{"title": f"S{i}", "rows": [{"id": str(i), "title": "r"}]} for i in range(11)]},
     "messages[0].sections"),
    ({"sections": [{"rows": [{"id": "1", "title": "x" * 25}]}]}, "messages[0].sections[0].rows[0].title"),
    ({"sections": [{"rows": [{"id": "1", "title": "a"}]}, {"rows": [{"id": "2", "title": "b"}]}]},
     "messages[0].sections[0].title"),
    ({"button": "x" * 21}, "messages[0].button"),
    ({"text": "x" * 4097}, "messages[0].text"),
    ({"header": "x" * 61}, "messages[0].header"),
    ({"sections": [{"rows": [{"id": "1", "title": "a"}, {"id": "1", "title": "b"}]}]},
     "messages[0].sections[0].rows[1].id"),
])
def test_lists_beyond_whatsapps_limits_are_refused(adapter, changes, field):
    assert refused(adapter, [_list(**changes)]).field == field


def test_a_list_body_may_be_4096_characters(adapter):
    render(adapter, _list(text="x" * 4096))


def test_a_template_fills_header_body_and_url_button_parameters(adapter):
    content = {"type": "template", "name": "order_ready", "language": "zh_TW", "parameters": ["Mei", "A12"],
               "header_parameters": ["A12"], "url_parameters": ["A12"]}
    previous = renderer._url_button_positions
    try:
        renderer.url_button_positions_resolver(lambda account, name, language: [2])
        out = render(adapter, content)
    finally:
        renderer._url_button_positions = previous
    assert out == {"type": "template", "template": {
        "name": "order_ready", "language": {"policy": "deterministic", "code": "zh_TW"}, "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "A12"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Mei"}, {"type": "text", "text": "A12"}]},
            {"type": "button", "sub_type": "url", "index": "2", "parameters": [{"type": "text", "text": "A12"}]}]}}
    # When the template is unknown (here: no account to look it up in) the URL buttons are taken to be the first.
    assert render(adapter, content)["template"]["components"][2]["index"] == "0"
    assert "components" not in render(adapter, {"type": "template", "name": "hello", "language": "en"})["template"]


@pytest.mark.parametrize("last_inbound,allowed", [
    (None, False), (NOW - datetime.timedelta(hours=25), False), (NOW - datetime.timedelta(hours=24), False),
    (NOW - datetime.timedelta(hours=23, minutes=59), True), (NOW - datetime.timedelta(minutes=1), True),
])
def test_outside_the_24_hour_window_only_a_template_may_be_sent(adapter, last_inbound, allowed):
    template = {"type": "template", "name": "hello", "language": "en"}
    adapter.check_recipient(contents=[template], options={}, last_inbound_at=last_inbound, now=NOW)
    contents = [template, {"type": "text", "text": "hi"}]
    if allowed:
        adapter.check_recipient(contents=contents, options={}, last_inbound_at=last_inbound, now=NOW)
        return
    with pytest.raises(ServiceError) as caught:
        adapter.check_recipient(contents=contents, options={}, last_inbound_at=last_inbound, now=NOW)
    assert caught.value.field == "messages[1].type"
    assert str(caught.value).startswith("Outside WhatsApp's 24-hour window only an approved template can be sent")
