"""Shared fixtures: workspaces, members of any role, and logged-in console and API clients."""

import itertools

import pytest
from django.test import Client

from tidings.core.roles import SALES_ROLES, Role
from tidings.core.services import api_token_create, member_add, store_create, workspace_create

_seq = itertools.count(1)

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _english():
    """Service messages outside a request are in English in tests (the product's default is 繁體中文); requests
    still speak the member's or browser's language, and the translation tests check the catalogs."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _immediate_tasks(settings):
    # Tasks run inline in tests unless a test starts a real worker.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Real hashing costs ~0.3 s a password; tests create hundreds of members.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Provider calls to sandbox fakes and their webhooks back go through the WSGI app in-process.
    settings.INPROCESS_HTTP = True
    settings.BASE_URL = "http://testserver"
    # Per-person spacing (WhatsApp: 6 s) would make every test that sends twice to one person sleep; the tests of
    # that limit turn it back on.
    settings.RATE_PAIR_INTERVALS = {}


@pytest.fixture
def make_workspace(db):
    def make(*, slug=None, sandbox=True, **fields):
        n = next(_seq)
        return workspace_create(slug=slug or f"ws{n}", name=fields.pop("name", f"Workspace {n}"), is_sandbox=sandbox, **fields)

    return make


@pytest.fixture
def workspace(make_workspace):
    return make_workspace(slug="acme", name="Acme Tea")


@pytest.fixture
def other_workspace(make_workspace):
    return make_workspace(slug="rival", name="Rival Coffee")


@pytest.fixture
def make_member(db):
    def make(workspace, role=Role.ADMIN, *, email=None, name="", language="en"):
        n = next(_seq)
        store = None
        if role in SALES_ROLES:
            store = workspace.stores.first() or store_create(
                workspace=workspace, actor=None, name=f"Store {n}", code=f"S{n}"
            )
        membership = member_add(
            workspace=workspace, actor=None, email=email or f"{role}-{n}@example.test", name=name or f"{role} {n}",
            role=role, password=PASSWORD, store=store, employee_code=f"E{n}" if store else "",
        )
        membership.user.language = language
        membership.user.save(update_fields=["language"])
        return membership

    return make


@pytest.fixture
def admin(workspace, make_member):
    return make_member(workspace, Role.ADMIN, email="admin@acme.test")


@pytest.fixture
def console_client():
    """A Django test client logged in as the given membership, in that membership's workspace."""

    def make(membership):
        user = membership.user
        user.current_workspace = membership.workspace
        user.save(update_fields=["current_workspace"])
        client = Client()
        client.force_login(user)
        return client

    return make


class ApiClient:
    def __init__(self, raw_token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def _call(self, method, path, json=None):
        kwargs = {"headers": self.headers}
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path):
        return self._call("get", path)

    def post(self, path, json=None):
        return self._call("post", path, json if json is not None else {})

    def patch(self, path, json=None):
        return self._call("patch", path, json if json is not None else {})

    def put(self, path, json=None):
        return self._call("put", path, json if json is not None else {})

    def delete(self, path):
        return self._call("delete", path)


@pytest.fixture
def api_client():
    """An API client holding a fresh bearer token for the given membership."""

    def make(membership):
        _token, raw = api_token_create(
            workspace=membership.workspace, actor=None, membership=membership, name="test"
        )
        return ApiClient(raw)

    return make


def _sandbox_account(workspace, channel: str, name: str):
    """A sandbox account: its fake provider lives at account.base_url and needs no credentials."""
    from tidings.channels.services import account_create

    return account_create(workspace=workspace, actor=None, channel=channel, name=name)


@pytest.fixture
def line_account(workspace):
    """A sandbox LINE Official Account in `workspace`."""
    return _sandbox_account(workspace, "line", "Acme LINE OA")


@pytest.fixture
def sms_account(workspace):
    """A sandbox Twilio SMS sender in `workspace`."""
    return _sandbox_account(workspace, "sms", "Acme SMS")


@pytest.fixture
def whatsapp_account(workspace):
    """A sandbox WhatsApp Business number in `workspace` (fake Graph API)."""
    return _sandbox_account(workspace, "whatsapp", "Acme WhatsApp")


@pytest.fixture
def messenger_account(workspace):
    """A sandbox Facebook Page (Messenger) in `workspace`."""
    return _sandbox_account(workspace, "messenger", "Acme Page")


@pytest.fixture
def instagram_account(workspace):
    """A sandbox Instagram professional account in `workspace`."""
    return _sandbox_account(workspace, "instagram", "Acme Instagram")
