from tests.support.cross_workspace import register_object_factory


def make_shopify_store(workspace):
    from tidings.integrations.services import shopify_store_connect

    return shopify_store_connect(workspace=workspace, actor=None, shop_domain=f"xws-{workspace.slug}",
                                 webhook_secret="xws-secret")


register_object_factory("shopify_store_id", make_shopify_store)
