from django.core.management.base import BaseCommand, CommandError

from tidings.core.errors import ServiceError
from tidings.core.selectors import membership_by_email, workspace_by_slug
from tidings.core.services import api_token_create


class Command(BaseCommand):
    help = "Manage API tokens. `token create --workspace SLUG --email EMAIL` prints the new token on the last line."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token bound to one workspace and member.")
        create.add_argument("--workspace", required=True)
        create.add_argument("--email", required=True)
        create.add_argument("--name", default="CLI token")

    def handle(self, *args, action, workspace, email, name, **options):
        ws = workspace_by_slug(workspace)
        if ws is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        membership = membership_by_email(ws, email)
        if membership is None:
            raise CommandError(f"{email} is not a member of {workspace}.")
        try:
            token, raw = api_token_create(workspace=ws, actor=None, membership=membership, name=name)
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"Token {token.prefix}… for {email} in {ws.slug} ({membership.role}):")
        self.stdout.write(raw)
