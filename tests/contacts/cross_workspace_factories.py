"""Objects for the cross-workspace isolation test: contacts, custom attributes and merges in a given workspace."""

import itertools

from tests.support.cross_workspace import register_object_factory, register_request_body, register_valid_body

_seq = itertools.count(1)


def make_contact(workspace):
    from tidings.contacts.services import contact_create

    return contact_create(workspace=workspace, name=f"XWS contact {next(_seq)}", tags=["xws"])


def make_custom_attribute(workspace):
    from tidings.contacts.services import custom_attribute_create

    n = next(_seq)
    return custom_attribute_create(workspace=workspace, key=f"xws-{n}", name=f"XWS {n}", type="text")


def make_merge(workspace):
    from tidings.contacts.services import contacts_merge

    return contacts_merge(workspace=workspace, kept=make_contact(workspace), merged=make_contact(workspace),
                          reason="manual")


def make_tag(workspace):
    from tidings.contacts.models import Tag

    make_contact(workspace)  # tagged "xws"
    return Tag.objects.get(workspace=workspace, name="xws")


register_object_factory("contact_id", make_contact)
register_object_factory("tag_id", make_tag)
register_object_factory("custom_attribute_id", make_custom_attribute)
register_object_factory("merge_id", make_merge)
register_request_body("POST", "/api/v1/contacts/{contact_id}/tags", {"tags": ["vip"]})
register_request_body("PATCH", "/api/v1/contacts/{contact_id}", {"name": "Changed"})
register_request_body("PATCH", "/api/v1/custom-attributes/{custom_attribute_id}", {"name": "Changed"})
register_request_body("POST", "/api/v1/contacts/{contact_id}/merge", {"merged_id": 0})


def merge_body(workspace) -> dict:
    """A valid POST /api/v1/contacts/{contact_id}/merge body in `workspace` (for the permission matrix)."""
    return {"merged_id": make_contact(workspace).pk}


register_valid_body("POST", "/api/v1/contacts/{contact_id}/merge", merge_body)
