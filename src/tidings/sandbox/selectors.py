"""Reads for the sandbox: personas as the fake providers see them, the request log, deliveries."""

from django.db import connection

from tidings.channels.adapters.line.signature import pnp_phone_hash
from tidings.channels.models import ChannelAccount
from tidings.core.bulk import quoted
from tidings.core.models import Workspace

from .models import Persona, SandboxDelivery, SandboxRequest


def sandbox_account_by_public_id(public_id, channel: str) -> ChannelAccount | None:
    """A sandbox account a fake provider serves; live accounts are never answered by the fakes."""
    return (
        ChannelAccount.objects.select_related("workspace")
        .filter(public_id=public_id, channel=channel, mode="sandbox")
        .first()
    )


def sandbox_line_account(workspace: Workspace) -> ChannelAccount | None:
    """The workspace's sandbox LINE account that personas' LINE user ids belong to (the first active one)."""
    return (
        ChannelAccount.objects.filter(workspace=workspace, channel="line", mode="sandbox", is_active=True)
        .order_by("id")
        .first()
    )


def personas_by_line_user(workspace: Workspace, user_ids) -> dict[str, Persona]:
    ids = [u for u in set(user_ids) if u]
    if not ids:
        return {}
    return {p.line_user_id: p for p in Persona.objects.filter(workspace=workspace, line_user_id__in=ids)}



def line_recipients(workspace: Workspace, user_ids) -> dict[str, tuple[int, bool]]:
    """LINE user id -> (persona id, whether push and multicast reach them: a friend who has not blocked the account),
    for a multicast's up to 500 recipients without loading whole personas."""
    ids = [u for u in set(user_ids) if u]
    if not ids:
        return {}
    # Plain SQL: the ORM prepared each of the 500 parameters one by one, about a millisecond of every multicast the
    # fake answered. No ORDER BY: ordering by id would have the database walk every persona instead of the index.
    column = {name: quoted(Persona._meta.get_field(name).column)
              for name in ("workspace", "line_user_id", "id", "line_friend", "line_blocked")}
    sql = (f"SELECT {column['line_user_id']}, {column['id']}, {column['line_friend']}, {column['line_blocked']} "
           f"FROM {quoted(Persona._meta.db_table)} WHERE {column['workspace']} = %s "
           f"AND {column['line_user_id']} IN ({', '.join(['%s'] * len(ids))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, *ids])
        rows = cursor.fetchall()
    return {user_id: (pk, bool(friend) and not blocked) for user_id, pk, friend, blocked in rows}

# workspace id -> {phone hash: persona id}, per process. Hashing every persona's phone on every PNP request made a
# run of 10,000 notification messages quadratic (0.4 s a request at 10,000 personas); a hit is checked against the
# persona's current phone, and a miss or a stale entry rebuilds the table, so it is never wrong, only sometimes cold.
_PNP_HASHES: dict[int, dict[str, int]] = {}


def persona_by_pnp_hash(workspace: Workspace, digest: str) -> Persona | None:
    """The persona whose E.164 phone hashes to `digest` (LINE notification messages address phones by hash)."""
    for rebuild in (False, True):
        table = _PNP_HASHES.get(workspace.pk)
        if table is None or rebuild:
            table = {pnp_phone_hash(phone): pk for pk, phone in
                     Persona.objects.filter(workspace=workspace).values_list("pk", "phone")}
            _PNP_HASHES[workspace.pk] = table
        pk = table.get(digest)
        persona = Persona.objects.filter(workspace=workspace, pk=pk).first() if pk is not None else None
        if persona is not None and pnp_phone_hash(persona.phone) == digest:
            return persona
    return None


def sandbox_requests(workspace: Workspace, *, provider: str | None = None, path: str | None = None,
                     account: ChannelAccount | None = None):
    """The request log, newest first."""
    qs = SandboxRequest.objects.for_workspace(workspace)
    if provider:
        qs = qs.filter(provider=provider)
    if path:
        qs = qs.filter(path=path)
    if account is not None:
        qs = qs.filter(account=account)
    return qs.order_by("-created_at", "-id")


def persona_deliveries(persona: Persona, *, channel: str | None = None):
    """What reached (or was stopped on the way to) one persona's phone, oldest first."""
    qs = SandboxDelivery.objects.filter(persona=persona)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("created_at", "id")
