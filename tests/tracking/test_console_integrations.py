"""The console's Website and shop page: the script snippet, connecting Shopify, its set-up page, Admins only."""

import html

import pytest

from tidings.core.models import AuditEntry
from tidings.core.roles import Role
from tidings.integrations.models import ShopifyDelivery, ShopifyStore
from tidings.integrations.services import shopify_store_connect


@pytest.fixture
def admin_client(admin, console_client):
    return console_client(admin)


def test_empty_page_explains_what_to_do(admin_client):
    page = html.unescape(admin_client.get("/settings/integrations").content.decode())
    assert "No Shopify shop connected" in page
    assert "tidings('init', {workspace: 'acme'" in page and "/widget/v1/tidings.js" in page


def test_connect_a_store_then_see_its_webhook_url(admin_client, workspace):
    response = admin_client.post("/settings/integrations", {"shop_domain": "acme-tea", "webhook_secret": "s3cret"})
    store = ShopifyStore.objects.get(workspace=workspace)
    assert response.status_code == 302 and response.url == f"/settings/integrations/shopify/{store.pk}"
    page = admin_client.get(response.url).content.decode()
    assert f"http://testserver/integrations/shopify/{store.public_id}" in page
    assert "checkouts/update" in page and "Nothing received yet" in page
    assert "s3cret" not in page
    assert AuditEntry.objects.filter(action="integrations.shopify.connect").exists()
    listing = admin_client.get("/settings/integrations").content.decode()
    assert "acme-tea.myshopify.com" in listing


def test_bad_input_is_shown_on_the_form(admin_client):
    page = admin_client.post("/settings/integrations", {"shop_domain": "shop.example.com",
                                                        "webhook_secret": "x"}).content.decode()
    assert "myshopify.com address" in page and not ShopifyStore.objects.exists()


def test_a_shop_connects_once(admin_client, workspace):
    shopify_store_connect(workspace=workspace, actor=None, shop_domain="acme-tea", webhook_secret="a")
    page = admin_client.post("/settings/integrations", {"shop_domain": "acme-tea.myshopify.com",
                                                        "webhook_secret": "b"}).content.decode()
    assert "already connected" in page and ShopifyStore.objects.count() == 1


def test_replace_secret_and_disconnect(admin_client, workspace):
    store = shopify_store_connect(workspace=workspace, actor=None, shop_domain="acme-tea", webhook_secret="old")
    ShopifyDelivery.objects.create(workspace=workspace, store=store, webhook_id="w1", topic="orders/create",
                                   status="ignored", outcome="no buyer details")
    assert "no buyer details" in admin_client.get(f"/settings/integrations/shopify/{store.pk}").content.decode()
    admin_client.post(f"/settings/integrations/shopify/{store.pk}", {"webhook_secret": "new"})
    store.refresh_from_db()
    assert store.webhook_secret == "new"
    admin_client.post(f"/settings/integrations/shopify/{store.pk}/disconnect")
    assert not ShopifyStore.objects.exists()


@pytest.mark.parametrize("role", [Role.MARKETER, Role.CS_MANAGER, Role.CS_AGENT])
def test_only_admins(workspace, make_member, console_client, role):
    store = shopify_store_connect(workspace=workspace, actor=None, shop_domain="acme-tea", webhook_secret="a")
    client = console_client(make_member(workspace, role))
    assert client.get("/settings/integrations").status_code == 403
    assert client.post(f"/settings/integrations/shopify/{store.pk}/disconnect").status_code == 403
    assert ShopifyStore.objects.exists()
