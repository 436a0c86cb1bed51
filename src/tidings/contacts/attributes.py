"""Typed custom attributes (SPEC D1): definitions per workspace and validation of contacts' values.

Values are stored in `Contact.attributes` in their JSON form: text → string, number → int or float, date → ISO
"YYYY-MM-DD", boolean → true/false, choice → one of the definition's choices (a string).

Choices made here (see docs/modules/contacts.md):
- a definition's key never changes (values are stored under it); its type changes only while no contact has a
  value for it; a choice still held by a contact cannot be removed from the choice list;
- deleting a definition removes every contact's value for it.
"""

import datetime
import math
import re
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError
from tidings.core.models import Workspace
from tidings.core.services import audit_record

from .models import AttributeType, Contact, CustomAttribute

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
TEXT_MAX = 1000
CHOICES_MAX = 100
TRUE_WORDS = {"true", "yes", "y", "1", "on", "是", "对", "對"}
FALSE_WORDS = {"false", "no", "n", "0", "off", "否"}


def _user(by):
    """`by` is a Membership (or a User, or None for the system); the audit log records the user."""
    return getattr(by, "user", by)


# --- values --------------------------------------------------------------------------------------------------


def _number(value, field: str):
    bad = ServiceError(_("Enter a number."), field=field)
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise bad
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, (str, Decimal)):
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise bad from None
        if not number.is_finite():
            raise bad
        if number == number.to_integral_value() and abs(number) < 2**53:
            return int(number)
        return float(number)
    raise bad


def _date(value, field: str) -> str:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip().replace("/", "-")
        try:
            return datetime.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            pass
    raise ServiceError(_("Enter a date as YYYY-MM-DD."), field=field)


def _boolean(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ServiceError(_("Enter true or false."), field=field)


def _choice(value, field: str, choices: list[str]) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value).strip()
        if text in choices:
            return text
    raise ServiceError(_("Choose one of: %s") % ", ".join(choices), field=field)


def attribute_value(definition: CustomAttribute, value, *, field: str | None = None):
    """One value in its stored JSON form; None for None or an empty string (= clear the attribute)."""
    field = field or f"attributes.{definition.key}"
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = definition.type
    if kind == AttributeType.TEXT:
        if not isinstance(value, (str, int, float, Decimal)) or isinstance(value, bool):
            raise ServiceError(_("Enter text."), field=field)
        text = str(value).strip()
        if len(text) > TEXT_MAX:
            raise ServiceError(_("At most %(n)d characters.") % {"n": TEXT_MAX}, field=field)
        return text
    if kind == AttributeType.NUMBER:
        return _number(value, field)
    if kind == AttributeType.DATE:
        return _date(value, field)
    if kind == AttributeType.BOOLEAN:
        return _boolean(value, field)
    return _choice(value, field, list(definition.choices or []))


def attributes_validate(*, workspace: Workspace, values: dict) -> dict:
    """{key: JSON-ready value or None (clear)}. Strings are accepted for every type (imports), native JSON types
    too (API). An unknown key or a wrong type is a ServiceError on field "attributes.<key>"."""
    if not values:
        return {}
    if not isinstance(values, dict):
        raise ServiceError(_("Attributes must be an object of key: value."), field="attributes")
    definitions = {d.key: d for d in CustomAttribute.objects.for_workspace(workspace).filter(key__in=list(values))}
    out = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            raise ServiceError(_("No custom attribute has the key “%(key)s”.") % {"key": key},
                               field=f"attributes.{key}", code="unknown_attribute")
        out[key] = attribute_value(definition, value)
    return out


# --- definitions ---------------------------------------------------------------------------------------------


def _clean_name(name) -> str:
    name = ("" if name is None else str(name)).strip()
    if not name:
        raise ServiceError(_("A custom attribute needs a name."), field="name")
    if len(name) > 100:
        raise ServiceError(_("At most %(n)d characters.") % {"n": 100}, field="name")
    return name


def _clean_type(kind) -> str:
    if kind not in AttributeType.values:
        raise ServiceError(_("Type must be one of: %s") % ", ".join(AttributeType.values), field="type")
    return kind


def _clean_choices(kind: str, choices) -> list[str]:
    if kind != AttributeType.CHOICE:
        return []
    out = []
    for raw in choices or []:
        if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
            raise ServiceError(_("Choices are text."), field="choices")
        text = str(raw).strip()
        if len(text) > 100:
            raise ServiceError(_("A choice may be at most %(n)d characters.") % {"n": 100}, field="choices")
        if text and text not in out:
            out.append(text)
    if not out:
        raise ServiceError(_("A choice attribute needs at least one choice."), field="choices")
    if len(out) > CHOICES_MAX:
        raise ServiceError(_("At most %(n)d choices.") % {"n": CHOICES_MAX}, field="choices")
    return out


