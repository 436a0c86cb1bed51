"""Small display helpers for console templates."""

from django import template

from tidings.core.modules import Module
from tidings.core.roles import Role

register = template.Library()


def _label(choices, value):
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@register.filter
def change_value(value, field):
    """An audit entry's old/new value as people read it: role and module names translated, None as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if field == "role":
        return _label(Role, value)
    if field == "enabled_modules" and isinstance(value, list):
        return ", ".join(_label(Module, v) for v in value)
    if isinstance(value, bool):
        return "✔" if value else "✘"
    return value


@register.filter
def audit_changes(changes):
    """[(field, old, new)] from an audit entry's changes; a value not shaped [old, new] is shown as the new one."""
    rows = []
    for field, change in (changes or {}).items():
        if isinstance(change, (list, tuple)) and len(change) == 2:
            old, new = change
        else:
            old, new = None, change
        rows.append((field, change_value(old, field), change_value(new, field)))
    return rows
