from django.apps import AppConfig


class TimersConfig(AppConfig):
    name = "tidings.timers"
    label = "timers"
    verbose_name = "Durable timers"
