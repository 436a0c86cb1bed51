"""Multi-row writes that bypass model instances still write what the ORM would."""

import pytest

from tidings.channels.models import ChannelAccount, RateSlot
from tidings.channels.services import account_create
from tidings.core.bulk import rows_update_by_pk


@pytest.mark.django_db
def test_each_row_gets_its_own_value_and_the_others_are_left_alone():
    a, b, c = (RateSlot.objects.create(key=key, next_at=1.0) for key in "abc")
    rows_update_by_pk(RateSlot, "next_at", {a.pk: 2.5, c.pk: 7.25})
    assert dict(RateSlot.objects.values_list("key", "next_at")) == {"a": 2.5, "b": 1.0, "c": 7.25}
    rows_update_by_pk(RateSlot, "next_at", {})  # nothing to do is not an error


@pytest.mark.django_db
def test_values_are_prepared_as_the_field_stores_them(workspace):
    account = account_create(workspace=workspace, actor=None, channel="whatsapp", name="Shop")
    rows_update_by_pk(ChannelAccount, "settings", {account.pk: {"rate_limit": 1000, "名稱": "店"}})
    account.refresh_from_db()
    assert account.settings == {"rate_limit": 1000, "名稱": "店"}
