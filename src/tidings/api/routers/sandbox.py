"""The sandbox test clock: a sandbox workspace's "now" can be moved forward, firing what falls due on the way."""

import datetime
import zoneinfo

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from tidings.core import clock
from tidings.core.durations import parse_duration
from tidings.core.permissions import Permission
from tidings.core.models import Workspace
from tidings.timers.services import clock_advance

from ..auth import actor
from ..errors import COMMON_ERRORS, ObjectNotFound
from ..permissions import requires

router = Router(tags=["sandbox"])


class ClockOut(Schema):
    now: datetime.datetime = Field(..., description="The workspace's current time, in its time zone")
    offset_seconds: int = Field(..., description="How far the test clock is ahead of real time")
    time_zone: str


class ClockAdvanceOut(ClockOut):
    fired: int = Field(..., description="Timers that fell due and fired during the advance")


class ClockAdvanceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    advance: str = Field(..., max_length=32, description="A duration such as 2h30m, 1d, 15m or 90s")


def _sandbox(request) -> Workspace:
    workspace = request.auth.workspace
    if not workspace.is_sandbox:
        raise ObjectNotFound(_("This workspace is not a sandbox, so it has no test clock."))
    return workspace


def clock_out(workspace: Workspace) -> dict:
    try:
        tz = zoneinfo.ZoneInfo(workspace.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.timezone.utc
    return {
        "now": clock.now(workspace).astimezone(tz),
        "offset_seconds": int(workspace.clock_offset.total_seconds()),
        "time_zone": workspace.time_zone,
    }


@router.get("/sandbox/clock", response={200: ClockOut, **COMMON_ERRORS}, summary="The sandbox test clock")
@requires(Permission.TIMERS_VIEW)
def get_clock(request):
    return clock_out(_sandbox(request))


@router.post("/sandbox/clock", response={200: ClockAdvanceOut, **COMMON_ERRORS},
             summary="Move the sandbox test clock forward and fire what falls due")
@requires(Permission.TIMERS_VIEW)
def advance_clock(request, payload: ClockAdvanceIn):
    workspace = _sandbox(request)
    fired = clock_advance(workspace=workspace, by=parse_duration(payload.advance), actor=actor(request))
    workspace.refresh_from_db(fields=["clock_offset"])
    return {**clock_out(workspace), "fired": fired}
