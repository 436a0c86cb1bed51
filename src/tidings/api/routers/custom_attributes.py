"""Custom attribute definitions (SPEC D1): typed fields every contact may have a value for.

Reading needs `contacts.view`; defining, editing and deleting need `attributes.edit` (Admin, Supervisor and
Marketer - seed 002). The key is fixed once created; the type changes only while no contact has a value; deleting a
definition deletes every contact's value for it.
"""

import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.contacts.selectors import custom_attribute_get, custom_attributes_list
from tidings.contacts.services import custom_attribute_create, custom_attribute_delete, custom_attribute_update
from tidings.core.permissions import Permission

from ..errors import COMMON_ERRORS, ObjectNotFound
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["custom attributes"])

AttributeKind = Literal["text", "number", "date", "boolean", "choice"]


class CustomAttributeOut(Schema):
    id: int
    key: str
    name: str
    type: AttributeKind
    choices: list[str] = Field(..., description="The allowed values of a choice attribute (empty otherwise)")
    created_at: datetime.datetime
    updated_at: datetime.datetime


CustomAttributePage = page_of(CustomAttributeOut)


class CustomAttributeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(..., max_length=50, description="Lowercase letters, digits, _ and -: the name in `attributes`")
    name: str = Field(..., max_length=100)
    type: AttributeKind
    choices: list[str] | None = Field(None, description="Required for type choice")


class CustomAttributePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, max_length=100)
    type: AttributeKind = None
    choices: list[str] | None = None


def _attribute(workspace, custom_attribute_id: int):
    attribute = custom_attribute_get(workspace, custom_attribute_id)
    if attribute is None:
        raise ObjectNotFound()
    return attribute


@router.get("/custom-attributes", response={200: CustomAttributePage, **COMMON_ERRORS},
            summary="List custom attributes")
@requires(Permission.CONTACTS_VIEW)
def list_custom_attributes(request, page: Query[PageParams]):
    return paginate(custom_attributes_list(request.auth.workspace), page)


@router.post("/custom-attributes", response={201: CustomAttributeOut, **COMMON_ERRORS},
             summary="Define a custom attribute")
@requires(Permission.ATTRIBUTES_EDIT)
def create_custom_attribute(request, payload: CustomAttributeIn):
    attribute = custom_attribute_create(workspace=request.auth.workspace, key=payload.key, name=payload.name,
                                        type=payload.type, choices=payload.choices, by=request.auth.membership)
    return Status(201, attribute)


@router.get("/custom-attributes/{custom_attribute_id}", response={200: CustomAttributeOut, **COMMON_ERRORS},
            summary="One custom attribute")
@requires(Permission.CONTACTS_VIEW)
def get_custom_attribute(request, custom_attribute_id: int):
    return _attribute(request.auth.workspace, custom_attribute_id)


@router.patch("/custom-attributes/{custom_attribute_id}", response={200: CustomAttributeOut, **COMMON_ERRORS},
              summary="Rename a custom attribute, change its choices, or its type while no contact has a value")
@requires(Permission.ATTRIBUTES_EDIT)
def patch_custom_attribute(request, custom_attribute_id: int, payload: CustomAttributePatch):
    workspace = request.auth.workspace
    return custom_attribute_update(workspace=workspace, attribute=_attribute(workspace, custom_attribute_id),
                                   by=request.auth.membership, **payload.model_dump(exclude_unset=True))


@router.delete("/custom-attributes/{custom_attribute_id}", response={204: None, **COMMON_ERRORS},
               summary="Delete a custom attribute and every contact's value for it")
@requires(Permission.ATTRIBUTES_EDIT)
def delete_custom_attribute(request, custom_attribute_id: int):
    workspace = request.auth.workspace
    custom_attribute_delete(workspace=workspace, attribute=_attribute(workspace, custom_attribute_id),
                            by=request.auth.membership)
    return Status(204, None)
