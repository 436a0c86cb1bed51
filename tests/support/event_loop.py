import asyncio
import threading


def run_in_own_loop(coroutine):
    """asyncio.run in a thread of its own: in a worker that already ran a browser test, Playwright's sync API keeps
    an event loop running in this thread, and asyncio.run refuses to start another beside it."""
    outcome = {}

    def run():
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
