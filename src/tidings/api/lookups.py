"""Reads the routers need: always within the token's workspace, so another workspace's id is simply not found."""

from contextlib import contextmanager

from tidings.core.errors import ServiceError
from tidings.core.models import ApiToken, Membership, Store

from .errors import ObjectNotFound


def get_member(workspace, member_id: int) -> Membership:
    member = Membership.objects.for_workspace(workspace).select_related("user", "store").filter(pk=member_id).first()
    if member is None:
        raise ObjectNotFound()
    return member


def get_store(workspace, store_id: int) -> Store:
    store = Store.objects.for_workspace(workspace).filter(pk=store_id).first()
    if store is None:
        raise ObjectNotFound()
    return store


def get_token(workspace, token_id: int) -> ApiToken:
    token = ApiToken.objects.for_workspace(workspace).filter(pk=token_id).first()
    if token is None:
        raise ObjectNotFound()
    return token


def store_from_body(workspace, store_id: int | None, *, field: str = "store_id") -> Store | None:
    """A store named in a request body: unknown (or another workspace's) is a 422 on that field, not a 404."""
    if store_id is None:
        return None
    store = Store.objects.for_workspace(workspace).filter(pk=store_id).first()
    if store is None:
        from django.utils.translation import gettext as _

        raise ServiceError(_("Unknown store."), field=field)
    return store


@contextmanager
def fields_renamed(**names):
    """Re-label a ServiceError's field with the name the API uses: `fields_renamed(store="store_id")`."""
    try:
        yield
    except ServiceError as exc:
        if exc.field in names:
            exc.field = names[exc.field]
        raise
