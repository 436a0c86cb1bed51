from django.apps import AppConfig


class MessageTemplatesConfig(AppConfig):
    name = "tidings.message_templates"
    label = "message_templates"
    verbose_name = "Message templates"

    def ready(self):
        from tidings.channels.inbound import inbound_consumer

        from .inbound import template_status_consumer

        inbound_consumer(template_status_consumer)
