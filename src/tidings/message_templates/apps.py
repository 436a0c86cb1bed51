from django.apps import AppConfig


class MessageTemplatesConfig(AppConfig):
    name = "tidings.message_templates"
    label = "message_templates"
    verbose_name = "Message templates"

    def ready(self):
        from tidings.channels.adapters.whatsapp.renderer import url_button_positions_resolver
        from tidings.channels.inbound import inbound_consumer

        from .inbound import template_status_consumer
        from .selectors import url_button_positions

        inbound_consumer(template_status_consumer)
        url_button_positions_resolver(url_button_positions)
