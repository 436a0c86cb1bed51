from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "tidings.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        # Registers the inbound-event consumers with channels.inbound (channels may not import messaging).
        from . import inbound  # noqa: F401
