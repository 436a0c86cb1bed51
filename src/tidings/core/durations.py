"""Human durations such as "2h30m", "1d", "90s", "15m" used by the CLI, API and console clock controls."""

import datetime
import re

from django.utils.translation import gettext as _

from .errors import ServiceError

_PART = re.compile(r"(\d+)\s*(d|h|m|s)")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> datetime.timedelta:
    cleaned = (text or "").strip().lower().replace(" ", "")
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ServiceError(_("Use a duration such as 2h30m, 1d, 15m or 90s."), field="advance")
    delta = datetime.timedelta(**{_UNITS[u]: 0 for u in _UNITS})
    for number, unit in parts:
        delta += datetime.timedelta(**{_UNITS[unit]: int(number)})
    if delta <= datetime.timedelta(0):
        raise ServiceError(_("The duration must be longer than zero."), field="advance")
    return delta


def format_duration(delta: datetime.timedelta) -> str:
    seconds = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out) or "0s"
