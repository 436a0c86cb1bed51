"""Stub: filled in by the Social CDP work."""

URLS = []
