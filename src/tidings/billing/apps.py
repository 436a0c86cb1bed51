from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "tidings.billing"
    label = "billing"
    verbose_name = "Balance and billing"

    def ready(self):
        # Refunds react to messaging's failed events through its listener registry (messaging may not import us).
        from . import listeners  # noqa: F401
