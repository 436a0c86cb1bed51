"""The inbox list stays fast at 100,000 conversations (bench/inbox_list): an index for the list across every state
(the API's default and a CS Agent's list, newest first), and on PostgreSQL a trigram index on the chat display name,
which the list's search reads beside the customer's name, phone and email (contacts 0004 indexes those)."""

from django.db import migrations, models


def display_name_trigram(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute("CREATE INDEX IF NOT EXISTS identity_display_name_trgm ON contacts_channelidentity "
                          "USING gin (upper(display_name) gin_trgm_ops)")


def drop_display_name_trigram(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS identity_display_name_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_search_trigram"),
        ("inbox", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["workspace", "-last_message_at", "-id"], name="conv_recent"),
        ),
        migrations.RunPython(display_name_trigram, drop_display_name_trigram),
    ]
