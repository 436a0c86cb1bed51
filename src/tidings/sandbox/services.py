"""Writes shared by the sandbox's fake providers: the request log, deliveries to personas, injected faults, the fakes'
own rate-limit counters, tokens they issue and what personas do with delivered messages.

Provider-neutral: the fake LINE and the fake Twilio both record through these.
"""

import dataclasses
import datetime
import secrets
import time

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from tidings.channels.models import ChannelAccount, RateWindow
from tidings.core import clock
from tidings.core.bulk import db_value, rows_insert
from tidings.core.errors import ServiceError
from tidings.core.models import Workspace

from .models import Persona, SandboxDelivery, SandboxFault, SandboxInteraction, SandboxRequest, SandboxToken

# Header values never written to the request log in clear.
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie"}
# WSGI / server plumbing that is not part of what the client sent.
_DROPPED_HEADERS = {"content-length", "host", "connection", "accept-encoding"}


def headers_redacted(headers) -> dict:
    """The request's headers as the client sent them, with the secret part of credentials masked.

    `Authorization: Bearer abc` is kept as `Bearer ***` (and `Basic ***`), so the log still shows the scheme used.
    """
    kept = {}
    for name, value in dict(headers).items():
        low = name.lower()
        if low in _DROPPED_HEADERS:
            continue
        if low in _SECRET_HEADERS:
            scheme = str(value).split(" ", 1)[0] if " " in str(value) else ""
            value = f"{scheme} ***" if scheme else "***"
        kept[name] = value
    return kept


def sandbox_request_record(
    *,
    workspace: Workspace | None,
    account: ChannelAccount | None,
    provider: str,
    method: str,
    path: str,
    query: dict | None = None,
    headers: dict | None = None,
    body=None,
    response_status: int,
    response_body=None,
) -> SandboxRequest:
    """Log one request a fake provider received and what it answered. `headers` are redacted here."""
    return SandboxRequest.objects.create(
        workspace=workspace, account=account, provider=provider, method=method.upper(), path=path,
        query=query or {}, headers=headers_redacted(headers or {}), body=body, response_status=response_status,
        response_body=response_body, created_at=clock.now(workspace) if workspace is not None else clock.now(),
    )


@dataclasses.dataclass(slots=True)
class DeliveryRow:
    """A delivery the fake is about to record, without a model instance: a multicast makes up to 500 of them per
    request, and building SandboxDelivery objects and preparing their fields one by one was most of its cost."""

    account_id: int
    persona_id: int
    provider: str
    channel: str
    kind: str
    payload: dict  # shared by every recipient of the same message: adapted to the database once
    provider_message_id: str
    delivered: bool = True
    request_id: int | None = None


def sandbox_deliveries_record(*, workspace: Workspace, deliveries: list) -> list:
    """Store the provider messages that reached (or, `delivered=False`, did not reach) personas' phones, in order.

    `deliveries` are SandboxDelivery instances or DeliveryRows. A multicast writes 500, so they go in multi-row
    INSERTs of values prepared once: on SQLite half the cost of running one INSERT per row, and the fake provider is
    not what a fan-out benchmark measures.
    """
    if not deliveries:
        return deliveries
    at = clock.now(workspace)
    columns = ["workspace_id", "account_id", "persona_id", "request_id", "provider", "channel", "kind", "payload",
               "provider_message_id", "delivered", "created_at"]
    created_at = db_value(SandboxDelivery, "created_at", at)
    payloads: dict[int, object] = {}  # id(payload) -> its database value
    rows = []
    for d in deliveries:
        payload = payloads.get(id(d.payload))
        if payload is None:
            payload = payloads[id(d.payload)] = db_value(SandboxDelivery, "payload", d.payload)
        rows.append((workspace.pk, d.account_id, d.persona_id, d.request_id, d.provider, d.channel, d.kind, payload,
                     d.provider_message_id, d.delivered, created_at))
        if isinstance(d, SandboxDelivery):
            d.workspace_id, d.created_at = workspace.pk, at
    rows_insert(SandboxDelivery, columns, rows)
    return deliveries


# --- faults ------------------------------------------------------------------------------------------------------


def sandbox_fault_inject(
    *,
    workspace: Workspace,
    account: ChannelAccount,
    path: str,
    status: int = 500,
    times: int = 1,
    method: str = "POST",
    after_processing: bool = False,
) -> SandboxFault:
    """Make the next `times` calls to `method path` of this sandbox account answer `status` (500, 429, 503…).

    `path` is the provider's path (`/v2/bot/message/push`). With `after_processing` the fake first does the work
    (delivers, remembers the retry key) and then answers the error: an accepted request whose answer was lost.
    """
    if account.workspace_id != workspace.pk or not account.is_sandbox:
        raise ServiceError(_("Faults can only be injected into this workspace's sandbox accounts."), field="account")
    if not 400 <= int(status) <= 599:
        raise ServiceError(_("Choose an error status between 400 and 599."), field="status")
    if times < 1:
        raise ServiceError(_("Inject the fault at least once."), field="times")
    return SandboxFault.objects.create(
        account=account, method=method.upper(), path=path, status=int(status), remaining=times,
        after_processing=after_processing,
    )


