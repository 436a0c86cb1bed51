from django.db import connection
from django.http import JsonResponse

from tidings.core.selectors import worker_heartbeat_age_seconds
from tidings.timers.selectors import pending_timer_count


def healthz(request):
    """Liveness for load balancers and people: database reachable, worker alive, timers waiting."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
        database = f"error: {exc.__class__.__name__}"
    heartbeat_age = worker_heartbeat_age_seconds() if database == "ok" else None
    pending = pending_timer_count() if database == "ok" else None
    worker_ok = heartbeat_age is not None and heartbeat_age < 30
    status = "ok" if database == "ok" and worker_ok else "degraded"
    return JsonResponse(
        {
            "status": status,
            "database": database,
            "database_vendor": connection.vendor,
            "worker_heartbeat_age_seconds": heartbeat_age,
            "pending_timers": pending,
        },
        status=200 if database == "ok" else 503,
    )
