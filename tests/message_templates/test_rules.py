"""The template rules (SPEC S8, Meta's limits): each refused with the message that names it."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import ServiceError
from tidings.message_templates.rules import button_mix_problem, template_clean

from .conftest import buttons, template_data

LETTER = {"qr": "Q", "url": "U", "phone": "P", "order": "O"}


def oracle_valid(kinds: list[str], audience: str) -> bool:
    """Written from the issue's wording, not from the implementation: a regex over the kind letters."""
    word = "".join(LETTER[k] for k in kinds)
    return (
        len(word) <= 10
        and word.count("Q") <= 10 and word.count("U") <= 2 and word.count("P") <= 1 and word.count("O") <= 1
        and ("O" not in word or audience == "system_notification")
        and re.fullmatch(r"[UPO]*Q*[UPO]*", word) is not None
    )


@settings(max_examples=400, deadline=None)
@given(kinds=st.lists(st.sampled_from(["qr", "url", "phone", "order"]), max_size=13),
       audience=st.sampled_from(["general", "system_notification"]))
def test_button_mixes_agree_with_the_rules(kinds, audience):
    data = template_data(audience=audience, buttons=buttons(*kinds))
    try:
        cleaned = template_clean(data)
    except ServiceError as exc:
        assert not oracle_valid(kinds, audience), f"{kinds} refused: {exc.message}"
        assert exc.field.startswith("buttons")
        assert exc.code in {"too_many_buttons", "too_many_quick_reply", "too_many_url", "too_many_phone",
                            "too_many_go_to_order", "go_to_order_audience", "quick_replies_split"}
    else:
        assert oracle_valid(kinds, audience), f"{kinds} accepted for {audience}"
        assert [b["type"] for b in cleaned["buttons"]] == [b["type"] for b in data["buttons"]]  # order kept


@pytest.mark.parametrize("kinds", [
    ("qr", "qr", "url", "phone"), ("url", "phone", "qr", "qr"), ("url", "qr", "qr", "phone"),
    ("qr",) * 8 + ("url", "url"), ("qr",) * 10, ("url", "url", "phone"),
])
def test_mixed_kinds_in_any_order_are_accepted(kinds):
    assert template_clean(template_data(buttons=buttons(*kinds)))["buttons"]


def test_order_button_and_the_rest_on_a_system_notification_template():
    cleaned = template_clean(template_data(audience="system_notification",
                                           buttons=buttons("order", "url", "phone", "qr", "qr")))
    assert [b["type"] for b in cleaned["buttons"]] == ["go_to_order", "url", "phone", "quick_reply", "quick_reply"]


RULES = [
    (("qr", "url", "qr"), "general", "buttons[2]",
     "Quick reply buttons must stay together in one group: put them all before or all after the other buttons."),
    (("qr",) * 11, "general", "buttons[10]", "At most 10 quick reply button(s) per template."),
    (("url", "url", "url"), "general", "buttons[2]", "At most 2 website (URL) button(s) per template."),
    (("phone", "phone"), "general", "buttons[1]", "At most 1 call phone number button(s) per template."),
    (("order", "order"), "system_notification", "buttons[1]", "At most 1 go to order button(s) per template."),
    (("qr",) * 8 + ("url", "url", "phone"), "general", "buttons[10]", "A template has at most 10 buttons."),
    (("qr", "order"), "general", "buttons[1]",
     "The “go to order” button is only for templates whose audience is system notification."),
]


@pytest.mark.parametrize("kinds,audience,field,message", RULES)
def test_each_button_rule_is_named(kinds, audience, field, message):
    with pytest.raises(ServiceError) as caught:
        template_clean(template_data(audience=audience, buttons=buttons(*kinds)))
    assert (caught.value.field, str(caught.value.message)) == (field, message)


def test_button_mix_problem_reads_kinds_alone():
    assert button_mix_problem(["url", "quick_reply", "phone", "quick_reply"]).code == "quick_replies_split"
    assert button_mix_problem(["quick_reply", "quick_reply", "url", "phone"]) is None


