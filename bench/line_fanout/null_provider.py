"""Loaded into the benchmark's workers for the "pipeline alone" run: the LINE adapter renders each request exactly as
it would, then answers "sent" without making the HTTP call, so the figure is Tidings' own cost (claim, rate limit,
render, record) with the fake provider and the web server out of the picture.

Loaded through TIDINGS_TIMER_HANDLER_MODULES, which the worker imports at start-up (as bench/timers does).
"""

from tidings.channels.adapters.line import LineAdapter
from tidings.channels.events import SendResult


def _send_without_http(self, account, dispatch, messages):
    first = messages[0].identity_id
    self.render([m.content for m in messages if m.identity_id == first])
    return SendResult(outcome="sent", http_status=200)


LineAdapter.send = _send_without_http
