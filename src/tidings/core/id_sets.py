"""Filtering by thousands of ids without a parameter per id."""

from django.db.models import Q


def ids_q(field: str, ids) -> Q:
    """`field IN ids` as ranges of consecutive ids plus the stragglers.

    A broadcast's rows are inserted in one statement, so their ids come in long runs: 16,000 ids are a few ranges
    here, where `field__in` makes Django prepare (and the database parse) 16,000 parameters.
    """
    runs: list[list[int]] = []  # [first, last] of consecutive ids
    for value in sorted(set(ids)):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    single = [value for first, last in runs if last - first < 2 for value in range(first, last + 1)]
    q = Q(**{f"{field}__in": single})
    for first, last in runs:
        if last - first >= 2:
            q |= Q(**{f"{field}__range": (first, last)})
    return q
