"""Renaming and deleting a workspace's tags (the contacts' Tags tab). Adding tags to and removing them from contacts
is in services.py.

Other apps keep tag names of their own (an inbox keyword rule adds tags by name): they register a
`tag_change_listener`, called in the same transaction, so a rename or a delete reaches them too.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Workspace
from tidings.core.services import audit_record

from .attributes import _user
from .models import ContactTag, Tag

# Called as listener(workspace=, old=, new=) after a rename (new: the new name) or a delete (new: None).
_listeners: list[Callable] = []


def tag_change_listener(listener: Callable) -> Callable:
    _listeners.append(listener)
    return listener


def _tag(workspace: Workspace, tag_id) -> Tag:
    tag = Tag.objects.for_workspace(workspace).select_for_update().filter(pk=tag_id).first() \
        if str(tag_id).isdigit() else None
    if tag is None:
        raise NotFound(_("This tag no longer exists."))
    return tag


@transaction.atomic
def tag_rename(*, workspace: Workspace, tag_id, name: str, by=None) -> Tag:
    """Give a tag a new name; every contact that has it keeps it. A name another tag has is refused: merging two
    tags is adding one to the other's contacts and deleting it, which the list can do."""
    from .services import tag_names_clean  # services re-exports this module: import at call time

    tag = _tag(workspace, tag_id)
    names = tag_names_clean([name], field="name")
    if not names:
        raise ServiceError(_("Give the tag a name."), field="name")
    new = names[0]
    if new == tag.name:
        return tag
    if Tag.objects.for_workspace(workspace).filter(name=new).exclude(pk=tag.pk).exists():
        raise ServiceError(_("There is already a tag named %(name)s.") % {"name": new}, field="name")
    old = tag.name
    tag.name = new
    tag.save(update_fields=["name"])
    audit_record(workspace=workspace, actor=_user(by), action="tag.rename", target=tag, changes={"name": [old, new]})
    for listener in _listeners:
        listener(workspace=workspace, old=old, new=new)
    return tag


@transaction.atomic
def tag_delete(*, workspace: Workspace, tag_id, by=None) -> int:
    """Delete a tag and take it off every contact; returns how many contacts had it."""
    tag = _tag(workspace, tag_id)
    removed = ContactTag.objects.filter(tag=tag).delete()[0]
    audit_record(workspace=workspace, actor=_user(by), action="tag.delete", target=tag,
                 changes={"name": tag.name, "contacts": removed})
    name = tag.name
    tag.delete()
    for listener in _listeners:
        listener(workspace=workspace, old=name, new=None)
    return removed
