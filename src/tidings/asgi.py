import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidings.settings")

from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import django  # noqa: E402
from asgiref.sync import ThreadSensitiveContext, sync_to_async  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, with a request's middleware and view run in one call on one thread.

    Our middleware and views are synchronous. Django's handler runs the middleware chain on a thread, comes back to
    the event loop for its asynchronous core, and goes out to the thread again for the view. Loaded in synchronous
    mode, the chain runs whole in one `sync_to_async` call (the thread-sensitive one Django uses for views), so a
    request goes to its thread and back once. Streaming responses, including the inbox's asynchronous event stream,
    are still sent from the event loop.
    """

    # The sandbox's fake providers (LINE, Graph, Twilio APIs) answer Tidings' own workers: a fan-out sends them dozens
    # of requests at once. Served in turn on one thread of their own, a 500-recipient multicast costs about 12 ms of
    # CPU instead of 17 on a thread of its own amid the others (GIL hand-offs, a thread started per request, the
    # write lock's queue), and the console and webhooks keep their own threads. No fake endpoint calls this server
    # back (their webhooks go out from timers), so queueing them cannot deadlock.
    FAKE_PROVIDER_PATHS = ("/sandbox/line/", "/sandbox/graph/", "/sandbox/twilio/")

    def __init__(self):
        super().__init__()
        self.fake_provider_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fake-provider")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.FAKE_PROVIDER_PATHS):
            async with ThreadSensitiveContext(executor=self.fake_provider_thread):
                await self.handle(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
application = OneHopASGIHandler()
