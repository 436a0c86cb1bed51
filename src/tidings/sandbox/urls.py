from django.urls import include, path

# Fake providers live under /sandbox/<provider>/<account public id>/ and answer at the provider's own paths.
urlpatterns = [
    path("line/", include("tidings.sandbox.fake_line.urls")),
    path("twilio/", include("tidings.sandbox.fake_twilio.urls")),
    path("graph/", include("tidings.sandbox.fake_graph.urls")),
    path("", include("tidings.sandbox.phone.urls")),
    path("", include("tidings.sandbox.shop")),  # the demo shop: /sandbox/shop…
]
