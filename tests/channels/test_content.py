import pytest

from tidings.channels.content import contents_parse
from tidings.core.errors import ServiceError


@pytest.mark.parametrize("contents, field", [
    ([{"type": "text"}], "messages[0].text"),
    ([{"type": "text", "text": "ok"}, {"type": "image"}], "messages[1].url"),
    ([{"type": "buttons", "text": "a", "actions": [{"type": "uri", "label": "x"}]}], "messages[0].actions[0].uri"),
    ([{"type": "image_carousel", "columns": [{"image_url": "u", "action": {"type": "postback", "label": "l"}}]}],
     "messages[0].columns[0].action.data"),
    ([{"type": "coupon", "title": "t", "button": {"type": "message", "label": "l"}}], "messages[0].button.text"),
    ([{"type": "hologram"}], "messages[0]"),
    ([{"type": "text", "text": "hi", "colour": "red"}], "messages[0].colour"),
    ([], "messages"),
])
def test_bad_content_names_the_field(contents, field):
    with pytest.raises(ServiceError) as error:
        contents_parse(contents)
    assert error.value.field == field


def test_every_kind_parses():
    uri = {"type": "uri", "label": "Shop", "uri": "https://shop.example/x"}
    contents = contents_parse([
        {"type": "text", "text": "hi", "quick_replies": [{"type": "message", "label": "Yes", "text": "yes"}]},
        {"type": "image", "url": "https://cdn.example/a.jpg"},
        {"type": "video", "url": "https://cdn.example/a.mp4", "preview_url": "https://cdn.example/a.jpg"},
        {"type": "buttons", "text": "Pick", "actions": [uri]},
        {"type": "carousel", "columns": [{"text": "A", "actions": [uri]}]},
        {"type": "image_carousel", "columns": [{"image_url": "https://cdn.example/a.jpg", "action": uri}]},
        {"type": "imagemap", "base_url": "https://cdn.example/map", "height": 1040,
         "actions": [{"type": "uri", "uri": "https://shop.example", "area": {"x": 0, "y": 0, "width": 520, "height": 520}}]},
        {"type": "coupon", "title": "10% off", "button": uri},
    ])
    assert [c.type for c in contents] == ["text", "image", "video", "buttons", "carousel", "image_carousel",
                                          "imagemap", "coupon"]
