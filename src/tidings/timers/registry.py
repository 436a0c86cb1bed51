"""Timer kinds and their handlers. Apps register handlers when they load:

    @timer_handler("cart.reminder")
    def send_reminder(timer): ...

By default a handler runs inside the transaction that marks its timer done, so its database effects and the "done"
mark commit together or not at all. It must re-check the state of what it acts on (a reminder for a cart that was
checked out does nothing), and reach the outside world only through work that is itself idempotent (the message
pipeline's retry keys, tasks enqueued on commit).

`@timer_handler("kind", outside_transaction=True)` is for handlers whose work IS a call to the outside world (a
fake provider's webhook back to Tidings): they run after the claim commits, holding only the lease, and the done
mark follows in its own transaction. An HTTP call inside the firing transaction would hold SQLite's single write
lock while the receiving process waits for it. Such handlers run at least once - again after a crash - so what they
call must deduplicate (webhook receivers do, by provider event id).
"""

from collections.abc import Callable

_HANDLERS: dict[str, Callable] = {}
_OUTSIDE_TRANSACTION: set[str] = set()


def timer_handler(kind: str, *, outside_transaction: bool = False):
    def register(func):
        if kind in _HANDLERS and _HANDLERS[kind] is not func:
            raise RuntimeError(f"Timer kind {kind!r} already has a handler")
        _HANDLERS[kind] = func
        if outside_transaction:
            _OUTSIDE_TRANSACTION.add(kind)
        return func

    return register


def handler_for(kind: str) -> Callable | None:
    return _HANDLERS.get(kind)


def outside_transaction_kinds() -> set[str]:
    return set(_OUTSIDE_TRANSACTION)


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)
