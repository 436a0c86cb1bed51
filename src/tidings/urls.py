from django.urls import include, path

from tidings.api.api import api
from tidings.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("webhooks/", include("tidings.channels.urls")),
    path("l/", include("tidings.messaging.urls")),
    path("sandbox/", include("tidings.sandbox.urls")),
    path("bind/", include("tidings.binding.urls")),
    path("widget/", include("tidings.widget.urls")),
    path("integrations/", include("tidings.integrations.urls")),
    path("", include("tidings.console.urls")),
]

handler403 = "tidings.console.views.errors.forbidden"
handler404 = "tidings.console.views.errors.not_found"
