"""Timer kinds and their handlers. Apps register handlers when they load:

    @timer_handler("cart.reminder")
    def send_reminder(timer): ...

A handler runs inside the transaction that marks its timer done, so its database effects and the "done" mark
commit together or not at all. It must re-check the state of what it acts on (a reminder for a cart that was
checked out does nothing), and reach the outside world only through work that is itself idempotent (the message
pipeline's retry keys, tasks enqueued on commit).
"""

from collections.abc import Callable

_HANDLERS: dict[str, Callable] = {}


def timer_handler(kind: str):
    def register(func):
        if kind in _HANDLERS and _HANDLERS[kind] is not func:
            raise RuntimeError(f"Timer kind {kind!r} already has a handler")
        _HANDLERS[kind] = func
        return func

    return register


def handler_for(kind: str) -> Callable | None:
    return _HANDLERS.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)
