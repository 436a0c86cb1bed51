import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tidings.settings")

import django  # noqa: E402
from asgiref.sync import sync_to_async  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402


class OneHopASGIHandler(ASGIHandler):
    """Django's ASGI handler, with a request's middleware and view run in one call on one thread.

    Our middleware and views are synchronous. Django's handler runs the middleware chain on a thread, comes back to
    the event loop for its asynchronous core, and goes out to the thread again for the view. Loaded in synchronous
    mode, the chain runs whole in one `sync_to_async` call (the thread-sensitive one Django uses for views), so a
    request goes to its thread and back once. Streaming responses, including the inbox's asynchronous event stream,
    are still sent from the event loop.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django.setup(set_prefix=False)
application = OneHopASGIHandler()
