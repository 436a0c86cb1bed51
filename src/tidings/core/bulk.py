"""Multi-row writes of prepared values: for the paths that write many rows (a broadcast's messages) or must write in
as few round trips as possible (a webhook receiver), without a model instance and a field preparation per value."""

import sqlite3

from django.db import connection

BATCH = 2000  # rows per bulk INSERT


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]


def quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def db_value(model, field_name: str, value):
    """A value as the database takes it for this field (JSON encoded, datetimes adapted): prepare a value shared by
    many rows once, not once per row."""
    return model._meta.get_field(field_name).get_db_prep_save(value, connection)


def _max_params() -> int:
    if connection.vendor == "sqlite":  # Django assumes 999; SQLite since 3.32 takes 32,766 unless built otherwise
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65_000


def rows_insert(model, fields: list[str], rows: list[tuple], *, skip_conflicts: bool = False) -> list[int]:
    """Multi-row INSERTs of prepared values (db_value) for these fields, in as few statements as the database's
    parameter limit allows; returns the new ids in row order.

    `skip_conflicts`: a row that would break a unique constraint is left out (ON CONFLICT DO NOTHING, on both
    PostgreSQL and SQLite) and only the ids of the rows inserted are returned, in id order.
    """
    if not rows:
        return []
    columns = ", ".join(quoted(model._meta.get_field(name).column) for name in fields)
    per_statement = max(1, min(BATCH, _max_params() // len(fields)))
    placeholder = f"({', '.join(['%s'] * len(fields))})"
    conflict = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    ids: list[int] = []
    with connection.cursor() as cursor:
        for chunk in chunks(rows, per_statement):
            sql = (f"INSERT INTO {quoted(model._meta.db_table)} ({columns}) VALUES "
                   f"{', '.join([placeholder] * len(chunk))}{conflict} RETURNING {quoted(model._meta.pk.column)}")
            cursor.execute(sql, [value for row in chunk for value in row])
            ids += [row[0] for row in cursor.fetchall()]
    return sorted(ids) if skip_conflicts else ids


def rows_update_by_pk(model, field_name: str, values: dict) -> None:
    """Set one field to its own value on each row (primary key -> value) in one executemany: an UPDATE per row costs
    the database little, while bulk_update's CASE WHEN expression costs Python a resolved expression per row."""
    if not values:
        return
    field = model._meta.get_field(field_name)
    sql = (f"UPDATE {quoted(model._meta.db_table)} SET {quoted(field.column)} = %s "
           f"WHERE {quoted(model._meta.pk.column)} = %s")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(field.get_db_prep_save(value, connection), pk) for pk, value in values.items()])
