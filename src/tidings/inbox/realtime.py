"""Real-time bus (SPEC I3): placeholder interface, implemented by the realtime work.

`publish(workspace_id=…, payload=…)` sends after the current transaction commits.
"""

from django.db import transaction


def publish(*, workspace_id: int, payload: dict) -> None:
    transaction.on_commit(lambda: None)
