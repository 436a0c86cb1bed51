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


def whatsapp_customer_writes(workspace, *, name: str, phone: str, text: str):
    """A sandbox customer inside WhatsApp's 24-hour window writes `text`; returns (persona, conversation) once
    Tidings has the conversation."""
    from tidings.inbox.models import Conversation
    from tidings.sandbox.personas import persona_act, persona_create

    persona = persona_create(workspace=workspace, name=name, phone=phone, line=False, whatsapp={"in_window": True})
    persona_act(workspace=workspace, persona=persona, action="send", channel="whatsapp", text=text)
    conversation = wait_for(lambda: Conversation.objects.filter(contact=persona.contact, channel="whatsapp").first())
    return persona, conversation
