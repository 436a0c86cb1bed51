"""The sandbox test clock: advancing it fires what falls due in that workspace, and only there."""

import datetime
import io
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.timers.models import Timer, TimerState
from tidings.timers.services import clock_advance, timer_schedule

from .probe_handlers import fired_keys

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def frozen():
    """Real time stands still, so every clock reading in the test can be compared exactly."""
    instant = timezone.now().replace(microsecond=0)
    with mock.patch("django.utils.timezone.now", return_value=instant):
        yield instant


def test_advancing_one_sandbox_fires_its_due_timers_and_not_another_sandboxes(make_workspace, frozen):
    a = make_workspace(sandbox=True)
    b = make_workspace(sandbox=True)
    for ws in (a, b):
        timer_schedule(workspace=ws, kind="probe.record", key=f"{ws.slug}-1h", due_at=frozen + HOUR)
        timer_schedule(workspace=ws, kind="probe.record", key=f"{ws.slug}-3h", due_at=frozen + 3 * HOUR)

    assert clock_advance(workspace=a, by=2 * HOUR) == 1
    assert fired_keys() == [f"{a.slug}-1h"]
    assert Timer.objects.get(key=f"{a.slug}-3h").state == TimerState.PENDING
    assert set(Timer.objects.filter(workspace=b).values_list("state", flat=True)) == {TimerState.PENDING}
    b.refresh_from_db()
    assert b.clock_offset == datetime.timedelta(0)

    assert clock_advance(workspace=a, by=HOUR) == 1
    assert fired_keys() == [f"{a.slug}-1h", f"{a.slug}-3h"]


def test_the_workspace_clock_moves_by_exactly_the_advance(make_workspace, frozen):
    ws = make_workspace(sandbox=True)
    before = clock.now(ws)
    clock_advance(workspace=ws, by=datetime.timedelta(hours=2, minutes=30))
    assert clock.now(ws) == before + datetime.timedelta(hours=2, minutes=30)
    ws.refresh_from_db()
    assert clock.now(ws) == frozen + datetime.timedelta(hours=2, minutes=30)
    assert ws.audit_entries.filter(action="clock.advance").count() == 1


def test_timers_scheduled_during_the_jump_are_placed_after_the_new_time(make_workspace, frozen):
    ws = make_workspace(sandbox=True)
    timer_schedule(
        workspace=ws, kind="probe.schedule_next", key="first", due_at=frozen + HOUR,
        payload={"then": "follow-up", "after_minutes": 30},
    )
    assert clock_advance(workspace=ws, by=2 * HOUR) == 1
    follow_up = Timer.objects.get(key="follow-up")
    assert follow_up.state == TimerState.PENDING
    assert follow_up.due_at == frozen + 2 * HOUR + datetime.timedelta(minutes=30)
    assert clock_advance(workspace=ws, by=datetime.timedelta(minutes=30)) == 1
    assert fired_keys() == ["first", "follow-up"]


def test_a_live_workspace_has_no_test_clock(make_workspace):
    live = make_workspace(sandbox=False)
    timer_schedule(workspace=live, kind="probe.record", key="k", due_at=timezone.now() + HOUR)
    with pytest.raises(ServiceError):
        clock_advance(workspace=live, by=2 * HOUR)
    live.refresh_from_db()
    assert live.clock_offset == datetime.timedelta(0)
    assert Timer.objects.get(key="k").state == TimerState.PENDING and not fired_keys()


def test_the_clock_only_moves_forward(make_workspace):
    ws = make_workspace(sandbox=True)
    with pytest.raises(ServiceError):
        clock_advance(workspace=ws, by=-HOUR)


def run(*args) -> str:
    out = io.StringIO()
    call_command("clock", *args, stdout=out)
    return out.getvalue()


def test_clock_command_advances_and_shows(make_workspace, frozen):
    ws = make_workspace(slug="shop", sandbox=True, time_zone="UTC")
    timer_schedule(workspace=ws, kind="probe.record", key="soon", due_at=frozen + HOUR)
    timer_schedule(workspace=ws, kind="probe.record", key="later", due_at=frozen + 5 * HOUR)

    out = run("advance", "--workspace", "shop", "--by", "2h30m")
    new_now = frozen + datetime.timedelta(hours=2, minutes=30)
    assert "Advanced by 2h30m; 1 timer(s) fired." in out
    assert f"now: {new_now.isoformat(timespec='seconds')}" in out
    assert "offset: 2h30m" in out
    assert fired_keys() == ["soon"]

    out = run("show", "--workspace", "shop")
    assert f"now: {new_now.isoformat(timespec='seconds')}" in out
    assert "pending timers: 1" in out and "probe.record  later" in out


@translation.override("en")
def test_clock_command_refuses_live_and_unknown_workspaces(make_workspace):
    make_workspace(slug="live", sandbox=False)
    with pytest.raises(CommandError, match="sandbox"):
        run("advance", "--workspace", "live", "--by", "1h")
    with pytest.raises(CommandError, match="nope"):
        run("show", "--workspace", "nope")
    with pytest.raises(CommandError):
        run("advance", "--workspace", "live", "--by", "soon")
