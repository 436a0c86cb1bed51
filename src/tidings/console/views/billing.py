"""Stub: filled in by the notification / billing work."""

URLS = []
