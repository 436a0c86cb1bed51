"""The pipeline's state machine against a scriptable test channel: send, retry through timers, fail, crash re-runs."""

import datetime

import pytest

from tidings.channels.events import SendResult
from tidings.channels.models import ChannelAccount
from tidings.contacts.models import Contact
from tidings.core.errors import NotFound, ServiceError
from tidings.messaging import delivery, services
from tidings.messaging.models import (
    Dispatch,
    DispatchKind,
    DispatchStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Purpose,
    TrackedLink,
)
from tidings.messaging.delivery import dispatch_deliver
from tidings.messaging.services import message_send, message_send_bulk
from tidings.timers.models import Timer, TimerState
from tidings.timers.services import clock_advance

from .conftest import bulk_recipients

pytestmark = pytest.mark.django_db

TEXT = [{"type": "text", "text": "Hello"}]


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run what a block schedules on commit (delivery tasks, with the immediate backend), as production would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def events(message):
    return set(MessageEvent.objects.filter(message=message).values_list("kind", flat=True))


def test_send_queues_one_dispatch_then_delivers_in_order_with_provider_ids(
    workspace, probe, probe_account, make_recipient, run_commits
):
    contact, identity = make_recipient(probe_account, "u1")
    contents = [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]
    messages = run_commits(message_send, workspace=workspace, contact=contact, channel="probe", contents=contents,
                           purpose=Purpose.CHAT, source="member:1")
    assert [m.position for m in messages] == [0, 1]
    assert [m.status for m in messages] == ["queued", "queued"]  # as accepted; delivery ran after commit
    dispatch = Dispatch.objects.get()
    assert dispatch.kind == DispatchKind.PUSH and dispatch.status == DispatchStatus.SENT and dispatch.attempts == 1
    assert dispatch.sent_at is not None and dispatch.options["aggregation_unit"] == "chat_member_1"
    [call] = probe.calls
    assert call["recipients"] == ["u1"] and call["contents"] == contents
    assert call["retry_key"] == dispatch.retry_key
    stored = list(Message.objects.order_by("position"))
    assert [m.status for m in stored] == ["sent", "sent"]
    assert [m.provider_message_id for m in stored] == [f"p{dispatch.pk}-0", f"p{dispatch.pk}-1"]
    assert all(events(m) == {"queued", "sent"} for m in stored)
    contact.refresh_from_db()
    assert contact.last_team_interaction_at is not None and contact.last_marketing_at is None


def test_more_contents_than_one_request_carries_split_into_ordered_dispatches(
    workspace, probe, probe_account, make_recipient, run_commits
):
    contact, _ = make_recipient(probe_account)
    contents = [{"type": "text", "text": f"m{i}"} for i in range(7)]
    run_commits(message_send, workspace=workspace, contact=contact, channel="probe", contents=contents)
    assert [len(c["contents"]) for c in probe.calls] == [5, 2]
    assert [c["contents"][0]["text"] for c in probe.calls] == ["m0", "m5"]


def test_refusals_name_the_problem(workspace, other_workspace, probe, probe_account, make_recipient):
    contact, _ = make_recipient(probe_account)
    send = dict(workspace=workspace, channel="probe", contents=TEXT)
    with pytest.raises(NotFound):
        message_send(contact=999_999, **send)
    foreign = Contact.objects.create(workspace=other_workspace, name="Elsewhere")
    with pytest.raises(NotFound):
        message_send(contact=foreign, **send)
    bare = Contact.objects.create(workspace=workspace, name="No identity")
    with pytest.raises(ServiceError) as err:
        message_send(contact=bare, **send)
    assert err.value.field == "channel" and "no" in err.value.message.lower()
    with pytest.raises(ServiceError) as err:
        message_send(workspace=workspace, contact=contact, channel="probe", contents=[{"type": "buttons", "text": "Hi"}])
    assert err.value.field == "messages[0].actions"
    with pytest.raises(ServiceError) as err:  # the adapter's own limit
        message_send(workspace=workspace, contact=contact, channel="probe",
                     contents=[{"type": "text", "text": "ok"}, {"type": "text", "text": "x" * 51}])
    assert err.value.field == "messages[1].text"
    with pytest.raises(ServiceError) as err:
        message_send(workspace=workspace, contact=contact, channel="nope", contents=TEXT)
    assert err.value.field == "channel"
    ChannelAccount.objects.filter(pk=probe_account.pk).update(is_active=False)
    with pytest.raises(ServiceError) as err:
        message_send(contact=contact, **send)
    assert err.value.field == "channel"
    assert not Message.objects.exists() and not Dispatch.objects.exists()


