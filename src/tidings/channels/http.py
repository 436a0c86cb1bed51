"""One place that makes outbound HTTP requests to providers (and, for sandbox accounts, to our own fakes).

With settings.INPROCESS_HTTP (tests), requests to settings.BASE_URL go through the WSGI application in the same
process: real HTTP semantics (methods, headers, bodies, signatures, URL routing, middleware) without a socket.
"""

import httpx
from django.conf import settings

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class _LocalRouting(httpx.BaseTransport):
    def __init__(self):
        from django.core.wsgi import get_wsgi_application

        self._local = httpx.WSGITransport(app=get_wsgi_application())
        self._network = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(settings.BASE_URL):
            return self._local.handle_request(request)
        return self._network.handle_request(request)

    def close(self):
        self._network.close()


def http_client() -> httpx.Client:
    if settings.INPROCESS_HTTP:
        return httpx.Client(transport=_LocalRouting(), timeout=TIMEOUT)
    return httpx.Client(timeout=TIMEOUT)
