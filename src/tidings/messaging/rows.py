"""Bulk row writes shared by sending and delivering: a broadcast touches thousands of rows per statement, not one each."""

from django.db import connection

from tidings.core.bulk import BATCH, chunks, quoted

from .events import message_events_recorded
from .models import Message, MessageEvent


def dispatch_events_insert(dispatch_ids: list[int], kind: str, at) -> None:
    """The same event on every message of these dispatches; an event already there is left as it is."""
    field = MessageEvent._meta.get_field
    at_value = field("at").get_db_prep_save(at, connection)
    data = field("data").get_db_prep_save({}, connection)
    q = quoted
    for chunk in chunks(dispatch_ids, 500):
        sql = (
            f"INSERT INTO {q(MessageEvent._meta.db_table)} "
            f"({q('workspace_id')}, {q('message_id')}, {q('kind')}, {q('at')}, {q('data')}) "
            f"SELECT {q('workspace_id')}, {q('id')}, %s, %s, %s FROM {q(Message._meta.db_table)} "
            f"WHERE {q('dispatch_id')} IN ({', '.join(['%s'] * len(chunk))}) "
            f"ON CONFLICT DO NOTHING"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [kind, at_value, data, *chunk])


def events_bulk(workspace_id: int, message_ids: list[int], kind: str, at, data: dict | None = None) -> None:
    """The same event on many messages at once; one per (message, kind) as with message_event_record."""
    MessageEvent.objects.bulk_create(
        (MessageEvent(workspace_id=workspace_id, message_id=pk, kind=kind, at=at, data=data or {})
         for pk in message_ids),
        batch_size=BATCH, ignore_conflicts=True,
    )
    message_events_recorded(workspace_id=workspace_id, kind=kind, message_ids=message_ids, at=at, data=data)
