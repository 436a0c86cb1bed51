from django.core.management.base import BaseCommand, CommandError

from tidings.core.errors import ServiceError
from tidings.core.selectors import workspace_by_slug


class Command(BaseCommand):
    help = "Prepaid balance chores: convert a former SMS quota into balance (once per workspace)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        migrate = sub.add_parser("migrate-sms-quota", help="Add the old SMS quota 1:1 to the balance, once.")
        migrate.add_argument("--workspace", required=True, help="the workspace's slug")
        migrate.add_argument("--quota", required=True, type=int, help="SMS left in the old quota")

    def handle(self, *args, action, workspace, **options):
        from tidings.billing.selectors import balance_get
        from tidings.billing.services import sms_quota_migrate

        ws = workspace_by_slug(workspace)
        if ws is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        try:
            entry, created = sms_quota_migrate(workspace=ws, quota=options["quota"])
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from exc
        if created:
            self.stdout.write(f"Migrated an SMS quota of {options['quota']} into the balance of {ws.slug}: "
                              f"balance {entry.balance_after}.")
        elif entry is not None:
            self.stdout.write(f"Already migrated on {entry.created_at:%Y-%m-%d %H:%M} UTC ({entry.amount}); "
                              f"nothing added. Balance {balance_get(ws)}.")
        else:
            self.stdout.write("A quota of 0 adds nothing.")
