"""Contact search by any part of a name, phone or email stays fast at a million contacts on PostgreSQL: trigram GIN
indexes serve `icontains`. SQLite has no such index type; it scans, which is fine at laptop scale."""

from django.db import migrations

FIELDS = ("name", "phone", "email")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for field in FIELDS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS contact_{field}_trgm ON contacts_contact "
            f"USING gin (upper({field}) gin_trgm_ops)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in FIELDS:
        schema_editor.execute(f"DROP INDEX IF EXISTS contact_{field}_trgm")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_cdp_core")]
    operations = [migrations.RunPython(forwards, backwards)]
