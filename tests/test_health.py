import datetime

import pytest
from django.utils import timezone

from tidings.core.services import worker_heartbeat
from tidings.timers.models import Timer

pytestmark = pytest.mark.django_db


def test_healthz_without_a_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["worker_heartbeat_age_seconds"] is None
    assert body["pending_timers"] == 0
    assert body["status"] == "degraded"  # nothing is sweeping timers


def test_healthz_with_a_worker_and_pending_timers(client, workspace):
    worker_heartbeat(worker_id="host:1")
    due = timezone.now() + datetime.timedelta(hours=1)
    Timer.objects.create(workspace=workspace, kind="x", key="a", due_at=due, fires_at=due)
    Timer.objects.create(workspace=workspace, kind="x", key="b", due_at=due, fires_at=due, state="done")
    body = client.get("/healthz").json()
    assert isinstance(body["worker_heartbeat_age_seconds"], (int, float))
    assert 0 <= body["worker_heartbeat_age_seconds"] < 5
    assert body["pending_timers"] == 1
    assert body["status"] == "ok"
