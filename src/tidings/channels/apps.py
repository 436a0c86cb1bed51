from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "tidings.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self):
        from .registry import load_adapters

        load_adapters()
