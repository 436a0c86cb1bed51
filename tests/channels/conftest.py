"""Helpers for webhook tests: sign a body with an account's LINE channel secret and POST it like LINE does."""

import json
import time

import pytest

from tidings.channels.adapters.line.signature import line_signature


def line_post(client, account, body, *, signature: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if signature is None:
        signature = line_signature(account.credentials["channel_secret"], raw)
    return client.post(f"/webhooks/line/{account.public_id}", data=raw, content_type="application/json",
                       headers={"x-line-signature": signature})


def line_event(kind: str, user_id: str, event_id: str, **fields) -> dict:
    """A webhook event shaped like LINE's (webhook.yml), timestamped now."""
    return {
        "type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id}, "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False}, **fields,
    }


@pytest.fixture
def post_line():
    from django.test import Client

    client = Client()

    def post(account, body, **kwargs):
        return line_post(client, account, body, **kwargs)

    return post
