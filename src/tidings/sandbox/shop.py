"""The sandbox's demo shop (SPEC D5): a small storefront that embeds the tracking script the way a real shop would,
so the tracking, identification and binding flows can be tried (and browser-tested) end to end.

`/sandbox/shop?workspace=<slug>` (default: the demo workspace) — products, a product page (view_product), cart
(add_to_cart / remove_from_cart, kept in the browser like most shops), checkout (checkout, then purchase), a
"log in as member" box (the script's init with a member id) and a "Bind LINE" button (`tidings('bind', …)`).
Public like a shop's site, but only for sandbox workspaces (anything else is a 404).
"""

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from tidings.core.selectors import workspace_by_slug

DEMO_WORKSPACE = "demo"  # tidings.demo.loader.DEMO_SLUG (the demo app sits above the sandbox in the layers)

PRODUCTS = [
    {"id": "TEA-OOLONG", "slug": "oolong", "name": "凍頂烏龍茶", "subtitle": _("Dongding oolong, 150 g"),
     "price": 480, "glyph": "烏", "hue": 28, "category": _("Tea leaves"),
     "description": _("Lightly roasted high-mountain oolong from Nantou: honeyed, floral, good for five brews.")},
    {"id": "TEA-JASMINE", "slug": "jasmine", "name": "茉莉綠茶", "subtitle": _("Jasmine green tea, 100 g"),
     "price": 320, "glyph": "茉", "hue": 95, "category": _("Tea leaves"),
     "description": _("Green tea scented seven times with fresh jasmine blossoms.")},
    {"id": "KIT-MILKTEA", "slug": "milk-tea-kit", "name": "珍珠奶茶禮盒", "subtitle": _("Bubble milk tea kit for 6"),
     "price": 360, "glyph": "奶", "hue": 35, "category": _("Kits"),
     "description": _("Assam black tea, brown-sugar pearls and wide straws: six cups at home.")},
    {"id": "TEA-LEMON", "slug": "lemon-black", "name": "檸檬紅茶", "subtitle": _("Lemon black tea, 12 bags"),
     "price": 280, "glyph": "檸", "hue": 50, "category": _("Tea bags"),
     "description": _("Ceylon black tea with dried lemon peel, for iced tea in summer.")},
    {"id": "WARE-TEAPOT", "slug": "teapot", "name": "手拉朱泥壺", "subtitle": _("Hand-thrown clay teapot, 180 ml"),
     "price": 1280, "glyph": "壺", "hue": 12, "category": _("Teaware"),
     "description": _("Yixing-style red clay, thrown by hand in Yingge. Each one is a little different.")},
    {"id": "GIFT-SEASONS", "slug": "four-seasons", "name": "四季茶禮", "subtitle": _("Four seasons gift box"),
     "price": 980, "glyph": "禮", "hue": 340, "category": _("Gifts"),
     "description": _("Spring green, summer jasmine, autumn oolong and winter black tea in one box.")},
]
BY_SLUG = {p["slug"]: p for p in PRODUCTS}


def _shop_workspace(request):
    slug = request.GET.get("workspace") or DEMO_WORKSPACE
    workspace = workspace_by_slug(slug)
    if workspace is None or not workspace.is_sandbox:
        raise Http404("The demo shop opens for sandbox workspaces only.")
    return workspace


def _product_json(product) -> dict:
    return {"id": product["id"], "slug": product["slug"], "name": product["name"],
            "subtitle": str(product["subtitle"]), "price": product["price"], "glyph": product["glyph"],
            "hue": product["hue"], "category": str(product["category"])}


def _page(request, template: str, **context):
    workspace = _shop_workspace(request)
    return render(request, template, {
        "workspace": workspace, "query": f"?workspace={workspace.slug}", "products": PRODUCTS,
        "catalog": [_product_json(p) for p in PRODUCTS], **context,
    })


def shop_home(request):
    return _page(request, "sandbox/shop.html", page="home")


def shop_product(request, slug: str):
    product = BY_SLUG.get(slug)
    if product is None:
        raise Http404("No such product")
    return _page(request, "sandbox/shop_product.html", page="product", product=product,
                 product_json=_product_json(product))


def shop_cart(request):
    return _page(request, "sandbox/shop_cart.html", page="cart")


def shop_checkout(request):
    return _page(request, "sandbox/shop_checkout.html", page="checkout")


app_name = "sandbox_shop"
urlpatterns = [
    path("shop", shop_home, name="home"),
    path("shop/p/<slug:slug>", shop_product, name="product"),
    path("shop/cart", shop_cart, name="cart"),
    path("shop/checkout", shop_checkout, name="checkout"),
]
