"""WhatsApp statuses reported in batches, as Meta sends them: up to 1,000 updates in one webhook body.

A send queues its statuses (sent now, delivered a moment later, or failed) as rows due at their time, and makes
sure one flush timer exists for its account at the end of their quarter second. The flush posts every due status
of the account, oldest first, in bodies of up to 1,000, and deletes what Tidings accepted; a refusal keeps them for
the timer's retry. A fan-out of thousands of messages so costs a few webhooks per second, not two per message.

No status is left behind: the flush timer of a quarter second is reused only while nobody has started firing it
(its row is locked meanwhile, and the sweeper skips locked timers); otherwise the status gets a timer of its own.
"""

import datetime
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tidings.channels.models import ChannelAccount
from tidings.core import clock
from tidings.timers.models import Timer, TimerState
from tidings.timers.services import timer_schedule

from ..models import SandboxStatusOutbox
from .common import GraphWebhookFailed, graph_webhook_send
from .whatsapp_webhooks import wa_webhook_statuses

FLUSH_TIMER = "sandbox.graph_statuses"
PER_BODY = 1000  # Meta: "batches up to 1,000 updates"
CLAIM_FOR = datetime.timedelta(seconds=60)
SLICES_PER_SECOND = 4  # statuses due in the same quarter second share a flush at its end


@transaction.atomic
def statuses_queue(account: ChannelAccount, groups: list[tuple[list[dict], datetime.timedelta]]) -> None:
    """Report each group of statuses after its delay (workspace clock), batched; part of the caller's transaction."""
    workspace = account.workspace
    now = clock.now(workspace)
    due_ats = [now + delay for _statuses, delay in groups]
    rows = SandboxStatusOutbox.objects.bulk_create(
        [SandboxStatusOutbox(workspace=workspace, account=account, due_at=due, status=status)
         for (statuses, _delay), due in zip(groups, due_ats, strict=True) for status in statuses])
    slices = {f"{FLUSH_TIMER}:{account.pk}:{slice_}": slice_
              for slice_ in sorted({int(due.timestamp() * SLICES_PER_SECOND) + 1 for due in due_ats})}
    flushes = {timer.key: timer for timer in
               Timer.objects.select_for_update().filter(workspace=workspace, key__in=list(slices)).order_by("key")}
    for key, slice_ in slices.items():
        existing = flushes.get(key)
        if existing is not None:
            if existing.state == TimerState.PENDING and existing.lease_until is None:
                continue  # that flush is still to come and will find these rows
            key = f"{key}:{rows[0].pk}"  # that flush has started (or run): it may not see these rows
        timer_schedule(workspace=workspace, kind=FLUSH_TIMER, key=key, payload={"account_id": account.pk},
                       due_at=datetime.datetime.fromtimestamp(slice_ / SLICES_PER_SECOND, tz=datetime.UTC))


def statuses_flush(timer) -> int:
    """Post the account's due statuses in bodies of up to PER_BODY; returns how many went out."""
    account = ChannelAccount.objects.select_related("workspace").filter(pk=timer.payload["account_id"]).first()
    if account is None or not account.is_active:
        return 0
    posted = 0
    while True:
        batch = _claim(account)
        if not batch:
            return posted
        response = graph_webhook_send(account, wa_webhook_statuses(account, [row.status for row in batch]))
        if not 200 <= response.status_code < 300:
            SandboxStatusOutbox.objects.filter(pk__in=[row.pk for row in batch]).update(claim="", claimed_until=None)
            raise GraphWebhookFailed(f"webhook answered {response.status_code}")
        SandboxStatusOutbox.objects.filter(pk__in=[row.pk for row in batch]).delete()
        posted += len(batch)
        if len(batch) < PER_BODY:
            return posted


def _claim(account: ChannelAccount) -> list[SandboxStatusOutbox]:
    """Take up to PER_BODY due statuses nobody else is posting, oldest first."""
    now = timezone.now()
    free = Q(claim="") | Q(claimed_until__lt=now)
    token = secrets.token_hex(16)
    with transaction.atomic():
        due = (SandboxStatusOutbox.objects.filter(free, account=account, due_at__lte=clock.now(account.workspace))
               .order_by("id").values_list("id", flat=True)[:PER_BODY])
        SandboxStatusOutbox.objects.filter(free, pk__in=list(due)).update(claim=token, claimed_until=now + CLAIM_FOR)
    return list(SandboxStatusOutbox.objects.filter(claim=token).order_by("id"))
