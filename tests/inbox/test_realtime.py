"""The real-time bus (SPEC I3): what is published after a commit reaches the workspace's subscribers — on the
embedded table bus and on Redis — never on rollback, never another workspace's, and resumes after a reconnect."""

import threading
import time

import pytest
from django.db import transaction

from tidings.inbox import realtime
from tidings.inbox.models import Conversation, RealtimeEvent
from tidings.messaging.models import Message
from tidings.sandbox.personas import persona_act

from ..sandbox.persona_support import *  # noqa: F403
from .realtime_support import *  # noqa: F403

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_event_reaches_the_subscriber_only_once_its_transaction_commits(bus, workspace):
    subscription = realtime.subscribe(workspace_id=workspace.pk)
    try:
        with transaction.atomic():
            realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "conversation": 7})
            assert events_within(subscription, 0.4) == []  # still uncommitted
        assert events_within(subscription, 1.0) == [{"type": "message", "conversation": 7}]
    finally:
        subscription.close()


def test_nothing_is_published_when_the_transaction_rolls_back(bus, workspace):
    subscription = realtime.subscribe(workspace_id=workspace.pk)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "conversation": 1})
            raise RuntimeError("refused")
        realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "conversation": 2})
        # The later event arrives, and it is the only one: the rolled-back one never existed.
        assert events_within(subscription, 1.0, count=2) == [{"type": "message", "conversation": 2}]
    finally:
        subscription.close()


def test_a_workspace_never_receives_another_workspaces_events(bus, workspace, other_workspace):
    ours = realtime.subscribe(workspace_id=workspace.pk)
    theirs = realtime.subscribe(workspace_id=other_workspace.pk)
    try:
        realtime.publish(workspace_id=other_workspace.pk, payload={"type": "status", "message": 1})
        realtime.publish(workspace_id=workspace.pk, payload={"type": "status", "message": 2})
        assert events_within(ours, 1.0, count=2) == [{"type": "status", "message": 2}]
        assert events_within(theirs, 0.3, count=2) == [{"type": "status", "message": 1}]
    finally:
        ours.close()
        theirs.close()


def test_a_reconnecting_console_gets_what_it_missed_in_order(bus, workspace):
    first = realtime.subscribe(workspace_id=workspace.pk)
    realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "n": 1})
    seen = first.get(timeout=1.0)
    first.close()
    assert [e.payload["n"] for e in seen] == [1]
    for n in (2, 3):  # while nobody listens
        realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "n": n})
    again = realtime.subscribe(workspace_id=workspace.pk, after=first.cursor)
    try:
        realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "n": 4})
        assert [p["n"] for p in events_within(again, 1.0, count=4)] == [2, 3, 4]
    finally:
        again.close()


def test_a_page_rendered_before_the_stream_opened_misses_nothing(bus, workspace):
    at_render = realtime.cursor(workspace_id=workspace.pk)
    realtime.publish(workspace_id=workspace.pk, payload={"type": "conversation", "conversation": 5})
    subscription = realtime.subscribe(workspace_id=workspace.pk, after=at_render)
    try:
        assert events_within(subscription, 1.0) == [{"type": "conversation", "conversation": 5}]
    finally:
        subscription.close()


def _forget_everything(bus_name, workspace):
    if bus_name == "database":
        RealtimeEvent.objects.all().delete()
    else:
        bus = realtime.current_bus()
        bus.client.xtrim(bus.stream(workspace.pk), maxlen=0)


def test_a_console_that_was_away_longer_than_events_are_kept_is_told_to_resync(bus, workspace):
    first = realtime.subscribe(workspace_id=workspace.pk)
    realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "n": 1})
    first.get(timeout=1.0)
    first.close()
    realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "n": 2})
    _forget_everything(bus, workspace)
    again = realtime.subscribe(workspace_id=workspace.pk, after=first.cursor)
    try:
        assert events_within(again, 1.0) == [realtime.RESYNC]
    finally:
        again.close()


def test_a_console_whose_next_events_were_trimmed_away_is_told_to_resync(bus, workspace):
    first = realtime.subscribe(workspace_id=workspace.pk)
    realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "n": 1})
    first.get(timeout=1.0)
    first.close()
    for n in range(2, 7):
        realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "n": n})
    # The bus keeps only the newest two (2, 3 and 4 are gone): replaying 5 and 6 would hide the gap.
    if bus == "database":
        keep = list(RealtimeEvent.objects.order_by("-id").values_list("id", flat=True)[:2])
        RealtimeEvent.objects.exclude(id__in=keep).delete()
    else:
        bus_ = realtime.current_bus()
        bus_.client.xtrim(bus_.stream(workspace.pk), maxlen=2, approximate=False)
    again = realtime.subscribe(workspace_id=workspace.pk, after=first.cursor)
    try:
        assert events_within(again, 1.0) == [realtime.RESYNC]
    finally:
        again.close()


def test_a_console_too_slow_to_keep_up_is_told_to_resync_instead_of_piling_up(bus, workspace, monkeypatch):
    monkeypatch.setattr(realtime, "QUEUE_LIMIT", 5)
    subscription = realtime.subscribe(workspace_id=workspace.pk)
    try:
        with transaction.atomic():
            for n in range(10):
                realtime.publish(workspace_id=workspace.pk, payload={"type": "status", "n": n})
        time.sleep(0.8)  # the console does not read meanwhile
        assert events_within(subscription, 1.0) == [realtime.RESYNC]
    finally:
        subscription.close()


def test_fifty_consoles_share_one_reader_and_all_get_the_event(bus, workspace):
    consoles = [realtime.subscribe(workspace_id=workspace.pk) for _ in range(50)]
    try:
        readers = [t for t in threading.enumerate() if t.name == "tidings-realtime"]
        assert len(readers) == 1
        realtime.publish(workspace_id=workspace.pk, payload={"type": "message", "conversation": 9})
        assert all(events_within(c, 1.0) == [{"type": "message", "conversation": 9}] for c in consoles)
    finally:
        for c in consoles:
            c.close()


def test_a_customer_message_reaches_the_console_with_its_conversation(bus, workspace, new_persona):
    persona = new_persona()
    subscription = realtime.subscribe(workspace_id=workspace.pk)
    try:
        persona_act(workspace=workspace, persona=persona, action="send", channel="line", text="Any oolong left?")
        conversation = Conversation.objects.get(contact=persona.contact, channel="line")
        events = events_within(subscription, 2.0, count=10)
        message_events = [e for e in events if e["type"] == "message"]
        assert message_events == [{"type": "message", "conversation": conversation.pk,
                                   "message": message_events[0]["message"], "direction": "in"}]
        message = Message.objects.get(pk=message_events[0]["message"])
        assert (message.identity_id, message.content["text"]) == (conversation.identity_id, "Any oolong left?")
    finally:
        subscription.close()


def test_old_events_are_pruned_from_the_table(settings, workspace):
    from datetime import timedelta

    from django.utils import timezone

    settings.REALTIME = {**settings.REALTIME, "REDIS_URL": "", "RETENTION_SECONDS": 300}
    old = RealtimeEvent.objects.create(workspace_id=workspace.pk, payload={"type": "message"})
    RealtimeEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    recent = RealtimeEvent.objects.create(workspace_id=workspace.pk, payload={"type": "message"})
    realtime.DatabaseBus().prune()
    assert list(RealtimeEvent.objects.values_list("pk", flat=True)) == [recent.pk]
