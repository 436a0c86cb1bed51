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


def rows_update(model, fields: list[str], rows: list[tuple]) -> None:
    """Give each row its own values: `rows` are (primary key, a value per field), prepared here as the fields store
    them. UPDATE … FROM (VALUES …), one statement per 500 rows, on SQLite (≥ 3.33) and PostgreSQL alike; Django's
    bulk_update builds a CASE WHEN per row and field, which costs Python more than the database spends on it."""
    if not rows:
        return
    table = quoted(model._meta.db_table)
    prep = [model._meta.get_field(name) for name in fields]
    columns = [model._meta.pk.column, *(field.column for field in prep)]
    select = ", ".join(f"column{i + 1} AS {quoted(column)}" for i, column in enumerate(columns))
    assign = ", ".join(f"{quoted(field.column)} = v.{quoted(field.column)}" for field in prep)
    placeholder = f"({', '.join(['%s'] * len(columns))})"
    pk = quoted(model._meta.pk.column)
    with connection.cursor() as cursor:
        for chunk in chunks(rows, 500):
            params = []
            for pk_value, *values in chunk:
                params.append(pk_value)
                params += [field.get_db_prep_save(value, connection) for field, value in zip(prep, values, strict=True)]
            cursor.execute(f"UPDATE {table} SET {assign} FROM (SELECT {select} FROM (VALUES "
                           f"{', '.join([placeholder] * len(chunk))}) AS vals) AS v WHERE {table}.{pk} = v.{pk}",
                           params)