LIMITS = [
    ({"name": "Order Shipped"}, "name", "Names use lowercase letters, digits and underscores only"),
    ({"name": "a" * 513}, "name", "At most 512 characters (this has 513)."),
    ({"language": "english"}, "language", "Give a WhatsApp language code"),
    ({"category": "PROMOTION"}, "category", "The category is MARKETING, UTILITY or AUTHENTICATION."),
    ({"audience": "everyone"}, "audience", "The audience is general or system_notification."),
    ({"body": ""}, "body", "Write the message body."),
    ({"body": "x" * 1025}, "body", "At most 1024 characters (this has 1025)."),
    ({"body": "Hi {{2}}, all set"}, "body", "Number the variables {{1}}, {{2}}, {{3}}… in order, without gaps."),
    ({"body": "Hi {{2}} and {{1}} ok"}, "body", "Number the variables"),
    ({"body": "Hi {{name}}, all set"}, "body", "Variables are written {{1}}, {{2}}… with numbers only"),
    ({"header": "h" * 61}, "header.text", "At most 60 characters (this has 61)."),
    ({"header": "Hi {{1}} {{2}}"}, "header.text", "This part can have at most 1 variable(s)."),
    ({"header": {"format": "IMAGE"}}, "header.url", "Give the address (http or https) of a sample image"),
    ({"header": {"format": "GIF", "url": "https://x.example/a.gif"}}, "header.format", "The header format is"),
    ({"footer": "f" * 61}, "footer", "At most 60 characters (this has 61)."),
    ({"footer": "Code {{1}}"}, "footer", "The footer cannot have variables."),
    ({"buttons": [{"type": "quick_reply", "text": "x" * 26}]}, "buttons[0].text", "At most 25 characters"),
    ({"buttons": [{"type": "quick_reply", "text": ""}]}, "buttons[0].text", "Give the button a label."),
    ({"buttons": [{"type": "flow", "text": "Go"}]}, "buttons[0].type", "The button type is quick_reply, url"),
    ({"buttons": [{"type": "url", "text": "Go", "url": "https://x.example/" + "a" * 1990}]}, "buttons[0].url",
     "At most 2000 characters"),
    ({"buttons": [{"type": "url", "text": "Go", "url": "https://x.example/{{1}}/more"}]}, "buttons[0].url",
     "A button's web address can have one variable, {{1}}, and only at its end."),
    ({"buttons": [{"type": "url", "text": "Go", "url": "https://x.example/{{1}}{{2}}"}]}, "buttons[0].url",
     "A button's web address can have one variable"),
    ({"buttons": [{"type": "url", "text": "Go", "url": "ftp://x.example/"}]}, "buttons[0].url",
     "Give the button a web address starting with http:// or https://."),
    ({"buttons": [{"type": "phone", "text": "Call", "phone": "call me"}]}, "buttons[0].phone",
     "Give a phone number with its country code"),
]


@pytest.mark.parametrize("overrides,field,message", LIMITS, ids=[f[1] + ":" + f[2][:30] for f in LIMITS])
def test_meta_limits_are_named(overrides, field, message):
    with pytest.raises(ServiceError) as caught:
        template_clean(template_data(**overrides))
    assert caught.value.field == field
    assert str(caught.value.message).startswith(message)


def test_a_clean_template_is_normalized_with_sample_values():
    cleaned = template_clean(template_data(category="utility", header={"format": "TEXT", "text": "Order {{1}}"},
                                           examples={"body": ["Mei"]}))
    assert cleaned["category"] == "UTILITY"
    assert cleaned["header"] == {"format": "TEXT", "text": "Order {{1}}"}
    assert cleaned["examples"] == {"body": ["Mei", "sample 2"], "header": ["sample 1"], "url": ["sample 1"]}


def test_limits_at_the_edge_are_accepted():
    cleaned = template_clean(template_data(
        name="a" * 512, body="b" * 1024, header="h" * 60, footer="f" * 60,
        buttons=[{"type": "url", "text": "x" * 25, "url": "https://x.example/" + "a" * (2000 - 23) + "{{1}}"}]))
    assert len(cleaned["buttons"][0]["url"]) == 2000
