from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tidings.core import clock
from tidings.core.durations import format_duration, parse_duration
from tidings.core.errors import ServiceError
from tidings.core.selectors import workspace_by_slug
from tidings.timers.selectors import pending_timers
from tidings.timers.services import clock_advance


class Command(BaseCommand):
    help = "Show or advance a sandbox workspace's test clock (advancing fires whatever falls due)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        show = sub.add_parser("show")
        show.add_argument("--workspace", required=True)
        advance = sub.add_parser("advance")
        advance.add_argument("--workspace", required=True)
        advance.add_argument("--by", required=True, help="e.g. 2h30m, 1d, 15m, 90s")

    def handle(self, *args, action, workspace, **options):
        ws = workspace_by_slug(workspace)
        if ws is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        if action == "advance":
            try:
                fired = clock_advance(workspace=ws, by=parse_duration(options["by"]))
            except ServiceError as exc:
                raise CommandError(str(exc.message)) from exc
            self.stdout.write(f"Advanced by {options['by']}; {fired} timer(s) fired.")
        ws.refresh_from_db()
        zone = timezone.get_fixed_timezone(0)
        try:
            import zoneinfo

            zone = zoneinfo.ZoneInfo(ws.time_zone)
        except Exception:  # noqa: BLE001 - fall back to UTC display
            pass
        now = clock.now(ws).astimezone(zone)
        self.stdout.write(f"workspace: {ws.slug} ({'sandbox' if ws.is_sandbox else 'live'})")
        self.stdout.write(f"now: {now.isoformat(timespec='seconds')}")
        self.stdout.write(f"offset: {format_duration(ws.clock_offset)}")
        upcoming = pending_timers(ws)
        self.stdout.write(f"pending timers: {upcoming.count()}")
        for timer in upcoming[:10]:
            self.stdout.write(f"  {timer.due_at.astimezone(zone).isoformat(timespec='seconds')}  {timer.kind}  {timer.key}")
