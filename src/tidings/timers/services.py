"""Writes to timers: schedule (idempotent by key), cancel, and the sandbox test clock."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tidings.core import clock
from tidings.core.errors import ServiceError
from tidings.core.models import User, Workspace
from tidings.core.services import workspace_clock_offset_add

from .models import Timer, TimerState
from .registry import handler_for
from .sweeper import sweep_until_idle


def _real_instant(workspace: Workspace, due_at: datetime.datetime) -> datetime.datetime:
    return due_at - workspace.clock_offset if workspace.is_sandbox else due_at


def timer_schedule(
    *,
    workspace: Workspace,
    kind: str,
    key: str,
    due_at: datetime.datetime | None = None,
    delay: datetime.timedelta | None = None,
    payload: dict | None = None,
    replace: bool = False,
) -> Timer:
    """Schedule `kind` to fire at `due_at` (workspace clock) or after `delay`.

    One key, one timer: scheduling again returns the existing row unchanged, unless `replace`, which moves it to
    the new time and payload and makes it pending again (a new add-to-cart recalculating a reminder).
    """
    if (due_at is None) == (delay is None):
        raise ServiceError(_("Give either a due time or a delay."), field="due_at")
    if not key:
        raise ServiceError(_("A timer needs a key."), field="key")
    if handler_for(kind) is None:
        raise ServiceError(_("No handler is registered for timer kind %(kind)s.") % {"kind": kind}, field="kind")
    if due_at is None:
        due_at = clock.now(workspace) + delay
    values = {
        "kind": kind,
        "due_at": due_at,
        "fires_at": _real_instant(workspace, due_at),
        "payload": payload or {},
    }
    existing = Timer.objects.filter(workspace=workspace, key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return Timer.objects.create(workspace=workspace, key=key, **values)
        except IntegrityError:  # another process scheduled the same key a moment ago
            existing = Timer.objects.get(workspace=workspace, key=key)
    if not replace:
        return existing
    Timer.objects.filter(pk=existing.pk).update(
        state=TimerState.PENDING, lease_until=None, attempts=0, last_error="", fired_at=None, **values
    )
    existing.refresh_from_db()
    return existing


def timer_cancel(*, workspace: Workspace, key: str) -> bool:
    """Cancel a pending timer; True if there was one to cancel."""
    return bool(
        Timer.objects.for_workspace(workspace)
        .filter(key=key, state=TimerState.PENDING)
        .update(state=TimerState.CANCELLED, lease_until=None)
    )


def clock_advance(*, workspace: Workspace, by: datetime.timedelta, actor: User | None = None) -> int:
    """Move a sandbox workspace's test clock forward and fire, in due order, what falls due there.

    Only this workspace's timers move; other workspaces are untouched. Timers that handlers schedule during the
    jump are placed relative to the new time. Returns how many timers fired.
    """
    with transaction.atomic():
        workspace_clock_offset_add(workspace=workspace, by=by, actor=actor)
        Timer.objects.for_workspace(workspace).filter(state=TimerState.PENDING).update(fires_at=F("fires_at") - by)
    return sweep_until_idle(workspace=workspace)
