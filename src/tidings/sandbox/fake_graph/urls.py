from django.urls import include, path

# Mounted at /sandbox/graph/: a sandbox WhatsApp, Messenger or Instagram account's base_url is
# /sandbox/graph/<public_id>, so the paths in the included modules are the Graph API's own (/v23.0/<id>/messages…).
# Messenger's routes come first: they match only Messenger and Instagram accounts, while WhatsApp's /<id>/messages
# would take any account's send and answer 404 for the wrong channel.
urlpatterns = [
    path("", include("tidings.sandbox.fake_graph.messenger_urls")),
    path("", include("tidings.sandbox.fake_graph.whatsapp_urls")),
    path("", include("tidings.sandbox.fake_graph.templates_urls")),
]
