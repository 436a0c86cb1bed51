"""ids_q finds exactly the rows of a set of ids, written as ranges where the ids run consecutively."""

import pytest

from tidings.core.id_sets import ids_q
from tidings.core.models import Workspace

pytestmark = pytest.mark.django_db


def test_ranges_and_stragglers_select_exactly_the_given_rows():
    ids = [Workspace.objects.create(slug=f"w{i}", name=f"W{i}").pk for i in range(12)]
    wanted = ids[0:5] + ids[6:7] + ids[8:10]  # a run, a single, a pair
    assert sorted(Workspace.objects.filter(ids_q("pk", wanted)).values_list("pk", flat=True)) == sorted(wanted)
    assert not Workspace.objects.filter(ids_q("pk", [])).exists()
    q = ids_q("pk", list(range(100, 16_100)))
    assert len(q.children) == 2  # no stragglers and one range, not 16,000 parameters
