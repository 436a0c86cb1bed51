"""Fixtures for pipeline tests: a scriptable test-only channel ("probe") whose adapter records every request.

The real LINE adapter and fake are exercised in test_line_e2e.py; the probe channel lets the state machine be
driven outcome by outcome (sent, retry, failed, a raise) without a provider.
"""

import pytest

from tests.support.workers import WorkerProcesses
from tidings.channels.content import KINDS
from tidings.channels.events import SendResult
from tidings.channels.models import ChannelAccount
from tidings.channels.registry import _ADAPTERS, adapter_register
from tidings.contacts.models import ChannelIdentity, Contact
from tidings.core.errors import ServiceError


class ProbeAdapter:
    channel = "probe"
    supported_kinds = frozenset(KINDS)
    max_messages_per_request = 5
    max_recipients_per_request = 500

    def __init__(self):
        self.reset()

    def reset(self):
        self.calls: list[dict] = []
        self.script: list[SendResult | Exception] = []  # outcomes to give, in order; then "sent"

    def default_base_url(self):
        return "https://probe.invalid"

    def validate(self, contents):
        for i, content in enumerate(contents):
            if getattr(content, "type", "") == "text" and len(content.text) > 50:
                raise ServiceError("Probe texts are at most 50 characters.", field=f"messages[{i}].text")

    def send(self, account, dispatch, messages):
        ids = list(dict.fromkeys(m.identity_id for m in messages if m.identity_id))
        external = dict(ChannelIdentity.objects.filter(pk__in=ids).values_list("pk", "external_id"))
        recipients = [external[i] for i in ids]
        first = messages[0].identity_id
        self.calls.append({
            "dispatch": dispatch.pk, "kind": dispatch.kind, "retry_key": dispatch.retry_key,
            "recipients": recipients, "attempt": dispatch.attempts, "options": dict(dispatch.options),
            "contents": [m.content for m in messages if m.identity_id == first],
        })
        outcome = self.script.pop(0) if self.script else SendResult(outcome="sent")
        if isinstance(outcome, Exception):
            raise outcome
        if outcome.outcome == "sent" and dispatch.kind == "push" and not outcome.provider_message_ids:
            return SendResult(outcome="sent", provider_message_ids=[f"p{dispatch.pk}-{m.position}" for m in messages])
        return outcome


PROBE = ProbeAdapter()


@pytest.fixture
def probe():
    previous = _ADAPTERS.get("probe")
    adapter_register(PROBE)
    PROBE.reset()
    yield PROBE
    if previous is None:
        _ADAPTERS.pop("probe", None)


@pytest.fixture
def probe_account(workspace, probe):
    return ChannelAccount.objects.create(workspace=workspace, channel="probe", name="Probe", external_id="probe-1",
                                         base_url="https://probe.invalid")


@pytest.fixture
def make_recipient(workspace):
    def make(account, external_id=None, *, name="", ws=None):
        ws = ws or workspace
        contact = Contact.objects.create(workspace=ws, name=name or f"Customer {external_id}")
        identity = ChannelIdentity.objects.create(workspace=ws, contact=contact, channel=account.channel,
                                                  account=account, external_id=external_id or f"u{contact.pk}",
                                                  subscribed=True)
        return contact, identity

    return make


def bulk_recipients(workspace, account, n: int, prefix="u"):
    """n contacts with one identity each on `account`, inserted in bulk."""
    contacts = Contact.objects.bulk_create([Contact(workspace=workspace, name=f"C{i}") for i in range(n)],
                                           batch_size=2000)
    return ChannelIdentity.objects.bulk_create(
        [ChannelIdentity(workspace=workspace, contact=c, channel=account.channel, account=account,
                         external_id=f"{prefix}{i}", subscribed=True) for i, c in enumerate(contacts)],
        batch_size=2000,
    )


def line_personas(workspace, account, n: int, *, friend=True, blocked=False, pnp_consent=False, start=0):
    """n sandbox personas who are LINE users of `account`, each with a contact and a LINE identity (bulk inserts).

    Returns the identities, in persona order.
    """
    from tidings.sandbox.models import Persona

    contacts = Contact.objects.bulk_create(
        [Contact(workspace=workspace, name=f"Persona {start + i}", phone=f"+852{61000000 + start + i}") for i in range(n)],
        batch_size=2000,
    )
    personas = Persona.objects.bulk_create(
        [Persona(workspace=workspace, name=c.name, phone=c.phone, contact=c, line_user_id=f"U{c.pk:032x}",
                 line_friend=friend, line_blocked=blocked, pnp_consent=pnp_consent) for c in contacts],
        batch_size=2000,
    )
    return ChannelIdentity.objects.bulk_create(
        [ChannelIdentity(workspace=workspace, contact=p.contact, channel="line", account=account,
                         external_id=p.line_user_id, subscribed=friend and not blocked) for p in personas],
        batch_size=2000,
    )


class TaskWorkers(WorkerProcesses):
    """Real `tidings worker` processes (tasks and timers) on the test database, calling the fakes in-process."""

    def start(self, *, interval=0.05):
        return self.spawn(["--interval", str(interval)], {
            "TIDINGS_TASK_BACKEND": "django_tasks_db.DatabaseBackend",
            "TIDINGS_INPROCESS_HTTP": "1",
            "TIDINGS_BASE_URL": "http://testserver",
        })


@pytest.fixture
def task_workers(tmp_path, settings):
    # Tasks go to the database queue, where the worker subprocesses take them.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    pools = []

    def make(env=None):
        pool = TaskWorkers(tmp_path, env)
        pools.append(pool)
        return pool

    try:
        yield make
    finally:
        for pool in pools:
            pool.kill_all()
