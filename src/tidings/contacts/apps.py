from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "tidings.contacts"
    label = "contacts"
    verbose_name = "Contacts"
