from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "tidings.inbox"
    label = "inbox"
    verbose_name = "Inbox"

    def ready(self):
        # Registers the message-event listeners that keep conversations current (listeners.py).
        from . import listeners  # noqa: F401
