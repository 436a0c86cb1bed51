"""Stub: filled in by the notification / billing work."""

from ninja import Router

router = Router(tags=["billing"])
