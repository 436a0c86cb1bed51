"""The demo shop in Chromium, over real HTTP: the tracking script stores a visitor's product view and add-to-cart
(with retries when the network fails), and the binding dialog shows a code, a working QR and the bound state."""

import json
from pathlib import Path

import pytest

from tidings.contacts.models import TrackingEvent, Visitor

from tests.browser.support import screenshot, wait_for

pytestmark = pytest.mark.browser

QR_FIXTURE = Path(__file__).resolve().parents[1] / "tracking" / "qr_line_link.txt"


def _visitor_events(visitor_id):
    return list(TrackingEvent.objects.filter(visitor__visitor_id=visitor_id).order_by("occurred_at", "pk"))


def test_a_visitor_views_a_product_and_adds_it_to_the_cart(new_page, live_server, settings, workspace):
    settings.BASE_URL = live_server.url
    page = new_page()
    page.goto("/sandbox/shop?workspace=acme")
    page.wait_for_function("window.tidings && window.tidings.loaded")
    screenshot(page, "shop-home")
    visitor_id = page.evaluate("window.tidings.visitorId")
    cookie = next(c for c in page.context.cookies() if c["name"] == "_tidings_vid")
    assert cookie["value"] == visitor_id and cookie["sameSite"] == "Lax"
    assert cookie["expires"] - __import__("time").time() > 360 * 86400  # a year

    page.click("[data-product=TEA-OOLONG] h2 a")
    page.wait_for_selector("[data-product-page=TEA-OOLONG]")
    page.select_option("[data-qty]", "2")
    page.click("[data-add-to-cart]")
    page.wait_for_selector("[data-cart-count]:has-text('2')")
    screenshot(page, "shop-product")

    events = wait_for(lambda: len(_visitor_events(visitor_id)) >= 2 and _visitor_events(visitor_id))
    assert [e.type for e in events] == ["view_product", "add_to_cart"]
    view, add = events
    assert view.properties["id"] == "TEA-OOLONG" and view.source == "web"
    assert add.properties["items"][0]["quantity"] == 2 and add.properties["cart_token"].startswith("cart-")
    assert Visitor.objects.get(visitor_id=visitor_id).workspace_id == workspace.pk
    # Acknowledged events leave the browser's queue.
    wait_for(lambda: page.evaluate("JSON.parse(localStorage.getItem('_tidings_q:acme') || '[]').length") == 0)

    page.click("[data-cart-link]")
    page.wait_for_selector("[data-line=TEA-OOLONG]")
    screenshot(page, "shop-cart")

    # Checkout: opening it is a checkout event; the order identifies the buyer and is a purchase.
    page.click("[data-go-checkout]")
    page.wait_for_selector("[data-order-form]")
    page.fill("input[name=name]", "陳美玲")
    page.fill("input[name=email]", "mei@example.test")
    page.fill("input[name=phone]", "+886912345678")
    screenshot(page, "shop-checkout")
    page.click("[data-place-order]")
    page.wait_for_selector("[data-thanks]:visible")
    events = wait_for(lambda: len(_visitor_events(visitor_id)) >= 4 and _visitor_events(visitor_id))
    assert [e.type for e in events] == ["view_product", "add_to_cart", "checkout", "purchase"]
    assert events[3].properties["amount"] == 960 and events[3].properties["transaction_id"].startswith("DEMO-")
    contact = wait_for(lambda: Visitor.objects.get(visitor_id=visitor_id).contact)
    assert (contact.email, contact.phone, contact.name) == ("mei@example.test", "+886912345678", "陳美玲")
    assert set(TrackingEvent.objects.filter(visitor__visitor_id=visitor_id).values_list("contact", flat=True)) == {
        contact.pk}


