from tests.support.cross_workspace import register_object_factory, register_request_body


def make_whatsapp_template(workspace):
    from tidings.message_templates.models import WhatsAppTemplate

    return WhatsAppTemplate.objects.create(workspace=workspace, name="xws_template", language="en",
                                           category="UTILITY", body="Hello {{1}}, from another workspace",
                                           examples={"body": ["Mei"]})


register_object_factory("whatsapp_template_id", make_whatsapp_template)
register_request_body("PUT", "/api/v1/whatsapp-templates/{whatsapp_template_id}", {
    "name": "hijacked", "language": "en", "category": "UTILITY", "body": "Changed {{1}} here"})
