from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "tidings.notify"
    label = "notify"
    verbose_name = "LINE notification shortcut"

    def ready(self):
        # Registers the cascade's message-event listener (messaging.events); timer handlers load on their own.
        from . import cascade  # noqa: F401
