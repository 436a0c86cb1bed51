"""Loaded into the benchmark's workers for the "pipeline alone" run: the WhatsApp adapter builds each /messages body
exactly as it would, then answers "sent" without the HTTP call, so the figure is Tidings' own cost (claim, rate
limits, render, record) with the fake Graph API and the web server out of the picture.

Loaded through TIDINGS_TIMER_HANDLER_MODULES, which the worker imports at start-up.
"""

import uuid

from tidings.channels.adapters.whatsapp import WhatsAppAdapter
from tidings.channels.events import SendResult


def _send_without_http(self, account, dispatch, messages):
    self.request_body(account, messages[0])
    return SendResult(outcome="sent", provider_message_ids=[f"wamid.{uuid.uuid4().hex}"], http_status=200)


WhatsAppAdapter.send = _send_without_http