def _holders(attribute: CustomAttribute):
    return Contact.objects.for_workspace(attribute.workspace_id).filter(attributes__has_key=attribute.key)


@transaction.atomic
def custom_attribute_create(*, workspace: Workspace, key: str, name: str, type: str, choices=None,  # noqa: A002
                            by=None) -> CustomAttribute:
    key = (key or "").strip()
    if not KEY_RE.match(key):
        raise ServiceError(_("Use lowercase letters, digits, “_” and “-” (at most 50), e.g. birthday."), field="key")
    name, kind = _clean_name(name), _clean_type(type)
    choices = _clean_choices(kind, choices)
    if CustomAttribute.objects.for_workspace(workspace).filter(key=key).exists():
        raise ServiceError(_("Another custom attribute has this key."), field="key")
    attribute = CustomAttribute.objects.create(workspace=workspace, key=key, name=name, type=kind, choices=choices)
    audit_record(workspace=workspace, actor=_user(by), action="custom_attribute.create", target=attribute,
                 changes={"key": key, "type": kind, "choices": choices})
    return attribute


@transaction.atomic
def custom_attribute_update(*, workspace: Workspace, attribute: CustomAttribute, by=None,
                            **changes) -> CustomAttribute:
    """Change name, type or choices. The key is fixed; the type changes only while no contact has a value; a
    choice in use cannot be dropped."""
    if attribute.workspace_id != workspace.pk:
        from tidings.core.errors import NotFound

        raise NotFound()
    unknown = set(changes) - {"name", "type", "choices", "key"}
    if unknown:
        raise ServiceError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)),
                           field=sorted(unknown)[0])
    if "key" in changes and changes["key"] != attribute.key:
        raise ServiceError(_("The key cannot change: contacts' values are stored under it."), field="key")
    values = {}
    if "name" in changes:
        values["name"] = _clean_name(changes["name"])
    kind = _clean_type(changes["type"]) if "type" in changes else attribute.type
    if kind != attribute.type:
        if _holders(attribute).exists():
            raise ServiceError(_("Contacts already have values for this attribute, so its type cannot change. "
                                 "Create a new attribute instead."), field="type")
        values["type"] = kind
    if "choices" in changes or kind != attribute.type:
        choices = _clean_choices(kind, changes.get("choices", attribute.choices))
        dropped = [c for c in (attribute.choices or []) if c not in choices] if kind == AttributeType.CHOICE else []
        for choice in dropped:
            if _holders(attribute).filter(**{f"attributes__{attribute.key}": choice}).exists():
                raise ServiceError(_("Contacts still have the choice “%(choice)s”.") % {"choice": choice},
                                   field="choices")
        values["choices"] = choices
    diff = {}
    for field, value in values.items():
        if getattr(attribute, field) != value:
            diff[field] = [getattr(attribute, field), value]
            setattr(attribute, field, value)
    if diff:
        attribute.save()
        audit_record(workspace=workspace, actor=_user(by), action="custom_attribute.update", target=attribute,
                     changes=diff)
    return attribute


@transaction.atomic
def custom_attribute_delete(*, workspace: Workspace, attribute: CustomAttribute, by=None) -> int:
    """Delete the attribute and every contact's value for it; returns how many contacts lost a value."""
    if attribute.workspace_id != workspace.pk:
        from tidings.core.errors import NotFound

        raise NotFound()
    key = attribute.key
    holders = Contact.objects.for_workspace(workspace).filter(attributes__has_key=key)
    count = holders.count()
    # One statement, not a million saves: jsonb's "-" on PostgreSQL, json_remove on SQLite (the key is a slug).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("UPDATE contacts_contact SET attributes = attributes - %s "
                           "WHERE workspace_id = %s AND attributes ? %s", [key, workspace.pk, key])
        else:
            path = f'$."{key}"'
            cursor.execute("UPDATE contacts_contact SET attributes = json_remove(attributes, %s) "
                           "WHERE workspace_id = %s AND json_type(attributes, %s) IS NOT NULL",
                           [path, workspace.pk, path])
    audit_record(workspace=workspace, actor=_user(by), action="custom_attribute.delete", target=attribute,
                 changes={"key": key, "values_removed": count})
    attribute.delete()
    return count
