from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "tidings.integrations"
    label = "integrations"
    verbose_name = "Integrations"
