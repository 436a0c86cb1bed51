from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tidings.core.permissions import render_permissions_markdown


class Command(BaseCommand):
    help = "Write docs/permissions.md from the permission matrix in code."

    def handle(self, *args, **options):
        target = Path(settings.PROJECT_DIR) / "docs" / "permissions.md"
        target.write_text(render_permissions_markdown(), encoding="utf-8")
        self.stdout.write(f"wrote {target}")
