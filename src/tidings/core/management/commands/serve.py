import os

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the console, the API and webhooks over ASGI (uvicorn)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))

    def handle(self, *args, host, port, workers, **options):
        import uvicorn

        # Open console event streams (inbox real time) never finish by themselves: on shutdown they are cut after
        # a few seconds (browsers reconnect to the next server), instead of keeping the old one alive.
        uvicorn.run(
            "tidings.asgi:application", host=host, port=port, workers=workers, log_level="info",
            lifespan="off", access_log=False, timeout_graceful_shutdown=5,
        )
