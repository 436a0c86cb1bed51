from django.db.models import Count, QuerySet

from .models import Timer, TimerState


def pending_timers(workspace) -> QuerySet[Timer]:
    return Timer.objects.for_workspace(workspace).filter(state=TimerState.PENDING).order_by("due_at", "id")


def timer_state_counts(workspace) -> dict[str, int]:
    rows = Timer.objects.for_workspace(workspace).values("state").annotate(n=Count("id"))
    return {row["state"]: row["n"] for row in rows}


def pending_timer_count() -> int:
    return Timer.objects.filter(state=TimerState.PENDING).count()
