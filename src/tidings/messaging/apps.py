from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "tidings.messaging"
    label = "messaging"
    verbose_name = "Messaging"
