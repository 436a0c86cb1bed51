"""Stub: filled in by the Social CDP work."""

from ninja import Router

router = Router(tags=["custom attributes"])