def test_events_wait_in_the_browser_until_the_server_answers(new_page, live_server, settings, workspace):
    settings.BASE_URL = live_server.url
    page = new_page()
    failing = {"count": 0}

    def fail(route):
        failing["count"] += 1
        route.fulfill(status=503, body="down for a moment")

    page.route("**/widget/v1/collect", fail)
    page.goto("/sandbox/shop/p/jasmine?workspace=acme")
    page.wait_for_function("window.tidings && window.tidings.loaded")
    visitor_id = page.evaluate("window.tidings.visitorId")
    # Route handlers run while Playwright has the thread: wait in the page, not in time.sleep.
    wait_for(lambda: page.wait_for_timeout(50) or failing["count"] >= 1)
    assert page.evaluate("JSON.parse(localStorage.getItem('_tidings_q:acme'))[0].type") == "view_product"
    assert not _visitor_events(visitor_id)

    page.unroute("**/widget/v1/collect")
    [event] = wait_for(lambda: page.wait_for_timeout(50) or _visitor_events(visitor_id), timeout=15)
    assert event.properties["id"] == "TEA-JASMINE"


def test_member_login_identifies_the_visitor(new_page, live_server, settings, workspace):
    settings.BASE_URL = live_server.url
    page = new_page()
    page.goto("/sandbox/shop?workspace=acme")
    page.wait_for_function("window.tidings && window.tidings.loaded")
    visitor_id = page.evaluate("window.tidings.visitorId")
    page.fill("[data-member-form] input[name=member_id]", "M-1001")
    page.click("[data-member-form] button[type=submit]")
    page.wait_for_selector("[data-member-name]:has-text('M-1001')")
    visitor = wait_for(lambda: Visitor.objects.filter(visitor_id=visitor_id, contact__isnull=False).first())
    assert visitor.contact.member_id == "M-1001"


def test_bind_dialog_shows_code_and_qr_and_waits_until_bound(new_page, live_server, settings, workspace):
    """The dialog alone: /bind/v1/* are answered by the page (the binding app has its own tests)."""
    settings.BASE_URL = live_server.url
    deep_link = QR_FIXTURE.read_text().splitlines()[0].removeprefix("# ")
    expected = [line for line in QR_FIXTURE.read_text().splitlines() if not line.startswith("#")]
    page = new_page()
    calls = {"start": None, "status": 0}

    def start(route):
        calls["start"] = json.loads(route.request.post_data)
        route.fulfill(status=201, content_type="application/json", headers={"Access-Control-Allow-Origin": "*"},
                      body=json.dumps({"code": "482913", "url": deep_link, "expires_at": "2099-01-01T00:00:00Z"}))

    def status(route):
        calls["status"] += 1
        route.fulfill(content_type="application/json", headers={"Access-Control-Allow-Origin": "*"},
                      body=json.dumps({"bound": calls["status"] >= 2, "channels": ["line"]}))

    page.route("**/bind/v1/start", start)
    page.route("**/bind/v1/status?*", status)
    page.goto("/sandbox/shop?workspace=acme")
    page.wait_for_function("window.tidings && window.tidings.loaded")
    # The encoder draws exactly what an independent QR library does for the same link.
    grid = page.evaluate("(u) => window.tidings._qr(u).map(r => r.map(b => b ? '1' : '0').join(''))", deep_link)
    assert grid == expected

    page.click("[data-bind-line]")
    dialog = page.locator("[data-tidings-bind]")
    dialog.locator(".tdg-code").wait_for()
    assert dialog.locator(".tdg-code").inner_text() == "482913"
    assert dialog.locator("a.tdg-open").get_attribute("href") == deep_link
    assert dialog.locator("svg.tdg-qr").count() == 1
    assert calls["start"]["workspace"] == "acme" and calls["start"]["method"] == "line_code"
    assert calls["start"]["visitor_id"] == page.evaluate("window.tidings.visitorId")
    screenshot(page, "shop-bind-dialog")
    page.wait_for_selector("[data-tidings-bind][data-bound]", timeout=15_000)
