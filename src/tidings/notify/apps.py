from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "tidings.notify"
    label = "notify"
    verbose_name = "LINE notification shortcut"
