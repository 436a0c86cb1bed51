"""Half of each contacts page is left free on PostgreSQL, so moving a contact's interaction times forward is a HOT
update: the new row version goes on the same page and no index is touched.

A broadcast moves `last_marketing_at` forward for every recipient, and an inbound or outbound chat message the
customer's or the team's time. Unindexed columns, but with full pages PostgreSQL wrote a new entry in each of the
contact's ten indexes, three of them trigram GIN indexes for search: touching 16,000 contacts took 0.9-1.1 s, and
0.09 s with this fill factor, again and again (page pruning frees the old versions). Half, because a broadcast
touches every contact on a page at once. The table's pages take up to twice the space; existing pages get the room
as they are vacuumed (`VACUUM FULL contacts_contact` gives it at once). SQLite updates rows in place.
"""

from django.db import migrations

FILLFACTOR = 50


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE contacts_contact SET (fillfactor = {FILLFACTOR})")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE contacts_contact RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0006_file_expiry")]
    operations = [migrations.RunPython(forwards, backwards)]
