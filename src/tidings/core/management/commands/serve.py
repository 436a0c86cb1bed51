import os
import socket

import uvicorn
from django.core.management.base import BaseCommand
from uvicorn.supervisors import Multiprocess


class TcpConfig(uvicorn.Config):
    """uvicorn's config, except that the socket several workers share is marked as TCP.

    uvicorn makes that socket without a protocol number, so its connections carry none either, and asyncio turns
    Nagle's algorithm off (TCP_NODELAY) only on connections marked TCP. A response written in two parts then waited
    for the client's delayed ACK: one request after another to `--workers 2` took 50 ms each, against 5–8 ms with
    one worker. Wrapping the descriptor again lets the kernel report the protocol.
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(fileno=sock.detach())
        return sock


class Command(BaseCommand):
    help = "Serve the console, the API and webhooks over ASGI (uvicorn)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))

    def handle(self, *args, host, port, workers, **options):
        # Open console event streams (inbox real time) never finish by themselves: on shutdown they are cut after
        # a few seconds (browsers reconnect to the next server), instead of keeping the old one alive.
        config = TcpConfig(
            "tidings.asgi:application", host=host, port=port, workers=workers, log_level="info",
            lifespan="off", access_log=False, timeout_graceful_shutdown=5,
        )
        if config.workers > 1:  # what uvicorn.run does, with this config
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(config).run()
