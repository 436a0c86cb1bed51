from django.urls import path

from . import routing, templates, whatsapp

# Mounted at /sandbox/graph/: a sandbox WhatsApp, Messenger or Instagram account's base_url is
# /sandbox/graph/<public_id>, so the paths below are the Graph API's own (/v23.0/<id>/messages…). Paths the
# products share are dispatched by the account's channel (routing.py).
urlpatterns = [
    path("<uuid:public_id>/v23.0/<str:object_id>/messages", routing.messages, name="fake-graph-messages"),
    path("<uuid:public_id>/v23.0/<str:phone_number_id>/media", whatsapp.media_upload_view,
         name="fake-whatsapp-media-upload"),
    path("<uuid:public_id>/v23.0/<str:waba_id>/message_templates", templates.message_templates_view,
         name="fake-whatsapp-templates"),
    path("<uuid:public_id>/v23.0/<str:object_id>", routing.graph_object, name="fake-graph-object"),
    path("<uuid:public_id>/whatsapp_business/attachments/", whatsapp.media_download_view,
         name="fake-whatsapp-media-download"),
]
