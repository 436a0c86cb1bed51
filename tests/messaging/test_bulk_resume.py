"""Resumable bulk sends (message_send_bulk with resume_key): stored a part at a time, each part delivered as it
commits, and a send called again after a crash (or beside itself) stores nobody twice and nobody not at all."""

from collections import Counter

import pytest

from tidings.core.errors import ServiceError
from tidings.messaging import services
from tidings.messaging.models import BulkSend, Message, MessageStatus
from tidings.messaging.services import message_send_bulk

from .conftest import bulk_recipients

TEXT = [{"type": "text", "text": "Spring sale"}]


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(services, "BULK_PART_MIN", 500)
    monkeypatch.setattr(services, "BULK_PART_REQUESTS", 1)  # the probe channel takes 500 recipients per request


def _send(workspace, identities, key="broadcast:7"):
    return message_send_bulk(workspace=workspace, identities=identities, channel="probe", contents=TEXT,
                             source="broadcast:7", resume_key=key)


def _recipients_called(probe) -> Counter:
    return Counter(r for call in probe.calls for r in call["recipients"])


@pytest.mark.django_db(transaction=True)
def test_each_part_is_delivered_when_it_commits_before_the_next_is_stored(workspace, probe, probe_account,
                                                                       small_parts, monkeypatch):
    identities = bulk_recipients(workspace, probe_account, 1200)
    delivered_before_part = []
    store = services._bulk_store

    def watched(recipients, **kwargs):
        delivered_before_part.append(len(probe.calls))
        return store(recipients, **kwargs)

    monkeypatch.setattr(services, "_bulk_store", watched)
    dispatches = _send(workspace, [i for i in identities])
    # Real commits with the immediate task backend: each part's multicast went out before the next part was stored.
    assert delivered_before_part == [0, 1, 2]
    assert len(dispatches) == 3
    assert _recipients_called(probe) == Counter({i.external_id: 1 for i in identities})
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 1200
    progress = BulkSend.objects.get(workspace=workspace, key="broadcast:7")
    assert (progress.stored, progress.cursor) == (1200, max(i.pk for i in identities))
    assert progress.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_send_called_again_after_a_crash_stores_only_the_rest_and_then_nothing(workspace, probe, probe_account,
                                                                              small_parts, monkeypatch):
    identities = bulk_recipients(workspace, probe_account, 1200)
    store = services._bulk_store
    parts = []

    def dies_on_the_second_part(recipients, **kwargs):
        parts.append(len(recipients))
        if len(parts) == 2:
            raise RuntimeError("worker killed")
        return store(recipients, **kwargs)

    monkeypatch.setattr(services, "_bulk_store", dies_on_the_second_part)
    with pytest.raises(RuntimeError):
        _send(workspace, identities)
    assert Message.objects.count() == 500  # the first part committed and went out; the second rolled back
    assert sum(_recipients_called(probe).values()) == 500
    assert BulkSend.objects.get(key="broadcast:7").finished_at is None

    monkeypatch.setattr(services, "_bulk_store", store)
    _send(workspace, identities)
    assert Counter(Message.objects.values_list("identity_id", flat=True)) == Counter({i.pk: 1 for i in identities})
    assert _recipients_called(probe) == Counter({i.external_id: 1 for i in identities})

    assert _send(workspace, identities) == []  # finished: a retried task sends nothing
    assert Message.objects.count() == 1200 and len(probe.calls) == 3


@pytest.mark.django_db(transaction=True)
def test_a_run_that_read_the_progress_before_another_committed_stores_nobody_twice(workspace, probe, probe_account,
                                                                                small_parts, monkeypatch):
    identities = bulk_recipients(workspace, probe_account, 800)
    _send(workspace, identities[:500], key="broadcast:9")  # another run stored the first 500 and stopped
    BulkSend.objects.filter(key="broadcast:9").update(finished_at=None)
    recipients = services._recipients

    def stale(*args, after=None, **kwargs):
        return recipients(*args, after=0, **kwargs)  # as read before the other run committed its part

    monkeypatch.setattr(services, "_recipients", stale)
    _send(workspace, identities, key="broadcast:9")
    assert Counter(Message.objects.values_list("identity_id", flat=True)) == Counter({i.pk: 1 for i in identities})


@pytest.mark.django_db
def test_a_refusal_leaves_no_progress_behind_to_skip_recipients_later(workspace, probe, probe_account):
    identities = bulk_recipients(workspace, probe_account, 3)
    with pytest.raises(ServiceError):
        message_send_bulk(workspace=workspace, identities=identities, channel="probe",
                          contents=[{"type": "text", "text": "x" * 51}], resume_key="broadcast:8")
    assert not BulkSend.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_keys_are_per_workspace(workspace, other_workspace, probe, probe_account):
    from tidings.channels.models import ChannelAccount

    theirs = ChannelAccount.objects.create(workspace=other_workspace, channel="probe", name="Theirs",
                                           base_url="https://probe.invalid")
    _send(workspace, bulk_recipients(workspace, probe_account, 2))
    _send(other_workspace, bulk_recipients(other_workspace, theirs, 2, prefix="t"))
    assert Message.objects.count() == 4
    assert BulkSend.objects.filter(key="broadcast:7").count() == 2
