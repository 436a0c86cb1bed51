from django.apps import AppConfig


class WidgetConfig(AppConfig):
    name = "tidings.widget"
    label = "widget"
    verbose_name = "Storefront script"
