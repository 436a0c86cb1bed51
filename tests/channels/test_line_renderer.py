"""Content → LINE message objects, validated against `Message` in messaging-api.yml; LINE's limits refused with
a field path (C4)."""

import copy

import pytest

from tidings.channels.content import KINDS as ALL_KINDS
from tidings.channels.content import contents_parse
from tidings.channels.registry import adapter_for
from tidings.core.errors import ServiceError

from .line_schema import assert_line_valid, line_errors

IMG = "https://cdn.example.com/tea.jpg"
URI = {"type": "uri", "label": "Shop now", "uri": "https://shop.example.com/tea"}
POSTBACK = {"type": "postback", "label": "Reserve", "data": "action=reserve&item=42", "display_text": "Reserve it"}
MESSAGE = {"type": "message", "label": "Yes", "text": "Yes please"}
QUICK = [MESSAGE, POSTBACK, URI]

# WhatsApp's list and template kinds have no LINE rendering: LINE refuses them (test below).
KINDS = tuple(k for k in ALL_KINDS if k not in ("list", "template"))

EXAMPLES = {
    "text": {"type": "text", "text": "New oolong in stock https://shop.example.com", "quick_replies": QUICK},
    "image": {"type": "image", "url": IMG, "preview_url": "https://cdn.example.com/tea-small.jpg"},
    "video": {"type": "video", "url": "https://cdn.example.com/brew.mp4", "preview_url": IMG},
    "buttons": {"type": "buttons", "title": "Autumn tea", "text": "Three new blends", "image_url": IMG,
                "actions": [URI, POSTBACK, MESSAGE], "alt_text": "Autumn tea: three new blends"},
    "carousel": {"type": "carousel", "columns": [
        {"title": "Oolong", "text": "HK$120", "image_url": IMG, "actions": [URI, POSTBACK]},
        {"title": "Pu'er", "text": "HK$180", "image_url": IMG, "actions": [MESSAGE, URI]},
    ]},
    "image_carousel": {"type": "image_carousel", "columns": [
        {"image_url": IMG, "action": {"type": "uri", "label": "View", "uri": "https://shop.example.com/1"}},
        {"image_url": IMG, "action": {"type": "postback", "label": "Save", "data": "save=2"}},
    ]},
    "imagemap": {"type": "imagemap", "base_url": "https://cdn.example.com/imagemap/autumn", "height": 1040,
                 "alt_text": "Autumn menu", "actions": [
                     {"type": "uri", "uri": "https://shop.example.com/a", "label": "Left",
                      "area": {"x": 0, "y": 0, "width": 520, "height": 1040}},
                     {"type": "message", "text": "Right side please",
                      "area": {"x": 520, "y": 0, "width": 520, "height": 1040}},
                 ]},
    "coupon": {"type": "coupon", "title": "10% off", "description": "Any tea over HK$200", "image_url": IMG,
               "code": "AUTUMN10", "valid_until": "2025-12-31", "button": URI},
}


def render(data):
    return adapter_for("line").render(contents_parse([data]))[0]


def refused(data_list) -> ServiceError:
    adapter = adapter_for("line")
    with pytest.raises(ServiceError) as caught:
        adapter.validate(contents_parse(data_list))
    return caught.value


def test_examples_cover_every_kind():
    assert set(EXAMPLES) == set(KINDS)
    assert adapter_for("line").supported_kinds == frozenset(KINDS)


def test_whatsapp_only_kinds_are_refused_naming_the_kind():
    template = {"type": "template", "name": "order_update", "language": "en", "parameters": ["A-1"]}
    error = refused([EXAMPLES["text"], template])
    assert error.field == "messages[1].type"
    assert str(error.message) == "LINE cannot show a WhatsApp template; send it on another channel."
    menu = {"type": "list", "text": "Pick a size", "button": "Sizes",
            "sections": [{"rows": [{"id": "s", "title": "Small"}]}]}
    assert refused([menu]).field == "messages[0].type"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_to_a_valid_line_message(kind):
    adapter_for("line").validate(contents_parse([EXAMPLES[kind]]))
    assert_line_valid(render(EXAMPLES[kind]))


