from django.urls import path

from .webhooks import PROVIDER_CHANNELS, webhook_receive

app_name = "webhooks"

# /webhooks/<provider>/<account public id>, one named route per provider (e.g. webhooks:whatsapp).
urlpatterns = [
    path(f"{provider}/<uuid:public_id>", webhook_receive, {"provider": provider}, name=provider)
    for provider in PROVIDER_CHANNELS
]
