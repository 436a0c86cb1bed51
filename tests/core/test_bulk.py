"""Multi-row writes that bypass model instances still write what the ORM would."""

import pytest

from tidings.channels.models import ChannelAccount, RateSlot
from tidings.channels.services import account_create
from tidings.core.bulk import rows_update


@pytest.mark.django_db
def test_each_row_gets_its_own_value_and_the_others_are_left_alone():
    a, b, c = (RateSlot.objects.create(key=key, next_at=1.0) for key in "abc")
    rows_update(RateSlot, ["next_at"], [(a.pk, 2.5), (c.pk, 7.25)])
    assert dict(RateSlot.objects.values_list("key", "next_at")) == {"a": 2.5, "b": 1.0, "c": 7.25}
    rows_update(RateSlot, ["next_at"], [])  # nothing to do is not an error


@pytest.mark.django_db
def test_values_are_prepared_as_the_field_stores_them(workspace):
    account = account_create(workspace=workspace, actor=None, channel="whatsapp", name="Shop")
    rows_update(ChannelAccount, ["settings", "name"], [(account.pk, {"rate_limit": 1000, "名稱": "店"}, "茶")])
    account.refresh_from_db()
    assert account.settings == {"rate_limit": 1000, "名稱": "店"} and account.name == "茶"


@pytest.mark.django_db
def test_more_rows_than_one_statement_takes():
    slots = RateSlot.objects.bulk_create(RateSlot(key=f"k{i}", next_at=0.0) for i in range(1203))
    rows_update(RateSlot, ["next_at"], [(slot.pk, float(i)) for i, slot in enumerate(slots)])
    assert list(RateSlot.objects.order_by("pk").values_list("next_at", flat=True)) == [float(i) for i in range(1203)]