@pytest.mark.parametrize("kind", KINDS)
def test_minimal_contents_render_valid_too(kind):
    data = copy.deepcopy(EXAMPLES[kind])
    for optional in ("quick_replies", "alt_text", "title", "image_url", "preview_url", "description", "code",
                     "valid_until"):
        required = (kind == "video" and optional == "preview_url") or (kind == "coupon" and optional == "title")
        if optional in data and not required:
            data.pop(optional)
    if kind == "carousel":
        for column in data["columns"]:
            column.pop("title"), column.pop("image_url")
    assert_line_valid(render(data))


def test_the_schema_check_can_fail():
    assert line_errors({"type": "text"})  # text is required
    assert line_errors({"type": "image", "originalContentUrl": IMG})  # previewImageUrl is required
    assert line_errors({"type": "text", "text": "x", "colour": "red"})  # no invented keys
    assert line_errors({"type": "buttons", "text": "x"})  # not a message type


def test_exact_shapes():
    assert render(EXAMPLES["text"]) == {
        "type": "text", "text": "New oolong in stock https://shop.example.com",
        "quickReply": {"items": [
            {"type": "action", "action": {"type": "message", "label": "Yes", "text": "Yes please"}},
            {"type": "action", "action": {"type": "postback", "label": "Reserve", "data": "action=reserve&item=42",
                                          "displayText": "Reserve it"}},
            {"type": "action", "action": {"type": "uri", "label": "Shop now", "uri": "https://shop.example.com/tea"}},
        ]},
    }
    assert render({"type": "image", "url": IMG}) == {"type": "image", "originalContentUrl": IMG,
                                                     "previewImageUrl": IMG}
    buttons = render(EXAMPLES["buttons"])
    assert buttons["altText"] == "Autumn tea: three new blends"
    assert buttons["template"] == {
        "type": "buttons", "thumbnailImageUrl": IMG, "title": "Autumn tea", "text": "Three new blends",
        "actions": [{"type": "uri", "label": "Shop now", "uri": "https://shop.example.com/tea"},
                    {"type": "postback", "label": "Reserve", "data": "action=reserve&item=42",
                     "displayText": "Reserve it"},
                    {"type": "message", "label": "Yes", "text": "Yes please"}],
    }
    assert render(EXAMPLES["carousel"])["altText"] == "Oolong"  # derived when not given
    imagemap = render(EXAMPLES["imagemap"])
    assert imagemap["baseSize"] == {"width": 1040, "height": 1040}
    assert imagemap["actions"][0] == {"type": "uri", "linkUri": "https://shop.example.com/a",
                                      "area": {"x": 0, "y": 0, "width": 520, "height": 1040}, "label": "Left"}
    coupon = render(EXAMPLES["coupon"])
    assert coupon["type"] == "flex" and coupon["altText"] == "10% off"
    bubble = coupon["contents"]
    assert bubble["hero"]["url"] == IMG
    texts = [c.get("text") for c in bubble["body"]["contents"]] + [
        c.get("text") for box in bubble["body"]["contents"] for c in box.get("contents", [])]
    assert {"10% off", "Any tea over HK$200", "AUTUMN10", "2025-12-31"} <= set(texts)
    assert bubble["footer"]["contents"] == [{"type": "button", "style": "primary", "action": {
        "type": "uri", "label": "Shop now", "uri": "https://shop.example.com/tea"}}]


def _with(kind, **changes):
    data = copy.deepcopy(EXAMPLES[kind])
    data.update(changes)
    return data


def _action(label="Go", n=0):
    return {"type": "postback", "label": label, "data": f"n={n}"}


