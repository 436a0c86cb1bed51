"""The benchmark's timer kind: does nothing, so the figures measure the sweeper, not a handler.

Workers load it through TIDINGS_TIMER_HANDLER_MODULES=bench.timers.handlers (repo root on PYTHONPATH).
"""

from tidings.timers.registry import timer_handler


@timer_handler("bench.noop")
def noop(timer):
    pass
