"""One place that makes outbound HTTP requests to providers (and, for sandbox accounts, to our own fakes).

With settings.INPROCESS_HTTP (tests), requests to settings.BASE_URL go through the WSGI application in the same
process: real HTTP semantics (methods, headers, bodies, signatures, URL routing, middleware) without a socket.
"""

import httpx
from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.utils import translation

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class _LocalRouting(httpx.BaseTransport):
    def __init__(self):
        from django.core.wsgi import get_wsgi_application

        self._local = httpx.WSGITransport(app=get_wsgi_application())
        self._network = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(settings.BASE_URL):
            # Like Django's test client: the in-process request shares this thread's connection (and its open
            # transaction), so it must not close "old" connections at its start and end.
            signals.request_started.disconnect(close_old_connections)
            signals.request_finished.disconnect(close_old_connections)
            # The request runs in this thread: its LocaleMiddleware must not leave its language active for the caller.
            language = translation.get_language()
            try:
                response = self._local.handle_request(request)
                response.read()  # Django signals request_finished when the body is closed: do it in here
                response.close()
                return response
            finally:
                if language:
                    translation.activate(language)
                else:
                    translation.deactivate()
                signals.request_started.connect(close_old_connections)
                signals.request_finished.connect(close_old_connections)
        return self._network.handle_request(request)

    def close(self):
        self._network.close()


def http_client() -> httpx.Client:
    if settings.INPROCESS_HTTP:
        return httpx.Client(transport=_LocalRouting(), timeout=TIMEOUT)
    return httpx.Client(timeout=TIMEOUT)