LIMITS = [
    # (contents, field, a word the message must contain)
    ([{"type": "text", "text": "x"}] * 6, "messages[5]", "5"),
    ([{"type": "text", "text": "x" * 5001}], "messages[0].text", "5000"),
    ([_with("buttons", alt_text="a" * 1501)], "messages[0].alt_text", "1500"),
    ([_with("buttons", title="t" * 41)], "messages[0].title", "40"),
    ([_with("buttons", title=None, image_url=None, text="x" * 161)], "messages[0].text", "160"),
    ([_with("buttons", title=None, image_url=None, text="x" * 160)], None, None),
    ([_with("buttons", text="x" * 61)], "messages[0].text", "60"),
    ([_with("buttons", title=None, text="x" * 61)], "messages[0].text", "60"),
    ([_with("buttons", actions=[_action(n=i) for i in range(5)])], "messages[0].actions[4]", "4"),
    ([_with("buttons", actions=[_action("L" * 21)])], "messages[0].actions[0].label", "20"),
    ([_with("buttons", actions=[{"type": "postback", "label": "x", "data": "d" * 301}])],
     "messages[0].actions[0].data", "300"),
    ([_with("buttons", actions=[{"type": "uri", "label": "x", "uri": "https://e.com/" + "p" * 1000}])],
     "messages[0].actions[0].uri", "1000"),
    ([_with("buttons", actions=[{"type": "uri", "label": "x", "uri": "javascript:alert(1)"}])],
     "messages[0].actions[0].uri", "https"),
    ([_with("carousel", columns=[{"text": "c", "actions": [_action()]}] * 11)], "messages[0].columns[10]", "10"),
    ([_with("carousel", columns=[{"text": "c", "actions": [_action(n=i) for i in range(4)]}])],
     "messages[0].columns[0].actions[3]", "3"),
    ([_with("carousel", columns=[{"text": "c", "actions": [_action()]},
                                 {"text": "d", "actions": [_action(), _action(n=1)]}])],
     "messages[0].columns[1].actions", "1"),
    ([_with("carousel", columns=[{"text": "c", "title": "T", "actions": [_action()]},
                                 {"text": "d", "actions": [_action()]}])], "messages[0].columns[1].title", None),
    ([_with("carousel", columns=[{"text": "x" * 121, "actions": [_action()]}])], "messages[0].columns[0].text",
     "120"),
    ([_with("carousel", columns=[{"text": "c", "actions": [_action("L" * 21)]}])],
     "messages[0].columns[0].actions[0].label", "20"),
    ([_with("image_carousel", columns=[{"image_url": IMG, "action": _action()}] * 11)],
     "messages[0].columns[10]", "10"),
    ([_with("image_carousel", columns=[{"image_url": IMG, "action": _action("L" * 13)}])],
     "messages[0].columns[0].action.label", "12"),
    ([_with("image_carousel", columns=[{"image_url": IMG, "action": _action("L" * 12)}])], None, None),
    ([_with("imagemap", actions=[{"type": "message", "text": "t", "area": {"x": 0, "y": 0, "width": 1,
                                                                              "height": 1}}] * 51)],
     "messages[0].actions[50]", "50"),
    ([_with("imagemap", width=700)], "messages[0].width", "1040"),
    ([_with("text", quick_replies=[_action(n=i) for i in range(14)])], "messages[0].quick_replies[13]", "13"),
    ([_with("text", quick_replies=[_action("L" * 21)])], "messages[0].quick_replies[0].label", "20"),
    ([_with("coupon", button=_action("L" * 21))], "messages[0].button.label", "20"),
    ([_with("coupon", description="d" * 40000)], "messages[0]", "30720"),
    ([{"type": "image", "url": "http://cdn.example.com/tea.jpg"}], "messages[0].url", "https"),
    ([{"type": "text", "text": "ok"}, _with("buttons", actions=[_action(n=i) for i in range(5)])],
     "messages[1].actions[4]", "4"),
]


@pytest.mark.parametrize(("contents", "field", "word"), LIMITS)
def test_line_limits_are_refused_with_the_field(contents, field, word):
    adapter = adapter_for("line")
    if field is None:  # exactly at the limit: accepted and LINE-valid
        adapter.validate(contents_parse(contents))
        for message in adapter.render(contents_parse(contents)):
            assert_line_valid(message)
        return
    error = refused(contents)
    assert error.field == field
    if word:
        assert word in str(error.message)


def test_validate_accepts_plain_dicts():
    with pytest.raises(ServiceError) as caught:
        adapter_for("line").validate([{"type": "text", "text": "x" * 5001}])
    assert caught.value.field == "messages[0].text"
