"""The demo's prepaid SMS balance: the former SMS quota migrated once and one top-up, so the billing pages, the
notification shortcut's SMS fallback and phone binding have something to spend."""

from tidings.billing.models import EntryKind, LedgerEntry
from tidings.billing.services import balance_top_up, sms_quota_migrate
from tidings.core.models import Workspace

DEMO_SMS_QUOTA = 500
DEMO_TOP_UP = "2000"


def demo_billing(workspace: Workspace) -> None:
    sms_quota_migrate(workspace=workspace, quota=DEMO_SMS_QUOTA)  # idempotent: once per workspace
    if not LedgerEntry.objects.for_workspace(workspace).filter(kind=EntryKind.TOP_UP).exists():
        balance_top_up(workspace=workspace, actor=None, amount=DEMO_TOP_UP, note="Demo top-up")
