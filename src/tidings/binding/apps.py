from django.apps import AppConfig


class BindingConfig(AppConfig):
    name = "tidings.binding"
    label = "binding"
    verbose_name = "Social identity binding"
