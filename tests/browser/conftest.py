"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        # ./test installs it first; a browser test that silently did not run would hide a broken console.
        pytest.fail("Chromium is not installed: run scripts/setup-browser (./test does)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls there unless told.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server, transactional_db):
    contexts = []

    def make(*, width=1280, height=800):
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    # The live server's event streams notice the closed pages only at their next write; stop the real-time reader
    # now, before the test's database goes away under it.
    from tidings.inbox import realtime

    realtime.hub_stop()


@pytest.fixture
def log_in():
    from tests.conftest import PASSWORD

    def do(page, membership):
        page.goto("/login")
        page.fill("input[name=email]", membership.user.email)
        page.fill("input[name=password]", PASSWORD)
        page.click(".auth-card button[type=submit]")
        page.wait_for_url("**/")

    return do