def sandbox_fault_take(*, account: ChannelAccount, method: str, path: str) -> SandboxFault | None:
    """The fault that applies to this call, if any, counted as used."""
    matching = SandboxFault.objects.filter(account=account, method=method.upper(), path=path, remaining__gt=0)
    if not matching.exists():
        # Nearly every call: answered by a plain read, because on SQLite the locking transaction below takes the
        # database's one write lock, which the fake's every request would otherwise queue for twice.
        return None
    with transaction.atomic():
        fault = matching.select_for_update().order_by("id").first()
        if fault is None:
            return None
        SandboxFault.objects.filter(pk=fault.pk).update(remaining=F("remaining") - 1)
        if fault.remaining <= 1:
            SandboxFault.objects.filter(pk=fault.pk, remaining=0).delete()
    return fault


def sandbox_faults_clear(*, account: ChannelAccount) -> int:
    return SandboxFault.objects.filter(account=account).delete()[0]


# --- the fakes' rate limits ----------------------------------------------------------------------------------------


def _epoch_second() -> int:
    return int(time.time())


def sandbox_rate_count(*, key: str) -> int:
    """Count one request against `key` in the current wall-clock second; returns the count so far, this one included.

    Every request counts, refused ones too, as at a provider. The fake uses its own keys (`sandbox:…`), separate from
    the sender's budgets, because it measures what arrives. One upsert statement (SQLite and PostgreSQL both have
    ON CONFLICT … RETURNING) counts: every request of a fan-out passes here. It still runs in a transaction, because
    on SQLite that is what queues it for the write lock with the process's other writers (a bare statement meets
    them in SQLite's busy handler instead, and a LINE fan-out through the fake ran 15% slower). The fake LINE calls
    it inside the transaction that records the request, so each request queues for the lock once.
    """
    window = _epoch_second()
    ops = connection.ops
    table = ops.quote_name(RateWindow._meta.db_table)
    key_, window_, count_ = (ops.quote_name(RateWindow._meta.get_field(name).column)
                             for name in ("key", "window", "count"))
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_}, {window_}, {count_}) VALUES (%s, %s, 1) "
            f"ON CONFLICT ({key_}, {window_}) DO UPDATE SET {count_} = {table}.{count_} + 1 RETURNING {count_}",
            [key, window],
        )
        count = cursor.fetchone()[0]
    if count == 1:  # this request opened the window: drop the long-past ones
        RateWindow.objects.filter(key=key, window__lt=window - 60).delete()
    return count


# --- tokens ----------------------------------------------------------------------------------------------------------


def sandbox_token_issue(
    *, account: ChannelAccount, persona: Persona, kind: str, lifetime: datetime.timedelta, token: str | None = None
) -> SandboxToken:
    """Issue (or register a given) single-use token valid for `lifetime` on the workspace clock."""
    now = clock.now(account.workspace)
    return SandboxToken.objects.create(
        account=account, persona=persona, kind=kind, token=token or secrets.token_hex(16), issued_at=now,
        expires_at=now + lifetime,
    )


@transaction.atomic
def sandbox_token_use(*, account: ChannelAccount, kind: str, token: str) -> SandboxToken | None:
    """Spend a token: the token if it was valid (unused and not expired), else None. A token is spent only once."""
    now = clock.now(account.workspace)
    found = (
        SandboxToken.objects.select_for_update()
        .select_related("persona")
        .filter(account=account, kind=kind, token=token, used_at__isnull=True, expires_at__gte=now)
        .first()
    )
    if found is None:
        return None
    found.used_at = now
    found.save(update_fields=["used_at"])
    return found


# --- what personas do with delivered messages ----------------------------------------------------------------------


def sandbox_interaction_record(*, delivery: SandboxDelivery, kind: str, url: str = "") -> SandboxInteraction:
    if kind not in ("impression", "click"):
        raise ServiceError(_("Unknown interaction."), field="kind")
    if not delivery.delivered:
        raise ServiceError(_("This message never reached the phone."), field="delivery")
    return SandboxInteraction.objects.create(
        delivery=delivery, kind=kind, url=url, created_at=clock.now(delivery.workspace)
    )
