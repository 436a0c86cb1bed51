import datetime

from django.db import transaction
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.core.permissions import Permission
from tidings.core.roles import Role
from tidings.core.selectors import members_list
from tidings.core.services import member_add, member_change_role, member_set_active

from ..auth import actor
from ..errors import COMMON_ERRORS
from ..lookups import fields_renamed, store_from_body
from ..lookups import get_member as lookup_member
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["members"])


class StoreRef(Schema):
    id: int
    name: str
    code: str


class MemberOut(Schema):
    id: int
    email: str
    name: str
    role: Role
    store: StoreRef | None
    employee_code: str
    is_active: bool
    created_at: datetime.datetime


MemberPage = page_of(MemberOut)


class MemberFilters(PageParams):
    q: str = Field("", max_length=100, description="Search email, name or employee code")
    role: Role | None = None
    status: str = Field("", pattern="^(|active|inactive)$", description="active or inactive")


class MemberCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(..., max_length=254)
    name: str = Field("", max_length=150)
    role: Role
    store_id: int | None = Field(None, description="Required for sales roles")
    employee_code: str = Field("", max_length=40, description="Required for sales roles")
    password: str | None = Field(None, max_length=128, description="Optional; without it the person cannot log in "
                                                                  "to the console until a password is set")


class MemberPatch(Schema):
    """Send only what changes. `role`, `store_id` and `employee_code` change the seat; `is_active` (de)activates."""

    model_config = ConfigDict(extra="forbid")

    role: Role = None
    store_id: int | None = None
    employee_code: str = Field(None, max_length=40)
    is_active: bool = None


def member_out(m) -> dict:
    return {
        "id": m.pk,
        "email": m.user.email,
        "name": m.user.name,
        "role": m.role,
        "store": {"id": m.store.pk, "name": m.store.name, "code": m.store.code} if m.store else None,
        "employee_code": m.employee_code,
        "is_active": m.is_active,
        "created_at": m.created_at,
    }


@router.get("/members", response={200: MemberPage, **COMMON_ERRORS}, summary="List members")
@requires(Permission.MEMBERS_VIEW)
def list_members(request, filters: Query[MemberFilters]):
    members = members_list(request.auth.workspace, query=filters.q, role=filters.role or "", status=filters.status)
    page = paginate(members, filters)
    page["items"] = [member_out(m) for m in page["items"]]
    return page


@router.get("/members/{member_id}", response={200: MemberOut, **COMMON_ERRORS}, summary="One member")
@requires(Permission.MEMBERS_VIEW)
def get_member(request, member_id: int):
    return member_out(lookup_member(request.auth.workspace, member_id))


@router.post("/members", response={201: MemberOut, **COMMON_ERRORS}, summary="Add a member")
@requires(Permission.MEMBERS_MANAGE)
def create_member(request, payload: MemberCreate):
    workspace = request.auth.workspace
    store = store_from_body(workspace, payload.store_id)
    with fields_renamed(store="store_id"):
        membership = member_add(
            workspace=workspace, actor=actor(request), email=payload.email, name=payload.name, role=payload.role,
            password=payload.password, store=store, employee_code=payload.employee_code,
        )
    return Status(201, member_out(lookup_member(workspace, membership.pk)))


@router.patch("/members/{member_id}", response={200: MemberOut, **COMMON_ERRORS}, summary="Change role or status")
@requires(Permission.MEMBERS_MANAGE)
def patch_member(request, member_id: int, payload: MemberPatch):
    workspace = request.auth.workspace
    member = lookup_member(workspace, member_id)
    sent = payload.model_fields_set
    with transaction.atomic(), fields_renamed(store="store_id"):
        if sent & {"role", "store_id", "employee_code"}:
            store = store_from_body(workspace, payload.store_id) if "store_id" in sent else member.store
            member_change_role(
                workspace=workspace, actor=actor(request), membership=member,
                role=payload.role if "role" in sent else member.role,
                store=store,
                employee_code=payload.employee_code if "employee_code" in sent else member.employee_code,
            )
        if "is_active" in sent:
            member_set_active(workspace=workspace, actor=actor(request), membership=member, active=payload.is_active)
    return member_out(lookup_member(workspace, member.pk))
