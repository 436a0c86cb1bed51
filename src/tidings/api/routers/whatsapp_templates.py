"""WhatsApp message templates (SPEC S8): create (= submit for Meta's review), read, edit, delete, submit, sync.

Creating a template submits it to Meta at once when the workspace has a WhatsApp account (status PENDING); without
one, or with `"draft": true`, it is stored as a DRAFT. Rule violations answer 422 naming the rule and the field.
"""

import datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.core.permissions import Permission
from tidings.message_templates.selectors import template_get, templates_list
from tidings.message_templates.services import (
    template_create,
    template_delete,
    template_submit,
    template_update,
    templates_sync,
)

from ..auth import actor
from ..errors import COMMON_ERRORS
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["whatsapp templates"])

Status_ = Literal["DRAFT", "PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED"]


class HeaderOut(Schema):
    format: Literal["TEXT", "IMAGE", "VIDEO", "DOCUMENT"]
    text: str | None = None
    url: str | None = None


class ButtonOut(Schema):
    type: Literal["quick_reply", "url", "phone", "go_to_order"]
    text: str
    url: str | None = None
    phone: str | None = None


class TemplateOut(Schema):
    id: int
    name: str
    language: str
    category: str
    audience: str
    status: Status_ = Field(..., description="DRAFT (not submitted), PENDING (in Meta's review), APPROVED, "
                                             "REJECTED (see rejected_reason), PAUSED, DISABLED")
    rejected_reason: str
    header: HeaderOut | None
    body: str
    footer: str
    buttons: list[ButtonOut]
    examples: dict[str, list[str]]
    provider_template_id: str = Field(..., description="Meta's template id, once submitted")
    waba_id: str
    submitted_at: datetime.datetime | None
    status_changed_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


TemplatePage = page_of(TemplateOut)


class TemplateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="Lowercase letters, digits and underscores, at most 512")
    language: str = Field(..., description="WhatsApp language code: zh_TW, zh_CN, zh_HK, en, en_US…")
    category: str = Field(..., description="MARKETING, UTILITY or AUTHENTICATION")
    audience: str = Field("general", description="general, or system_notification (Chat-to-Order notices only: "
                                                 "never offered for chats, broadcasts or journeys)")
    body: str = Field(..., description="At most 1024 characters; variables {{1}}, {{2}}… in order")
    header: str | dict[str, Any] | None = Field(
        None, description='Text (at most 60, one variable), or {"format": "TEXT"|"IMAGE"|"VIDEO"|"DOCUMENT", '
                          '"text"?, "url"?} (url: a sample of the media)')
    footer: str | None = Field(None, description="At most 60 characters, no variables")
    buttons: list[dict[str, Any]] = Field(
        default_factory=list,
        description='[{"type": "quick_reply"|"url"|"phone"|"go_to_order", "text", "url"?, "phone"?}] - at most 10; '
                    "quick reply ≤ 10 kept in one group, URL ≤ 2, phone ≤ 1, go_to_order ≤ 1 (system notification "
                    "audience only); labels at most 25")
    examples: dict[str, list[str]] | None = Field(
        None, description='Sample values for Meta\'s reviewers: {"body": [...], "header": [...], "url": [...]}')
    draft: bool = Field(False, description="Store without submitting to Meta")

    def data(self) -> dict:
        return self.model_dump(exclude={"draft"})


class SyncOut(Schema):
    updated: int
    added: int


@router.get("/whatsapp-templates", response={200: TemplatePage, **COMMON_ERRORS}, summary="List WhatsApp templates")
@requires(Permission.WHATSAPP_TEMPLATES_MANAGE)
def list_whatsapp_templates(request, page: Query[PageParams], status: Status_ | None = None,
                            audience: Literal["general", "system_notification"] | None = None):
    return paginate(templates_list(request.auth.workspace, status=status, audience=audience), page)


@router.post("/whatsapp-templates", response={201: TemplateOut, **COMMON_ERRORS},
             summary="Create a WhatsApp template and submit it for review")
@requires(Permission.WHATSAPP_TEMPLATES_MANAGE)
def create_whatsapp_template(request, payload: TemplateIn):
    template = template_create(workspace=request.auth.workspace, actor=actor(request), data=payload.data(),
                               submit=not payload.draft)
    return Status(201, template)


@router.post("/whatsapp-templates/sync", response={200: SyncOut, **COMMON_ERRORS},
             summary="Read every template and its status from Meta")
@requires(Permission.WHATSAPP_TEMPLATES_MANAGE)
def sync_whatsapp_templates(request):
    return templates_sync(workspace=request.auth.workspace, actor=actor(request))


@router.get("/whatsapp-templates/{whatsapp_template_id}", response={200: TemplateOut, **COMMON_ERRORS},
            summary="One WhatsApp template")
@requires(Permission.WHATSAPP_TEMPLATES_MANAGE)
def get_whatsapp_template(request, whatsapp_template_id: int):
    return template_get(request.auth.workspace, whatsapp_template_id)


@router.put("/whatsapp-templates/{whatsapp_template_id}", response={200: TemplateOut, **COMMON_ERRORS},
            summary="Edit a WhatsApp template (a submitted one goes back to review)")
@requires(Permission.WHATSAPP_TEMPLATES_MANAGE)
def put_whatsapp_template(request, whatsapp_template_id: int, payload: TemplateIn):
    workspace = request.auth.workspace
    template = template_get(workspace, whatsapp_template_id)
    return template_update(workspace=workspace, actor=actor(request), template=template, data=payload.data(),
                           submit=not payload.draft)


@router.post("/whatsapp-templates/{whatsapp_template_id}/submit", response={200: TemplateOut, **COMMON_ERRORS},
             summary="Submit a draft for Meta's review")
@requires(Permission.WHATSAPP_TEMPLATES_MANAGE)
def submit_whatsapp_template(request, whatsapp_template_id: int):
    workspace = request.auth.workspace
    return template_submit(workspace=workspace, actor=actor(request),
                           template=template_get(workspace, whatsapp_template_id))


@router.delete("/whatsapp-templates/{whatsapp_template_id}", response={204: None, **COMMON_ERRORS},
               summary="Delete a WhatsApp template (here and at Meta)")
@requires(Permission.WHATSAPP_TEMPLATES_MANAGE)
def delete_whatsapp_template(request, whatsapp_template_id: int):
    workspace = request.auth.workspace
    template_delete(workspace=workspace, actor=actor(request), template=template_get(workspace, whatsapp_template_id))
    return Status(204, None)
