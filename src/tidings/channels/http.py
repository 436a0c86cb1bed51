"""One place that makes outbound HTTP requests to providers (and, for sandbox accounts, to our own fakes).

Each thread keeps one client: connections are kept alive between requests, and the TLS context (loading the CA
bundle costs ~20 ms of CPU) is built once per process instead of once per request.

With settings.INPROCESS_HTTP (tests), requests to settings.BASE_URL go through the WSGI application in the same
process: real HTTP semantics (methods, headers, bodies, signatures, URL routing, middleware) without a socket.
"""

import ssl
import threading
from functools import cache

import httpx
from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.utils import translation

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Drop an idle connection before a server would (uvicorn closes after 5 s), so a request never goes out on a
# connection the other side is closing: a send that fails that way could not tell whether it arrived.
LIMITS = httpx.Limits(max_keepalive_connections=8, keepalive_expiry=4.0)


class _LocalRouting(httpx.BaseTransport):
    def __init__(self):
        self._local = httpx.WSGITransport(app=_wsgi_application())
        self._network = httpx.HTTPTransport(verify=_tls_context(), limits=LIMITS)

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


_tls_context_lock = threading.Lock()
_tls_context_built: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    # Built under a lock: a worker's delivery threads all make their clients at once on their first round, and each
    # would otherwise build a context of its own (tens of ms of CPU apiece) before any of them was kept.
    global _tls_context_built
    with _tls_context_lock:
        if _tls_context_built is None:
            _tls_context_built = httpx.create_ssl_context()
        return _tls_context_built


@cache
def _wsgi_application():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


class _Borrowed:
    """`with http_client() as client:` lends this thread's client without closing it afterwards."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def __enter__(self) -> httpx.Client:
        return self.client

    def __exit__(self, *exc_info) -> bool:
        return False


_clients = threading.local()


def http_client() -> _Borrowed:
    """This thread's client (in-process or network, as settings.INPROCESS_HTTP says), for a `with` block."""
    key = "inprocess" if settings.INPROCESS_HTTP else "network"
    client = getattr(_clients, key, None)
    if client is None or client.is_closed:
        if settings.INPROCESS_HTTP:
            client = httpx.Client(transport=_LocalRouting(), timeout=TIMEOUT)
        else:
            client = httpx.Client(timeout=TIMEOUT, verify=_tls_context(), limits=LIMITS)
        setattr(_clients, key, client)
    return _Borrowed(client)
