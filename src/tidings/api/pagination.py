"""Lists take ``?limit=&offset=`` and answer ``{"items": [...], "count": n}`` (count = all matching rows)."""

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page (1-{MAX_LIMIT}).")
    offset: int = Field(0, ge=0, description="Items to skip.")


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A response schema ``{"items": [item_schema], "count": int}`` named ``<Item>Page``."""
    name = item_schema.__name__.removesuffix("Out") + "Page"
    return create_model(name, __base__=Schema, items=(list[item_schema], ...), count=(int, ...))


def paginate(queryset: QuerySet, params: PageParams) -> dict:
    return {
        "items": list(queryset[params.offset : params.offset + params.limit]),
        "count": queryset.count(),
    }
