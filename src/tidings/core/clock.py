"""Workspace time. Real time, except in a sandbox workspace, whose test clock runs ahead by `clock_offset`."""

import datetime

from django.utils import timezone


def now(workspace=None) -> datetime.datetime:
    real = timezone.now()
    if workspace is not None and workspace.is_sandbox:
        return real + workspace.clock_offset
    return real
