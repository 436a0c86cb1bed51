from django.urls import path

from .webhooks import webhook_receive

app_name = "webhooks"

urlpatterns = [
    path("line/<uuid:public_id>", webhook_receive, {"provider": "line"}, name="line"),
    path("twilio/<uuid:public_id>", webhook_receive, {"provider": "twilio"}, name="twilio"),
]
