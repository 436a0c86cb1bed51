import datetime

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from tidings.core.modules import Module
from tidings.core.permissions import Permission
from tidings.core.services import workspace_modules_set, workspace_update

from ..auth import actor
from ..errors import COMMON_ERRORS
from ..lookups import fields_renamed
from ..permissions import requires

router = Router(tags=["workspace"])


class WorkspaceOut(Schema):
    slug: str
    name: str
    time_zone: str
    currency: str
    default_phone_region: str
    billing_email: str
    is_sandbox: bool
    enabled_modules: list[str]
    avatar_url: str | None
    created_at: datetime.datetime


class WorkspacePatch(Schema):
    """Send only the settings to change; omitted ones stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, min_length=1, max_length=120)
    time_zone: str = Field(None, max_length=64, description="IANA time zone, e.g. Asia/Taipei")
    currency: str = Field(None, max_length=3, description="ISO 4217 code, e.g. TWD")
    default_phone_region: str = Field(None, max_length=2, description="ISO 3166 region, e.g. HK")
    billing_email: str = Field(None, max_length=254, description="Empty string clears it")


class ModulesIn(Schema):
    model_config = ConfigDict(extra="forbid")

    modules: list[Module] = Field(..., description="The complete list of enabled add-on modules")


def workspace_out(workspace) -> dict:
    return {
        "slug": workspace.slug,
        "name": workspace.name,
        "time_zone": workspace.time_zone,
        "currency": workspace.currency,
        "default_phone_region": workspace.default_phone_region,
        "billing_email": workspace.billing_email,
        "is_sandbox": workspace.is_sandbox,
        "enabled_modules": list(workspace.enabled_modules),
        "avatar_url": workspace.avatar.url if workspace.avatar else None,
        "created_at": workspace.created_at,
    }


@router.get("/workspace", response={200: WorkspaceOut, **COMMON_ERRORS}, summary="The token's workspace")
@requires(Permission.OVERVIEW_VIEW)
def get_workspace(request):
    return workspace_out(request.auth.workspace)


@router.patch("/workspace", response={200: WorkspaceOut, **COMMON_ERRORS}, summary="Change workspace settings")
@requires(Permission.WORKSPACE_MANAGE)
def patch_workspace(request, payload: WorkspacePatch):
    workspace = workspace_update(
        workspace=request.auth.workspace, actor=actor(request), **payload.model_dump(exclude_unset=True)
    )
    return workspace_out(workspace)


@router.put("/workspace/modules", response={200: WorkspaceOut, **COMMON_ERRORS}, summary="Set the enabled modules")
@requires(Permission.WORKSPACE_MANAGE)
def put_modules(request, payload: ModulesIn):
    with fields_renamed(enabled_modules="modules"):
        workspace = workspace_modules_set(
            workspace=request.auth.workspace, actor=actor(request), modules=[m.value for m in payload.modules]
        )
    return workspace_out(workspace)
