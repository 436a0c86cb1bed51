"""Durable timers of the sandbox: webhooks the fake providers send back later (so sandbox test clocks apply)."""

from tidings.timers.registry import timer_handler

from .fake_graph.common import WEBHOOK_TIMER as GRAPH_WEBHOOK_TIMER
from .fake_graph.common import graph_webhook_fire
from .fake_graph.status_batches import FLUSH_TIMER as GRAPH_STATUSES_TIMER
from .fake_graph.status_batches import statuses_flush
from .fake_line.webhooks import WEBHOOK_TIMER, line_webhook_fire
from .fake_twilio import timer_handlers as _fake_twilio  # noqa: F401 - registers sandbox.twilio_callback
from .fake_graph import templates as _fake_templates  # noqa: F401 - registers sandbox.template_review


@timer_handler(WEBHOOK_TIMER, outside_transaction=True)
def line_webhook(timer):
    line_webhook_fire(timer)


@timer_handler(GRAPH_WEBHOOK_TIMER, outside_transaction=True)
def graph_webhook(timer):
    graph_webhook_fire(timer)


@timer_handler(GRAPH_STATUSES_TIMER, outside_transaction=True)
def graph_statuses(timer):
    statuses_flush(timer)
