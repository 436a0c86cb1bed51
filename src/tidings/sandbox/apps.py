from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "tidings.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox providers and simulated customers"
