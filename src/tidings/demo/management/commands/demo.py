from django.conf import settings
from django.core.management.base import BaseCommand

from tidings.demo.loader import DEMO_MEMBERS, demo_load


class Command(BaseCommand):
    help = "Load or refresh the demo workspace (idempotent)."

    def handle(self, *args, **options):
        workspace = demo_load()
        self.stdout.write(f"Demo workspace '{workspace.slug}' ready. Members (password: {settings.DEMO_PASSWORD}):")
        for email, _name, role in DEMO_MEMBERS:
            self.stdout.write(f"  {email:28} {role.label}")
