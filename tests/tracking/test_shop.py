"""The demo shop's pages: sandbox workspaces only, each page embeds the script with the shop's workspace."""

import pytest

from tidings.core.services import workspace_create


@pytest.mark.parametrize("path", ["/sandbox/shop", "/sandbox/shop/p/oolong", "/sandbox/shop/cart",
                                  "/sandbox/shop/checkout"])
def test_pages_embed_the_script_for_the_workspace(client, workspace, path):
    response = client.get(f"{path}?workspace=acme")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'src="/widget/v1/tidings.js"' in page and 'var WS = "acme"' in page
    assert "Acme Tea" in page


def test_product_page_tracks_the_view(client, workspace):
    page = client.get("/sandbox/shop/p/teapot?workspace=acme").content.decode()
    assert 'tidings("track", "view_product"' in page and "WARE-TEAPOT" in page


def test_links_keep_the_workspace(client, workspace):
    page = client.get("/sandbox/shop?workspace=acme").content.decode()
    assert 'href="/sandbox/shop/p/oolong?workspace=acme"' in page and 'href="/sandbox/shop/cart?workspace=acme"' in page


def test_default_is_the_demo_workspace(client, db):
    assert client.get("/sandbox/shop").status_code == 404  # not loaded yet
    workspace_create(slug="demo", name="Tidings Demo 茶飲", is_sandbox=True)
    assert "Tidings Demo 茶飲" in client.get("/sandbox/shop").content.decode()


def test_live_workspaces_and_unknown_products_are_404(client, workspace, make_workspace):
    make_workspace(slug="live-shop", sandbox=False)
    assert client.get("/sandbox/shop?workspace=live-shop").status_code == 404
    assert client.get("/sandbox/shop?workspace=nobody").status_code == 404
    assert client.get("/sandbox/shop/p/nothing?workspace=acme").status_code == 404
