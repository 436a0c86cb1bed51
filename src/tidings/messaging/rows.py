"""Bulk row writes shared by sending and delivering: a broadcast touches thousands of rows per statement, not one each."""

import sqlite3

from django.db import connection

from .events import message_events_recorded
from .models import Message, MessageEvent

BATCH = 2000  # rows per bulk INSERT


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]


def quoted(name: str) -> str:
    return connection.ops.quote_name(name)


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


def db_value(model, field_name: str, value):
    """A value as the database takes it for this field (JSON encoded, datetimes adapted): prepare a value shared by
    many rows once, not once per row."""
    return model._meta.get_field(field_name).get_db_prep_save(value, connection)


def _max_params() -> int:
    if connection.vendor == "sqlite":  # Django assumes 999; SQLite since 3.32 takes 32,766 unless built otherwise
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65_000


def rows_insert(model, fields: list[str], rows: list[tuple]) -> list[int]:
    """Multi-row INSERTs of prepared values (db_value) for these fields, in as few statements as the database's
    parameter limit allows; returns the new ids in row order.

    What bulk_create does without a model instance and a field preparation per value: for a broadcast's ten
    thousand dispatches and messages that overhead was most of the storing time.
    """
    if not rows:
        return []
    columns = ", ".join(quoted(model._meta.get_field(name).column) for name in fields)
    per_statement = max(1, min(BATCH, _max_params() // len(fields)))
    placeholder = f"({', '.join(['%s'] * len(fields))})"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for chunk in chunks(rows, per_statement):
            sql = (f"INSERT INTO {quoted(model._meta.db_table)} ({columns}) VALUES "
                   f"{', '.join([placeholder] * len(chunk))} RETURNING {quoted(model._meta.pk.column)}")
            cursor.execute(sql, [value for row in chunk for value in row])
            ids += [row[0] for row in cursor.fetchall()]
    return ids