def test_line_refusal_message_for_a_contact_without_line(workspace, line_account):
    bare = Contact.objects.create(workspace=workspace, name="No LINE")
    with pytest.raises(ServiceError) as err:
        message_send(workspace=workspace, contact=bare, channel="line", contents=TEXT)
    assert err.value.field == "channel"
    assert err.value.message == "This customer has no LINE account connected."


def test_transient_failure_backs_off_through_a_timer_then_sends_once(
    workspace, probe, probe_account, make_recipient, run_commits
):
    contact, _ = make_recipient(probe_account)
    probe.script = [SendResult(outcome="retry", http_status=500, error={"status": 500, "message": "boom"})]
    [message] = run_commits(message_send, workspace=workspace, contact=contact, channel="probe", contents=TEXT)
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PENDING and dispatch.attempts == 1
    assert dispatch.last_error["status"] == 500
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    timer = Timer.objects.get(kind=delivery.RETRY_TIMER_KIND, state=TimerState.PENDING)
    assert timer.payload == {"dispatch_id": dispatch.pk}
    # backoff: between half and all of the first step
    delay = (timer.due_at - dispatch.created_at).total_seconds()
    assert delivery.BACKOFF_BASE / 2 - 1 <= delay <= delivery.BACKOFF_BASE + 5

    run_commits(clock_advance, workspace=workspace, by=datetime.timedelta(seconds=3))
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT and dispatch.attempts == 2 and dispatch.last_error is None
    assert len(probe.calls) == 2 and probe.calls[0]["retry_key"] == probe.calls[1]["retry_key"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and events(message) == {"queued", "sent"}


def test_retry_after_is_honoured_and_backoff_is_capped():
    assert delivery._backoff(1, 30.0) == 30.0
    assert all(delivery._backoff(50, None) <= delivery.BACKOFF_CAP for _ in range(20))
    first = [delivery._backoff(1, None) for _ in range(50)]
    assert min(first) >= delivery.BACKOFF_BASE / 2 and max(first) <= delivery.BACKOFF_BASE
    assert len(set(first)) > 1  # jittered


def test_a_provider_refusal_fails_the_messages_with_its_error(
    workspace, probe, probe_account, make_recipient, run_commits
):
    contact, _ = make_recipient(probe_account)
    error = {"status": 400, "message": "The request body has 1 error(s)",
             "details": [{"message": "May not be empty", "property": "messages[0].text"}]}
    probe.script = [SendResult(outcome="failed", http_status=400, error=error)]
    [message] = run_commits(message_send, workspace=workspace, contact=contact, channel="probe", contents=TEXT)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error == error
    assert MessageEvent.objects.get(message=message, kind="failed").data == error
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.FAILED and dispatch.last_error == error
    assert not Timer.objects.exists()
    contact.refresh_from_db()
    assert contact.last_team_interaction_at is None  # nothing was sent


def test_gives_up_after_max_attempts_keeping_the_last_error(
    workspace, probe, probe_account, make_recipient, run_commits
):
    contact, _ = make_recipient(probe_account)
    probe.script = [SendResult(outcome="retry", http_status=503, error={"status": 503, "message": f"down {i}"})
                    for i in range(delivery.MAX_ATTEMPTS)]
    [message] = run_commits(message_send, workspace=workspace, contact=contact, channel="probe", contents=TEXT)
    for _ in range(delivery.MAX_ATTEMPTS):
        run_commits(clock_advance, workspace=workspace, by=datetime.timedelta(seconds=delivery.BACKOFF_CAP + 1))
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.FAILED and dispatch.attempts == delivery.MAX_ATTEMPTS
    assert len(probe.calls) == delivery.MAX_ATTEMPTS
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error == {"status": 503, "message": f"down {delivery.MAX_ATTEMPTS - 1}"}


def test_an_adapter_that_raises_is_retried_not_lost(workspace, probe, probe_account, make_recipient, run_commits):
    contact, _ = make_recipient(probe_account)
    probe.script = [ConnectionResetError("peer went away")]
    run_commits(message_send, workspace=workspace, contact=contact, channel="probe", contents=TEXT)
    dispatch = Dispatch.objects.get()
    assert dispatch.status == DispatchStatus.PENDING and "ConnectionResetError" in dispatch.last_error["message"]


def test_a_dispatch_left_sending_by_a_dead_worker_is_sent_again_with_the_same_retry_key(
    workspace, probe, probe_account, make_recipient
):
    contact, _ = make_recipient(probe_account)
    [message] = message_send(workspace=workspace, contact=contact, channel="probe", contents=TEXT)  # not delivered
    dispatch = Dispatch.objects.get()
    Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.SENDING, attempts=1)  # died mid-call
    assert dispatch_deliver(dispatch_id=dispatch.pk) == "sent"
    assert probe.calls[0]["retry_key"] == dispatch.retry_key and probe.calls[0]["attempt"] == 2
    assert dispatch_deliver(dispatch_id=dispatch.pk) == "skipped"  # finished: never again
    assert len(probe.calls) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_pnp_dispatch_left_sending_is_failed_as_unknown_not_resent(workspace, line_account, make_recipient):
    contact = Contact.objects.create(workspace=workspace, name="Phone only", phone="+85261234567")
    [message] = services.message_send_pnp(workspace=workspace, contact=contact, contents=TEXT)
    dispatch = Dispatch.objects.get()
    assert dispatch.kind == DispatchKind.PNP and dispatch.options["phone"] == "+85261234567"
    assert 16 <= len(dispatch.options["delivery_tag"]) <= 100
    Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.SENDING, attempts=1)
    assert dispatch_deliver(dispatch_id=dispatch.pk) == "skipped"
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.FAILED and dispatch.attempts == 1
    assert dispatch.last_error == {"message": delivery.PNP_OUTCOME_UNKNOWN}
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error == {"message": delivery.PNP_OUTCOME_UNKNOWN}


