from django.urls import path

from . import templates

# A WABA's message templates, and edits of one template by its id (Graph: POST /<template-id>).
urlpatterns = [
    path("<uuid:public_id>/v23.0/<str:waba_id>/message_templates", templates.message_templates_view),
    path("<uuid:public_id>/v23.0/<str:template_id>", templates.template_edit),
]
