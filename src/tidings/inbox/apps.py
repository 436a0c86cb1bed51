from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "tidings.inbox"
    label = "inbox"
    verbose_name = "Inbox"

    def ready(self):
        # Registers the message-event listeners that keep conversations current (listeners.py), and the clean-up
        # of old export files with the workers' housekeeping (retention.py).
        from . import listeners, retention  # noqa: F401
