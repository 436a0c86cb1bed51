"""Phone binding by SMS code in Chromium, over real HTTP (SPEC D3): on the demo shop a visitor with tea in the cart
binds by phone — types the number, reads the code on the simulated phone's Messages tab (the fake Twilio delivered
it), types it back — and the customer's profile shows the phone binding and the cart event."""

import re

import pytest

from tidings.billing.services import balance_top_up
from tidings.channels.services import account_create
from tidings.contacts.models import Visitor
from tidings.core.roles import Role
from tidings.sandbox.personas import persona_create

from tests.browser.support import screenshot, wait_for

pytestmark = pytest.mark.browser


def test_a_shop_visitor_binds_by_phone_with_the_code_from_the_simulated_phone(new_page, log_in, live_server,
                                                                             settings, workspace, make_member):
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    account_create(workspace=workspace, actor=None, channel="sms", name="Acme SMS")
    balance_top_up(workspace=workspace, actor=None, amount=50, note="test credit")
    mei = persona_create(workspace=workspace, name="陳美玲", phone="+85269876543", line=False, friend=False)

    shop = new_page(width=1100, height=800)
    shop.goto("/sandbox/shop?workspace=acme")
    shop.wait_for_function("window.tidings && window.tidings.loaded")
    visitor_id = shop.evaluate("window.tidings.visitorId")
    shop.click("[data-product=TEA-OOLONG] h2 a")
    shop.click("[data-add-to-cart]")
    shop.wait_for_selector("[data-cart-count]:has-text('1')")

    shop.click("[data-bind-phone]")
    dialog = shop.locator("[data-tidings-bind]")
    dialog.locator("input[type=tel]").fill("12345")
    dialog.locator("button[type=submit]:visible").click()
    dialog.locator(".tdg-error").wait_for()  # not a phone number: said in the dialog, nothing sent
    dialog.locator("input[type=tel]").fill("6987 6543")  # typed without the country code, as locals do
    screenshot(shop, "phone-binding-number")
    dialog.locator("button[type=submit]:visible").click()
    code_field = dialog.locator("input[autocomplete=one-time-code]")
    code_field.wait_for()
    assert "+85269876543" in dialog.inner_text()
    assert dialog.locator("button:has-text('Send a new code')").is_disabled()  # a minute before a resend

    # The code arrives on the customer's phone: the simulated phone's Messages tab.
    phone = new_page(width=1100, height=900)
    log_in(phone, make_member(workspace, Role.ADMIN))
    phone.goto(f"/sandbox/phone/{mei.pk}?tab=sms")
    sms = phone.locator(".messages :text('verification code')")
    sms.wait_for(timeout=15_000)
    code = re.search(r"\b(\d{6})\b", sms.inner_text()).group(1)
    assert "Acme Tea" in sms.inner_text()
    screenshot(phone, "phone-binding-sms")

    code_field.fill(code)
    screenshot(shop, "phone-binding-code")
    dialog.locator("button[type=submit]:visible").click()
    shop.wait_for_selector("[data-tidings-bind][data-bound]")
    assert "verified" in dialog.inner_text()
    screenshot(shop, "phone-binding-done")
    assert wait_for(lambda: Visitor.objects.get(visitor_id=visitor_id).contact_id) == mei.contact_id

    phone.goto(f"/contacts/{mei.contact_id}/")
    binding_card = phone.locator("[data-card=binding]")
    binding_card.wait_for()
    assert "Phone number (SMS code)" in binding_card.inner_text()
    assert phone.locator("[data-card=events] [data-event=add_to_cart]").count() == 1
    screenshot(phone, "phone-binding-profile")
