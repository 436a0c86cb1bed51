import datetime

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tidings.core.permissions import Permission
from tidings.core.selectors import stores_list
from tidings.core.services import store_create, store_update

from ..auth import actor
from ..errors import COMMON_ERRORS
from ..lookups import get_store as lookup_store
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["stores"])


class StoreOut(Schema):
    id: int
    name: str
    code: str
    created_at: datetime.datetime


StorePage = page_of(StoreOut)


class StoreCreate(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., max_length=120)
    code: str = Field(..., max_length=40)


class StorePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(None, max_length=120)
    code: str = Field(None, max_length=40)


@router.get("/stores", response={200: StorePage, **COMMON_ERRORS}, summary="List stores")
@requires(Permission.MEMBERS_VIEW)
def list_stores(request, page: Query[PageParams]):
    return paginate(stores_list(request.auth.workspace), page)


@router.get("/stores/{store_id}", response={200: StoreOut, **COMMON_ERRORS}, summary="One store")
@requires(Permission.MEMBERS_VIEW)
def get_store(request, store_id: int):
    return lookup_store(request.auth.workspace, store_id)


@router.post("/stores", response={201: StoreOut, **COMMON_ERRORS}, summary="Add a store")
@requires(Permission.STORES_MANAGE)
def create_store(request, payload: StoreCreate):
    store = store_create(workspace=request.auth.workspace, actor=actor(request), name=payload.name, code=payload.code)
    return Status(201, store)


@router.patch("/stores/{store_id}", response={200: StoreOut, **COMMON_ERRORS}, summary="Rename or recode a store")
@requires(Permission.STORES_MANAGE)
def patch_store(request, store_id: int, payload: StorePatch):
    workspace = request.auth.workspace
    store = lookup_store(workspace, store_id)
    sent = payload.model_fields_set
    return store_update(
        workspace=workspace, actor=actor(request), store=store,
        name=payload.name if "name" in sent else store.name,
        code=payload.code if "code" in sent else store.code,
    )
