"""Social identity binding in Chromium, over real HTTP (SPEC D2): on the demo shop a visitor adds tea to the cart and
binds through the LINE code flow using the simulated phone; the profile then shows the LINE identity, the binding
and the cart event. Also looks at the binding settings page and the fake LINE account-link dialog."""

import pytest

from tidings.channels.services import account_create
from tidings.contacts.models import Visitor
from tidings.core.roles import Role
from tidings.sandbox.personas import persona_create

from tests.browser.support import screenshot, wait_for

pytestmark = pytest.mark.browser


def test_a_shop_visitor_binds_through_a_line_code_on_the_simulated_phone(new_page, log_in, live_server, settings,
                                                                        workspace, make_member):
    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    account_create(workspace=workspace, actor=None, channel="line", name="Acme 茶室")
    account_create(workspace=workspace, actor=None, channel="sms", name="Acme SMS")
    mei = persona_create(workspace=workspace, name="陳美玲", phone="+85269876543")

    shop = new_page(width=1100, height=800)
    shop.goto("/sandbox/shop?workspace=acme")
    shop.wait_for_function("window.tidings && window.tidings.loaded")
    visitor_id = shop.evaluate("window.tidings.visitorId")
    shop.click("[data-product=TEA-OOLONG] h2 a")
    shop.click("[data-add-to-cart]")
    shop.wait_for_selector("[data-cart-count]:has-text('1')")
    shop.click("[data-bind-line]")
    dialog = shop.locator("[data-tidings-bind]")
    dialog.locator(".tdg-code").wait_for()
    code = dialog.locator(".tdg-code").inner_text()
    link = dialog.locator("a.tdg-open").get_attribute("href")
    assert len(code) == 6 and link.startswith(f"{live_server.url}/sandbox/open?channel=line&text=")
    screenshot(shop, "binding-shop-dialog")

    # The link opens the LINE chat: in the sandbox, a persona's simulated phone, with the code message typed in.
    phone = new_page(width=1100, height=900)
    log_in(phone, make_member(workspace, Role.ADMIN))
    phone.goto(link)
    phone.wait_for_selector(f"[data-persona='{mei.pk}']")
    screenshot(phone, "binding-open-link")
    phone.click(f"[data-persona='{mei.pk}'] [data-open]")
    composer = phone.locator("#composer-text")
    composer.wait_for()
    assert code in composer.input_value()
    screenshot(phone, "binding-phone-prefilled")
    phone.click("[data-composer] button.send")
    phone.wait_for_selector(".messages :text('您的帳號已完成綁定')", timeout=15_000)
    assert composer.input_value() == ""  # sent, and the typed-in text does not come back
    screenshot(phone, "binding-phone-bound")

    shop.wait_for_selector("[data-tidings-bind][data-bound]", timeout=15_000)
    assert wait_for(lambda: Visitor.objects.get(visitor_id=visitor_id).contact_id) == mei.contact_id

    phone.goto(f"/contacts/{mei.contact_id}/")
    binding_card = phone.locator("[data-card=binding]")
    binding_card.wait_for()
    assert "LINE code message" in binding_card.inner_text()
    assert phone.locator("[data-card=identities] [data-identity]").count() >= 1
    assert phone.locator("[data-card=events] [data-event=add_to_cart]").count() == 1
    screenshot(phone, "binding-profile")

    phone.goto("/social-binding/")
    phone.wait_for_selector("[data-bindings] [data-binding]")
    screenshot(phone, "binding-settings")


def test_the_fake_line_account_link_dialog(new_page, live_server, settings, workspace):
    from tidings.sandbox.fake_line.services import line_api_link_token

    settings.BASE_URL = live_server.url
    settings.INPROCESS_HTTP = False
    account = account_create(workspace=workspace, actor=None, channel="line", name="Acme 茶室")
    mei = persona_create(workspace=workspace, name="陳美玲", phone="+85269876543")
    link_token = line_api_link_token(account, mei.line_user_id).body["linkToken"]
    page = new_page(width=420, height=760)
    page.goto(f"/sandbox/line/{account.public_id}/dialog/bot/accountLink?linkToken={link_token}&nonce={'n' * 32}")
    page.wait_for_selector("[data-link]")
    assert "陳美玲" in page.inner_text("[data-account-link]")
    screenshot(page, "binding-line-dialog")
    page.click("[data-link]")
    page.wait_for_selector("[data-result=ok]")
    screenshot(page, "binding-line-dialog-done")
