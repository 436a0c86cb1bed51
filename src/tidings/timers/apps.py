from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.utils.module_loading import autodiscover_modules


class TimersConfig(AppConfig):
    name = "tidings.timers"
    label = "timers"
    verbose_name = "Durable timers"

    def ready(self):
        load_timer_handlers()


def load_timer_handlers() -> None:
    """Import every module that registers timer handlers, so any process (web, worker, shell) knows every kind.

    Each installed app may have a `timer_handlers` module; `TIMER_HANDLER_MODULES` (env
    `TIDINGS_TIMER_HANDLER_MODULES`, comma-separated) names more - e.g. a test-only or benchmark handler module
    that a worker subprocess must load. A module named there that cannot be imported is an error, not a silence.
    """
    autodiscover_modules("timer_handlers")
    for module in getattr(settings, "TIMER_HANDLER_MODULES", []):
        import_module(module)
