"""The database cache's table (settings.CACHES), made by migrate: login rate limits and the workers' housekeeping
use the cache, and a database migrated without `createcachetable` left them failing on a missing table."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