def test_a_superseded_attempt_records_nothing(workspace, probe, probe_account, make_recipient):
    contact, _ = make_recipient(probe_account)
    message_send(workspace=workspace, contact=contact, channel="probe", contents=TEXT)
    dispatch = Dispatch.objects.get()
    [claimed] = delivery._claim_many([dispatch.pk])
    Dispatch.objects.filter(pk=dispatch.pk).update(attempts=5)  # another run took over meanwhile
    outcomes = delivery._record_many([claimed], {claimed.pk: list(claimed.messages.all())},
                                     [SendResult(outcome="failed")])
    assert outcomes == {claimed.pk: "superseded"}
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENDING


def test_bulk_send_multicasts_in_batches_of_the_channels_recipient_limit(
    workspace, probe, probe_account, run_commits
):
    identities = bulk_recipients(workspace, probe_account, 1201)
    dispatches = run_commits(message_send_bulk, workspace=workspace, identities=identities, channel="probe",
                             contents=TEXT, purpose=Purpose.BROADCAST, source="broadcast:7")
    assert [d.kind for d in dispatches] == ["multicast"] * 3
    assert sorted(len(c["recipients"]) for c in probe.calls) == [201, 500, 500]
    assert {r for c in probe.calls for r in c["recipients"]} == {i.external_id for i in identities}
    assert all(c["options"]["aggregation_unit"] == "broadcast_7" for c in probe.calls)
    assert Message.objects.filter(status="sent").count() == 1201
    assert MessageEvent.objects.filter(kind="sent").count() == 1201
    assert MessageEvent.objects.filter(kind="queued").count() == 1201
    assert Contact.objects.filter(last_marketing_at__isnull=False).count() == 1201
    assert Contact.objects.filter(last_team_interaction_at__isnull=False).count() == 0


def test_bulk_skips_other_workspaces_inactive_accounts_and_duplicates(
    workspace, other_workspace, probe, probe_account, make_recipient, run_commits
):
    _, mine = make_recipient(probe_account, "mine")
    other_account = ChannelAccount.objects.create(workspace=other_workspace, channel="probe", name="Theirs",
                                                  base_url="https://probe.invalid")
    _, theirs = make_recipient(other_account, "theirs", ws=other_workspace)
    off = ChannelAccount.objects.create(workspace=workspace, channel="probe", name="Off", is_active=False,
                                        base_url="https://probe.invalid")
    _, disconnected = make_recipient(off, "off")
    run_commits(message_send_bulk, workspace=workspace, identities=[mine, mine, theirs, disconnected],
                channel="probe", contents=TEXT)
    assert [c["recipients"] for c in probe.calls] == [["mine"]]


def test_bulk_with_tracked_links_goes_out_as_per_recipient_pushes_with_their_own_links(
    workspace, probe, probe_account, run_commits
):
    identities = bulk_recipients(workspace, probe_account, 3)
    contents = [{"type": "buttons", "text": "Sale", "actions": [
        {"type": "uri", "label": "Shop", "uri": "https://shop.example/sale"},
        {"type": "postback", "label": "Later", "data": "later"},
    ]}]
    run_commits(message_send_bulk, workspace=workspace, identities=identities, channel="probe", contents=contents)
    assert [c["kind"] for c in probe.calls] == ["push"] * 3
    uris = [c["contents"][0]["actions"][0]["uri"] for c in probe.calls]
    assert len(set(uris)) == 3 and all(u.startswith("http://testserver/l/") for u in uris)
    assert all(c["contents"][0]["actions"][1] == {"type": "postback", "label": "Later", "data": "later"}
               for c in probe.calls)
    assert TrackedLink.objects.count() == 3
    assert set(TrackedLink.objects.values_list("url", flat=True)) == {"https://shop.example/sale"}
