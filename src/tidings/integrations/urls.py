from django.urls import path

from . import views

app_name = "integrations"
urlpatterns = [
    path("shopify/<uuid:public_id>", views.shopify_webhook, name="shopify_webhook"),
]
