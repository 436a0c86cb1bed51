"""Shopify webhooks: signature (good, bad, missing), dedupe on the webhook id, and every official sample mapped
onto the timeline (or knowingly ignored). Samples: ../shared/reference/shopify/."""

import json
import uuid

import pytest

from tests.support.reference import REFERENCE
from tidings.contacts.models import Contact, TrackingEvent
from tidings.contacts.tracking import events_collect
from tidings.core.errors import ServiceError
from tidings.integrations import shopify
from tidings.integrations.models import ShopifyDelivery
from tidings.integrations.services import shop_domain_clean, shopify_store_connect

SECRET = "shpss_test_0123456789abcdef"
SAMPLES = REFERENCE / "shopify"
VID = "v-shopper-123456"


@pytest.fixture
def store(workspace):
    return shopify_store_connect(workspace=workspace, actor=None, shop_domain="acme-tea", webhook_secret=SECRET)


@pytest.fixture
def deliver(client, store, django_capture_on_commit_callbacks):
    """POST a sample as Shopify would (signed with the store's secret unless told otherwise); processing runs."""

    def send(sample, topic, *, secret=SECRET, webhook_id=None, body=None, signature=None):
        raw = body if body is not None else (SAMPLES / sample).read_bytes()
        headers = {
            "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": store.shop_domain,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()), "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Triggered-At": "2022-01-01T00:00:00Z",
            "X-Shopify-Hmac-Sha256": signature if signature is not None else shopify.signature(secret, raw),
        }
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/integrations/shopify/{store.public_id}", data=raw, content_type="application/json",
                               headers=headers)

    return send


def _script_reported_cart(workspace, token):
    events_collect(workspace=workspace, visitor_id=VID,
                   events=[{"type": "add_to_cart", "event_id": "w1", "properties": {"cart_token": token}}])


def test_signature_matches_shopifys_scheme():
    # base64(HMAC-SHA256(secret, raw body)); expected value from
    # `printf '{"id":1}' | openssl dgst -sha256 -hmac hush -binary | base64`.
    assert shopify.signature("hush", b'{"id":1}') == "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="
    assert shopify.signature_valid("hush", b'{"id":1}', "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=")
    assert not shopify.signature_valid("hush", b'{"id":2}', "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=")


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "missing header", "garbage header"])
def test_bad_signatures_are_401_and_store_nothing(deliver, how):
    raw = (SAMPLES / "orders_create.json").read_bytes()
    if how == "wrong secret":
        response = deliver("orders_create.json", "orders/create", secret="not-the-secret")
    elif how == "tampered body":
        response = deliver("", "orders/create", body=raw.replace(b"404.95", b"0.01"),
                           signature=shopify.signature(SECRET, raw))
    elif how == "missing header":
        response = deliver("orders_create.json", "orders/create", signature="")
    else:
        response = deliver("orders_create.json", "orders/create", signature="%%%")
    assert response.status_code == 401
    assert not ShopifyDelivery.objects.exists() and not TrackingEvent.objects.exists()


