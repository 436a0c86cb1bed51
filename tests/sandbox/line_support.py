"""Helpers for the fake LINE tests: personas with every LINE state and a client that talks LINE to the fake.

Test modules import the fixtures: `from .line_support import *  # noqa: F403`.
"""

import itertools
import json
import secrets

import pytest
from django.test import Client

from tidings.channels.adapters.line.signature import line_signature_valid
from tidings.channels.models import WebhookEvent
from tidings.sandbox.models import Persona

_phones = itertools.count(1000)


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


@pytest.fixture
def make_persona(workspace):
    def make(name="Mei", *, phone=None, line=True, friend=True, blocked=False, pnp_consent=True, ws=None):
        return Persona.objects.create(
            workspace=ws or workspace, name=name, phone=phone or f"+8529{next(_phones):07d}",
            line_user_id=new_user_id() if line else "", line_friend=friend, line_blocked=blocked,
            pnp_consent=pnp_consent,
        )

    return make


class LineClient:
    """Speaks to the fake at the account's base_url, like an SDK would (Bearer token, JSON)."""

    def __init__(self, account, token=None):
        self.account = account
        self.prefix = f"/sandbox/line/{account.public_id}"
        self.token = account.credentials["access_token"] if token is None else token
        self.client = Client()

    def _headers(self, headers):
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def post(self, path, body=None, headers=None, content_type="application/json"):
        data = json.dumps(body) if body is not None and content_type == "application/json" else (body or "")
        return self.client.post(self.prefix + path, data=data, content_type=content_type,
                                headers=self._headers(headers))

    def get(self, path, query=None, headers=None):
        return self.client.get(self.prefix + path, data=query or {}, headers=self._headers(headers))


@pytest.fixture
def line(line_account):
    return LineClient(line_account)


def text(t="Hello"):
    return {"type": "text", "text": t}


class WebhookCatcher:
    """Stands in for Tidings' `/webhooks/line/<id>` receiver: records the raw bodies and signatures sent to it."""

    def __init__(self):
        self.calls = []

    def __call__(self, request, public_id):
        from django.http import HttpResponse

        self.calls.append({"public_id": str(public_id), "body": request.body,
                           "signature": request.headers.get("x-line-signature"),
                           "content_type": request.headers.get("Content-Type"),
                           "user_agent": request.headers.get("User-Agent")})
        return HttpResponse(status=self.status)

    status = 200

    def events(self):
        return [e for call in self.calls for e in json.loads(call["body"])["events"]]

    def assert_signed(self, account):
        for call in self.calls:
            assert line_signature_valid(account.credentials["channel_secret"], call["body"], call["signature"])


catcher_urlpatterns = []


@pytest.fixture
def webhook_catcher(settings):
    """Route /webhooks/line/<id> to a catcher (so these tests do not depend on the real receiver's processing)."""
    from django.urls import clear_url_caches, include, path
    from django.views.decorators.csrf import csrf_exempt

    catcher = WebhookCatcher()
    module = type("urls", (), {})()
    module.urlpatterns = [
        path("webhooks/line/<uuid:public_id>", csrf_exempt(catcher)),
        path("", include("tidings.urls")),
    ]
    import sys

    sys.modules["tests.sandbox._catcher_urls"] = module
    settings.ROOT_URLCONF = "tests.sandbox._catcher_urls"
    clear_url_caches()
    yield catcher
    clear_url_caches()


def stored_events(account):
    return list(WebhookEvent.objects.filter(account=account).order_by("id"))
