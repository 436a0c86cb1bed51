"""Integrations (SPEC D5), Admins only (Permission.INTEGRATIONS_MANAGE): the tracking script to paste into the
shop's pages, and Shopify stores — connect one, see the webhook URL and topics to subscribe, its recent
deliveries, replace its secret, disconnect."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tidings.core.errors import ServiceError
from tidings.core.permissions import Permission
from tidings.integrations.selectors import shopify_deliveries, shopify_store_get, shopify_stores
from tidings.integrations.services import shopify_store_connect, shopify_store_disconnect, shopify_store_set_secret

from ..access import form_error, require

# What to subscribe in Shopify (Settings > Notifications > Webhooks, or the app's subscriptions), JSON format.
SHOPIFY_TOPICS = ["carts/create", "carts/update", "checkouts/create", "checkouts/update", "orders/create"]


class ShopifyConnectForm(forms.Form):
    shop_domain = forms.CharField(label=gettext_lazy("Shop address"), max_length=255,
                                  help_text=gettext_lazy("Its myshopify.com address, e.g. acme-tea.myshopify.com."))
    webhook_secret = forms.CharField(
        label=gettext_lazy("Webhook signing secret"), max_length=200, widget=forms.PasswordInput(render_value=True),
        help_text=gettext_lazy("Shopify admin > Settings > Notifications > Webhooks shows it under the list "
                               "(“Your webhooks will be signed with…”); for an app, its client secret."))
    name = forms.CharField(label=gettext_lazy("Name (optional)"), max_length=120, required=False)


class ShopifySecretForm(forms.Form):
    webhook_secret = forms.CharField(label=gettext_lazy("New webhook signing secret"), max_length=200,
                                     widget=forms.PasswordInput)


def _webhook_url(store) -> str:
    return settings.BASE_URL + reverse("integrations:shopify_webhook", kwargs={"public_id": store.public_id})


def _script_snippet(workspace) -> str:
    src = settings.BASE_URL + reverse("widget:script")
    return (
        "<script>\n"
        "  window.tidings = window.tidings || function () { (tidings.q = tidings.q || []).push(arguments); };\n"
        f"  tidings('init', {{workspace: '{workspace.slug}', memberId: '', email: '', phone: '', name: ''}});\n"
        "</script>\n"
        f'<script async src="{src}"></script>'
    )


@require(Permission.INTEGRATIONS_MANAGE)
def integrations(request):
    workspace = request.workspace
    form = ShopifyConnectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            store = shopify_store_connect(workspace=workspace, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("%(shop)s is connected. Now subscribe its webhooks to the URL below.")
                             % {"shop": store.shop_domain})
            return redirect("console:shopify_store", shopify_store_id=store.pk)
    stores = [{"store": s, "webhook_url": _webhook_url(s)} for s in shopify_stores(workspace)]
    return render(request, "console/integrations/index.html", {
        "form": form, "stores": stores, "snippet": _script_snippet(workspace), "topics": SHOPIFY_TOPICS,
        "show_form": bool(request.method == "POST" or not stores),
    })


def _store(request, shopify_store_id):
    store = shopify_store_get(request.workspace, shopify_store_id)
    if store is None:
        raise Http404
    return store


@require(Permission.INTEGRATIONS_MANAGE)
def shopify_store(request, shopify_store_id):
    store = _store(request, shopify_store_id)
    form = ShopifySecretForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            shopify_store_set_secret(workspace=request.workspace, actor=request.user, store=store,
                                     webhook_secret=form.cleaned_data["webhook_secret"])
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("The webhook secret was replaced."))
            return redirect("console:shopify_store", shopify_store_id=store.pk)
    return render(request, "console/integrations/shopify_store.html", {
        "store": store, "webhook_url": _webhook_url(store), "topics": SHOPIFY_TOPICS, "form": form,
        "deliveries": shopify_deliveries(request.workspace, store),
    })


@require_POST
@require(Permission.INTEGRATIONS_MANAGE)
def shopify_disconnect(request, shopify_store_id):
    store = _store(request, shopify_store_id)
    shopify_store_disconnect(workspace=request.workspace, actor=request.user, store=store)
    messages.success(request, _("%(shop)s was disconnected; its webhooks are refused from now on.")
                     % {"shop": store.shop_domain})
    return redirect("console:integrations")


URLS = [
    path("settings/integrations", integrations, name="integrations"),
    path("settings/integrations/shopify/<int:shopify_store_id>", shopify_store, name="shopify_store"),
    path("settings/integrations/shopify/<int:shopify_store_id>/disconnect", shopify_disconnect,
         name="shopify_disconnect"),
]
