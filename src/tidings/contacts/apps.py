from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "tidings.contacts"
    label = "contacts"
    verbose_name = "Contacts"

    def ready(self):
        # Registers the clean-up of old export and import files with the workers' housekeeping.
        from . import retention  # noqa: F401
