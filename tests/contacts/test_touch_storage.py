"""A broadcast moves every recipient's last-marketing time forward. On PostgreSQL that must stay a HOT update (a new
row version on the same page, no index entries), or each touch writes ten index entries per contact, three of them
trigram GIN (migration contacts 0007)."""

import pytest
from django.db import connection
from django.utils import timezone

from tidings.contacts.models import Contact
from tidings.contacts.services import contacts_touch

pytestmark = pytest.mark.django_db


def _hot_updates_in_this_transaction() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('contacts_contact'::regclass)")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("fillfactor", ["migrated", "postgres_default"])
def test_touching_many_contacts_leaves_their_indexes_alone_on_postgresql(workspace, fillfactor):
    if connection.vendor != "postgresql":
        pytest.skip("fill factor and HOT updates are PostgreSQL's; SQLite updates rows in place")
    if fillfactor == "postgres_default":  # the control: shows the check below can tell the difference
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE contacts_contact RESET (fillfactor)")  # rolled back with the test
    contacts = Contact.objects.bulk_create(
        Contact(workspace=workspace, name=f"Customer {i:04d}", phone=f"+8869{i:08d}", email=f"c{i}@example.test")
        for i in range(600))
    before = _hot_updates_in_this_transaction()
    contacts_touch(contact_ids=[c.pk for c in contacts], kind="marketing", at=timezone.now())
    hot = _hot_updates_in_this_transaction() - before
    assert Contact.objects.filter(workspace=workspace, last_marketing_at__isnull=False).count() == 600
    print(f"\n{fillfactor}: {hot} of 600 touches were HOT updates")
    if fillfactor == "migrated":
        assert hot >= 570  # a few land on a page that rows from before the test had filled
    else:
        assert hot < 300
