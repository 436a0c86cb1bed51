from django.apps import AppConfig


class BindingConfig(AppConfig):
    name = "tidings.binding"
    label = "binding"
    verbose_name = "Social identity binding"

    def ready(self):
        # Registers the inbound-event consumer with channels.inbound (channels may not import binding).
        from . import inbound  # noqa: F401
        # Registers the listener that masks phone codes in sent SMS (messaging may not import binding).
        from . import phone_otp  # noqa: F401
