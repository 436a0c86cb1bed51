"""Helpers the browser tests share: screenshots on request, and waiting for what a real server does in its own time."""

import os
import time
from pathlib import Path


def screenshot(page, name: str) -> None:
    """Save a screenshot when TIDINGS_SCREENSHOTS names a folder (to look at the pages, not to assert on them)."""
    folder = os.environ.get("TIDINGS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def wait_for(check, timeout: float = 10.0):
    """Poll `check()` until it returns something truthy (and return it); fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")
