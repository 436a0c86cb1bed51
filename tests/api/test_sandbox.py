"""The sandbox test clock over the API: moving one workspace's clock fires its due timers, and only its own."""

import datetime

from tidings.core.roles import Role
from tidings.timers.models import Timer, TimerState
from tidings.timers.registry import timer_handler
from tidings.timers.services import timer_schedule

FIRED: list[tuple[int, str]] = []


@timer_handler("test.api_probe")
def api_probe(timer):
    FIRED.append((timer.workspace_id, timer.key))


def test_get_clock(workspace, admin_api):
    response = admin_api.get("/api/v1/sandbox/clock")
    assert response.status_code == 200
    body = response.json()
    assert body["offset_seconds"] == 0
    assert body["time_zone"] == "Asia/Taipei"
    now = datetime.datetime.fromisoformat(body["now"])
    assert now.utcoffset() == datetime.timedelta(hours=8)
    assert abs((now - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 60


def test_advance_fires_this_workspaces_due_timers_only(workspace, other_workspace, admin_api):
    FIRED.clear()
    hour = datetime.timedelta(hours=1)
    timer_schedule(workspace=workspace, kind="test.api_probe", key="soon", delay=hour)
    timer_schedule(workspace=workspace, kind="test.api_probe", key="later", delay=5 * hour)
    timer_schedule(workspace=other_workspace, kind="test.api_probe", key="rival-soon", delay=hour)

    response = admin_api.post("/api/v1/sandbox/clock", {"advance": "2h30m"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["fired"] == 1
    assert body["offset_seconds"] == 9000
    assert FIRED == [(workspace.pk, "soon")]

    states = dict(Timer.objects.values_list("key", "state"))
    assert states == {"soon": TimerState.DONE, "later": TimerState.PENDING, "rival-soon": TimerState.PENDING}
    other_workspace.refresh_from_db()
    assert other_workspace.clock_offset == datetime.timedelta(0)
    assert admin_api.get("/api/v1/sandbox/clock").json()["offset_seconds"] == 9000


def test_bad_duration_is_422_on_advance(admin_api):
    response = admin_api.post("/api/v1/sandbox/clock", {"advance": "soonish"})
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "advance"


def test_not_a_sandbox_is_404_with_a_message(make_workspace, make_member, api_client):
    live = make_workspace(slug="live", sandbox=False)
    client = api_client(make_member(live, Role.ADMIN))
    for response in (client.get("/api/v1/sandbox/clock"), client.post("/api/v1/sandbox/clock", {"advance": "1h"})):
        assert response.status_code == 404
        assert "not a sandbox" in response.json()["message"]
    live.refresh_from_db()
    assert live.clock_offset == datetime.timedelta(0)


def test_clock_is_admin_only(workspace, make_member, api_client):
    client = api_client(make_member(workspace, Role.SUPERVISOR))
    assert client.post("/api/v1/sandbox/clock", {"advance": "1h"}).status_code == 403
    workspace.refresh_from_db()
    assert workspace.clock_offset == datetime.timedelta(0)