def test_unknown_store_is_404(client, db):
    response = client.post(f"/integrations/shopify/{uuid.uuid4()}", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_a_body_that_is_not_an_object_is_400(deliver):
    assert deliver("", "orders/create", body=b"[1]").status_code == 400


def test_orders_create_becomes_a_purchase_for_the_buyer(workspace, deliver):
    assert deliver("orders_create.json", "orders/create").status_code == 200
    event = TrackingEvent.objects.get()
    assert (event.type, event.source) == ("purchase", "shopify")
    props = event.properties
    assert (props["transaction_id"], props["order_name"], props["amount"], props["currency"]) == (
        "820982911946154508", "#9999", "404.95", "USD")
    assert props["items"][0]["name"] and props["shop"] == "acme-tea.myshopify.com"
    contact = event.contact
    assert (contact.email, contact.name, contact.member_id) == ("jon@example.com", "John Smith", "115310627314723954")
    assert event.occurred_at.isoformat() == "2022-01-01T00:00:00+00:00"  # processed_at 2021-12-31T19:00-05:00
    delivery = ShopifyDelivery.objects.get()
    assert (delivery.status, delivery.event_id) == ("processed", event.pk)


def test_a_retried_delivery_is_stored_once(deliver):
    assert deliver("orders_create.json", "orders/create", webhook_id="wh-1").status_code == 200
    assert deliver("orders_create.json", "orders/create", webhook_id="wh-1").status_code == 200
    assert ShopifyDelivery.objects.count() == 1 and TrackingEvent.objects.count() == 1
    # Another delivery of the same order (say orders/create subscribed twice) is still one purchase.
    deliver("orders_create.json", "orders/create", webhook_id="wh-2")
    assert ShopifyDelivery.objects.count() == 2 and TrackingEvent.objects.count() == 1


@pytest.mark.parametrize("sample, topic", [("checkouts_create.json", "checkouts/create"),
                                           ("checkouts_update.json", "checkouts/update")])
def test_checkouts_become_one_checkout_event_per_token(workspace, deliver, sample, topic):
    deliver(sample, topic)
    deliver(sample, topic)  # every update of the checkout refreshes the same event
    event = TrackingEvent.objects.get()
    assert event.type == "checkout"
    props = event.properties
    assert (props["checkout_token"], props["cart_token"], props["value"], props["currency"]) == (
        "123123123", "eeafa272cebfd4b22385bc4b645e762c", "421.88", "USD")
    assert props["abandoned_checkout_url"].startswith("https://checkout.local/")
    assert len(props["items"]) == 2
    # The email typed at checkout, the customer account's name and id.
    assert (event.contact.email, event.contact.name, event.contact.member_id) == (
        "example@email.com", "John Smith", "603851970716743426")
    assert ShopifyDelivery.objects.filter(status="processed").count() == 2


def test_checkout_of_a_cart_the_script_saw_joins_the_visitor(workspace, deliver):
    _script_reported_cart(workspace, "eeafa272cebfd4b22385bc4b645e762c")
    deliver("checkouts_create.json", "checkouts/create")
    event = TrackingEvent.objects.get(source="shopify")
    assert event.visitor.visitor_id == VID
    # The anonymous visitor now belongs to the buyer, with its earlier script event.
    assert TrackingEvent.objects.filter(contact=event.contact).count() == 2


@pytest.mark.parametrize("sample, topic", [("carts_create.json", "carts/create"), ("carts_update.json", "carts/update")])
def test_carts_are_attributed_only_when_the_script_reported_them(workspace, deliver, sample, topic):
    deliver(sample, topic)
    assert not TrackingEvent.objects.exists()
    delivery = ShopifyDelivery.objects.get()
    assert delivery.status == "ignored" and "exampleCartId" in delivery.outcome

    _script_reported_cart(workspace, "exampleCartId")
    deliver(sample, topic)
    deliver(sample, topic)
    event = TrackingEvent.objects.get(source="shopify")
    assert (event.type, event.visitor.visitor_id) == ("add_to_cart", VID)
    assert event.properties["items"] == [{"id": "788032119674292922", "name": "Example T-Shirt - Small",
                                          "sku": "example-shirt-s", "quantity": 3, "price": "19.99"}]
    assert (event.properties["value"], event.properties["currency"]) == ("59.97", "USD")


@pytest.mark.parametrize("sample, topic", [("checkouts_delete.json", "checkouts/delete"),
                                           ("fulfillments_update.json", "fulfillments/update")])
def test_topics_without_an_event_are_stored_and_ignored(deliver, sample, topic):
    assert deliver(sample, topic).status_code == 200
    delivery = ShopifyDelivery.objects.get()
    assert delivery.status == "ignored" and topic in delivery.outcome
    assert not TrackingEvent.objects.exists()


def test_every_sample_is_covered():
    tested = {"carts_create.json", "carts_update.json", "checkouts_create.json", "checkouts_update.json",
              "checkouts_delete.json", "fulfillments_update.json", "orders_create.json"}
    assert {p.name for p in SAMPLES.glob("*.json")} == tested


def test_a_checkout_without_buyer_or_known_cart_is_ignored(deliver):
    body = json.loads((SAMPLES / "checkouts_create.json").read_text())
    for key in ("email", "customer", "phone"):
        body.pop(key, None)
    deliver("", "checkouts/create", body=json.dumps(body).encode())
    assert ShopifyDelivery.objects.get().status == "ignored"
    assert not Contact.objects.exists()


def test_an_unusable_phone_is_skipped_not_fatal(workspace, deliver):
    body = json.loads((SAMPLES / "orders_create.json").read_text())
    body["phone"] = "555-555-SHIP"
    body["customer"]["phone"] = "+85261234567"
    deliver("", "orders/create", body=json.dumps(body).encode())
    assert TrackingEvent.objects.get().contact.phone == "+85261234567"


def test_secret_is_encrypted_at_rest(store):
    store.refresh_from_db()
    assert SECRET not in store.secret_encrypted and store.webhook_secret == SECRET


@pytest.mark.parametrize("typed, domain", [("acme", "acme.myshopify.com"), ("ACME.myshopify.com ", "acme.myshopify.com"),
                                           ("https://acme.myshopify.com/admin", "acme.myshopify.com")])
def test_shop_domain_forms(typed, domain):
    assert shop_domain_clean(typed) == domain


@pytest.mark.parametrize("typed", ["", "shop.example.com", "acme.myshopify.com.evil.test", "-x.myshopify.com"])
def test_bad_shop_domains(typed):
    with pytest.raises(ServiceError) as exc:
        shop_domain_clean(typed)
    assert exc.value.field == "shop_domain"
