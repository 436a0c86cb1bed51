from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "tidings.demo"
    label = "demo"
    verbose_name = "Demo workspace"
