"""The bubble context the console preview and the simulated phone both render."""

import json

from django.template.loader import render_to_string

from tidings.message_templates.render import template_bubble
from tests.support.reference import REFERENCE

from .conftest import buttons, template_data

SAMPLE = REFERENCE / "meta" / "samples" / "whatsapp_template_create"


def test_graph_components_with_parameters_fill_header_body_and_url():
    payload = json.loads((SAMPLE / "create_template_w_image_header_text_body_text_footer_and_2_call_to_action_"
                                   "buttons.json").read_text())
    tpl = template_bubble(payload["components"], ["Ming", "Tuscan Getaway", "HK$800"], url_parameters=["spring"])
    assert tpl["header"]["format"] == "IMAGE"
    assert tpl["body"].startswith("Hi Ming! For a limited time only you can get our Tuscan Getaway for as low as HK$800")
    assert tpl["buttons"][1] == {"type": "url", "text": "Shop Now", "index": 1,
                                 "url": "https://damp-sea-63235.herokuapp.com/shop?promo=spring"}
    assert tpl["folded"] == [] and len(tpl["shown"]) == 2


def test_four_or_more_buttons_show_two_and_fold_the_rest():
    tpl = template_bubble(template_data(buttons=buttons("qr", "qr", "qr", "url", "phone")))
    assert [b["index"] for b in tpl["shown"]] == [0, 1] and [b["index"] for b in tpl["folded"]] == [2, 3, 4]
    html = render_to_string("whatsapp/_template_bubble.html", {"tpl": tpl, "tappable": True})
    assert html.count("See all options") == 1
    assert html.count('type="submit" class="wa-template-button" name="button"') == 3  # the quick replies
    assert 'href="tel:+85230001234"' in html


def test_three_buttons_are_all_shown():
    tpl = template_bubble(template_data(buttons=buttons("qr", "qr", "url")))
    assert len(tpl["shown"]) == 3 and "See all options" not in render_to_string(
        "whatsapp/_template_bubble.html", {"tpl": tpl})


def test_missing_values_stay_visible():
    assert template_bubble(template_data(), parameters=["Mei"])["body"] == (
        "Hi Mei, order {{2}} left our warehouse today.")
