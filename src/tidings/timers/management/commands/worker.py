from django.core.management.base import BaseCommand

from tidings.timers.worker import Worker


class Command(BaseCommand):
    help = "Run the background worker: queued tasks and due timers. Run several for more throughput."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.2, help="seconds to sleep when idle")
        parser.add_argument("--no-tasks", action="store_true", help="only sweep timers")
        parser.add_argument("--no-timers", action="store_true", help="only run tasks")

    def handle(self, *args, interval, no_tasks, no_timers, **options):
        Worker(interval=interval, run_tasks=not no_tasks, run_timers=not no_timers).run()
